"""The 24/7 rota over the API: desks (named by their agency's code), rotations, rules,
overrides, temporary schedules, unavailability and coverage requirements; who is on duty now,
at a time or for a capability; the shifts of a window; the gaps of the next days.

Every desk reads the rota; the coordinator's desk writes it; a desk writes its own
capabilities and unavailability, and another agency's desk answers it 404.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Query, Response, status

from taskforce.core.http import CallerDep, SessionDep
from taskforce.rota import directory, schedule, service
from taskforce.rota.models import CoverageRequirement
from taskforce.rota.schemas import (
    MAX_DAYS,
    DeskRead,
    DeskSet,
    DutyShiftRead,
    GapRead,
    OverrideCreate,
    OverrideRead,
    Power,
    RequirementCreate,
    RequirementRead,
    RotationCreate,
    RotationRead,
    RotationUpdate,
    RuleCreate,
    RuleRead,
    RuleUpdate,
    TemporaryCreate,
    TemporaryRead,
    UnavailabilityCreate,
    UnavailabilityRead,
)

router = APIRouter(prefix="/rota", tags=["rota"])

NO_CONTENT = status.HTTP_204_NO_CONTENT


def _done() -> Response:
    return Response(status_code=NO_CONTENT)


# --- who is on duty, shifts, gaps -------------------------------------------------------------


@router.get("/on-duty", response_model=list[DutyShiftRead])
def on_duty(
    session: SessionDep,
    caller: CallerDep,
    at: datetime | None = Query(default=None, description="with its offset; default now"),
    power: Power | None = Query(default=None, description="only desks with this power"),
    language: str | None = Query(default=None, max_length=8, description="ISO 639-1, e.g. es"),
) -> list[DutyShiftRead]:
    """The desks on duty at `at` (now by default), with how to reach them."""
    return service.on_duty(session, caller, at=at, power=power, language=language)


@router.get("/shifts", response_model=list[DutyShiftRead])
def shifts(
    session: SessionDep, caller: CallerDep, start: datetime, end: datetime
) -> list[DutyShiftRead]:
    """Every shift in [start, end), at most 92 days."""
    return service.shifts(session, caller, start=start, end=end)


@router.get("/gaps", response_model=list[GapRead])
def gaps(
    session: SessionDep,
    caller: CallerDep,
    days: int = Query(default=30, ge=1, le=MAX_DAYS, description="how many days ahead"),
) -> list[GapRead]:
    """Every interval of the next `days` days in which a coverage requirement is not met."""
    return service.gaps(session, caller, days=days)


# --- desks and unavailability -----------------------------------------------------------------


@router.get("/desks", response_model=list[DeskRead])
def list_desks(session: SessionDep, caller: CallerDep) -> list[DeskRead]:
    return directory.list_desks(session, caller)


@router.get("/desks/{agency}", response_model=DeskRead)
def get_desk(agency: str, session: SessionDep, caller: CallerDep) -> DeskRead:
    return directory.desk_of_agency(session, caller, agency)


@router.put("/desks/{agency}", response_model=DeskRead)
def set_desk(agency: str, data: DeskSet, session: SessionDep, caller: CallerDep) -> DeskRead:
    """Register the agency's desk or change it (a field left out keeps its value). A desk
    sets its own languages, powers and reliable hours; the rest is the coordinator's."""
    return directory.set_desk(session, caller, agency, data)


@router.get("/desks/{agency}/unavailability", response_model=list[UnavailabilityRead])
def list_unavailability(
    agency: str,
    session: SessionDep,
    caller: CallerDep,
    since: datetime | None = Query(default=None, description="only what ends after this"),
) -> list[UnavailabilityRead]:
    desk = directory.desk_of_agency(session, caller, agency)
    return directory.list_unavailability(session, caller, desk.id, since=since)


@router.post(
    "/desks/{agency}/unavailability",
    response_model=UnavailabilityRead,
    status_code=status.HTTP_201_CREATED,
)
def add_unavailability(
    agency: str, data: UnavailabilityCreate, session: SessionDep, caller: CallerDep
) -> UnavailabilityRead:
    """The desk cannot take the duty in the window (its own desk, or the coordinator)."""
    desk = directory.desk_of_agency(session, caller, agency)
    return directory.add_unavailability(session, caller, desk.id, data)


@router.delete("/unavailability/{unavailability_id}", status_code=NO_CONTENT)
def delete_unavailability(
    unavailability_id: uuid.UUID, session: SessionDep, caller: CallerDep
) -> Response:
    directory.delete_unavailability(session, caller, unavailability_id)
    return _done()


# --- rotations and rules ----------------------------------------------------------------------


@router.get("/rotations", response_model=list[RotationRead])
def list_rotations(session: SessionDep, caller: CallerDep) -> list[RotationRead]:
    return schedule.list_rotations(session, caller)


@router.post("/rotations", response_model=RotationRead, status_code=status.HTTP_201_CREATED)
def add_rotation(data: RotationCreate, session: SessionDep, caller: CallerDep) -> RotationRead:
    """Members by agency code, in turn; a rule gives the rotation its hours."""
    return schedule.add_rotation(session, caller, data)


@router.patch("/rotations/{rotation_id}", response_model=RotationRead)
def update_rotation(
    rotation_id: uuid.UUID, data: RotationUpdate, session: SessionDep, caller: CallerDep
) -> RotationRead:
    return schedule.update_rotation(session, caller, rotation_id, data)


@router.delete("/rotations/{rotation_id}", status_code=NO_CONTENT)
def delete_rotation(rotation_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> Response:
    """Removes the rotation with its members and its rules."""
    schedule.delete_rotation(session, caller, rotation_id)
    return _done()


@router.get("/rules", response_model=list[RuleRead])
def list_rules(session: SessionDep, caller: CallerDep) -> list[RuleRead]:
    return schedule.list_rules(session, caller)


@router.post("/rules", response_model=RuleRead, status_code=status.HTTP_201_CREATED)
def add_rule(data: RuleCreate, session: SessionDep, caller: CallerDep) -> RuleRead:
    """A desk or a rotation on duty on the weekdays from start to end, on the rule's clock."""
    return schedule.add_rule(session, caller, data)


@router.patch("/rules/{rule_id}", response_model=RuleRead)
def update_rule(
    rule_id: uuid.UUID, data: RuleUpdate, session: SessionDep, caller: CallerDep
) -> RuleRead:
    """Change a rule's days, hours, clock or label."""
    return schedule.update_rule(session, caller, rule_id, data)


@router.delete("/rules/{rule_id}", status_code=NO_CONTENT)
def delete_rule(rule_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> Response:
    schedule.delete_rule(session, caller, rule_id)
    return _done()


# --- overrides and temporary schedules --------------------------------------------------------


@router.get("/overrides", response_model=list[OverrideRead])
def list_overrides(
    session: SessionDep,
    caller: CallerDep,
    since: datetime | None = Query(default=None, description="only what ends after this"),
) -> list[OverrideRead]:
    return schedule.list_overrides(session, caller, since=since)


@router.post("/overrides", response_model=OverrideRead, status_code=status.HTTP_201_CREATED)
def add_override(data: OverrideCreate, session: SessionDep, caller: CallerDep) -> OverrideRead:
    """Add a desk, remove one (it must be on duty in the window), or replace one."""
    return schedule.add_override(session, caller, data)


@router.delete("/overrides/{override_id}", status_code=NO_CONTENT)
def delete_override(override_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> Response:
    schedule.delete_override(session, caller, override_id)
    return _done()


@router.get("/temporary-schedules", response_model=list[TemporaryRead])
def list_temporary(
    session: SessionDep,
    caller: CallerDep,
    since: datetime | None = Query(default=None, description="only what ends after this"),
) -> list[TemporaryRead]:
    return schedule.list_temporary(session, caller, since=since)


@router.post(
    "/temporary-schedules", response_model=TemporaryRead, status_code=status.HTTP_201_CREATED
)
def add_temporary(data: TemporaryCreate, session: SessionDep, caller: CallerDep) -> TemporaryRead:
    """Its fixed shifts replace every rule for its window."""
    return schedule.add_temporary(session, caller, data)


@router.delete("/temporary-schedules/{schedule_id}", status_code=NO_CONTENT)
def delete_temporary(schedule_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> Response:
    schedule.delete_temporary(session, caller, schedule_id)
    return _done()


# --- coverage requirements --------------------------------------------------------------------


def _requirement(row: CoverageRequirement) -> RequirementRead:
    return RequirementRead(
        id=row.id,
        name=row.name,
        power=Power(row.power) if row.power else None,
        language=row.language,
    )


@router.get("/requirements", response_model=list[RequirementRead])
def list_requirements(session: SessionDep, caller: CallerDep) -> list[RequirementRead]:
    return [_requirement(r) for r in service.list_requirements(session, caller)]


@router.post("/requirements", response_model=RequirementRead, status_code=status.HTTP_201_CREATED)
def add_requirement(
    data: RequirementCreate, session: SessionDep, caller: CallerDep
) -> RequirementRead:
    """What must be covered at every instant: a desk with a power, in a language."""
    return _requirement(service.add_requirement(session, caller, data))


@router.delete("/requirements/{requirement_id}", status_code=NO_CONTENT)
def delete_requirement(
    requirement_id: uuid.UUID, session: SessionDep, caller: CallerDep
) -> Response:
    """Any requirement but "Any desk on duty", which is always kept."""
    service.delete_requirement(session, caller, requirement_id)
    return _done()
