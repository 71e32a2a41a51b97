"""The desk directory: each member agency's 24/7 desk, what it declares, when it cannot serve.

A desk declares its own languages, powers and reliable hours and its own unavailability
(KEEP_WATCH); the coordinator (MANAGE_ROTA) registers desks and sets their clock, holidays
and whether they take part at all. Another agency's desk is 404 to a desk, like a missing one.
Each change goes through `service.watching_gaps`, so a desk going off duty tells the
coordinator of the gaps it leaves.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from typing import Any

import holidays
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.errors import Forbidden, Invalid, NotFound
from taskforce.rota.models import DeskUnavailability, DutyDesk
from taskforce.rota.schemas import (
    DESK_OWN_FIELDS,
    DeskRead,
    DeskSet,
    Power,
    UnavailabilityCreate,
    UnavailabilityRead,
)
from taskforce.rota.service import (
    changed,
    editable_desk,
    may_edit_desk,
    require_read,
    watching_gaps,
)


@cache
def _supported() -> dict[str, list[str]]:
    return dict(holidays.list_supported_countries())


def holiday_subdivisions(country: str) -> list[str] | None:
    """The `holidays` subdivisions of a country; None if it has no calendar there."""
    supported = _supported()
    return list(supported[country]) if country in supported else None


def desk_read(desk: DutyDesk, agency: Agency) -> DeskRead:
    return DeskRead(
        id=desk.id,
        agency_id=agency.id,
        agency=agency.code,
        name=agency.name,
        country=agency.country,
        time_zone=desk.time_zone,
        subdivision=desk.subdivision,
        languages=list(desk.languages or ()),
        powers=[Power(p) for p in desk.powers or () if p in set(Power)],
        reliable_hours=list(desk.reliable_hours or ()),
        observes_holidays=desk.observes_holidays,
        is_active=desk.is_active,
        has_feed=desk.feed_secret_hash is not None,
    )


def list_desks(session: Session, caller: Caller) -> list[DeskRead]:
    """Every desk of the network, by agency code (the rota is the network's to read)."""
    require_read(caller)
    rows = session.execute(
        select(DutyDesk, Agency).join(Agency, Agency.id == DutyDesk.agency_id).order_by(Agency.code)
    ).all()
    return [desk_read(desk, agency) for desk, agency in rows]


def get_desk(session: Session, caller: Caller, desk_id: uuid.UUID) -> DeskRead:
    require_read(caller)
    desk = session.get(DutyDesk, desk_id)
    if desk is None:
        raise NotFound("desk")
    agency = session.get(Agency, desk.agency_id)
    assert agency is not None
    return desk_read(desk, agency)


def desk_of_agency(session: Session, caller: Caller, agency_code: str) -> DeskRead:
    """The desk of the agency `agency_code` (how the API and the CLI name a desk)."""
    require_read(caller)
    found = session.execute(
        select(DutyDesk, Agency)
        .join(Agency, Agency.id == DutyDesk.agency_id)
        .where(Agency.code == agency_code)
    ).first()
    if found is None:
        raise NotFound("desk")
    return desk_read(found[0], found[1])


def own_desk(session: Session, caller: Caller) -> DutyDesk | None:
    """The desk of the caller's agency, if it has one."""
    if caller.agency_id is None:
        return None
    return session.scalar(select(DutyDesk).where(DutyDesk.agency_id == caller.agency_id))


def _check_holidays(agency: Agency, subdivision: str | None, observes: bool) -> None:
    subdivisions = holiday_subdivisions(agency.country)
    if subdivisions is None:
        if observes:
            raise Invalid(
                "observes_holidays",
                f"the holidays calendar has no public holidays for {agency.country}",
            )
        if subdivision:
            raise Invalid("subdivision", f"{agency.country} has no holiday subdivisions")
        return
    if subdivision and subdivision not in subdivisions:
        listed = ", ".join(subdivisions) if subdivisions else "none"
        raise Invalid("subdivision", f"must be a subdivision of {agency.country}: {listed}")


def set_desk(
    session: Session,
    caller: Caller,
    agency_code: str,
    data: DeskSet,
    *,
    now: datetime | None = None,
) -> DeskRead:
    """Register the agency's desk or change it; a field left out keeps its value. A desk
    (KEEP_WATCH) may set its own languages, powers and reliable hours; the rest, and any other
    desk, is the coordinator's."""
    caller.require(Permission.KEEP_WATCH)
    try:
        agency = agency_service.get_by_code(session, agency_code)
    except NotFound:
        raise NotFound("desk") from None
    desk = session.scalar(select(DutyDesk).where(DutyDesk.agency_id == agency.id))
    manager = caller.can(Permission.MANAGE_ROTA)
    if not manager:
        if agency.id != caller.agency_id:
            raise NotFound("desk")
        given = {k for k in data.model_fields_set if getattr(data, k) is not None}
        if not given <= DESK_OWN_FIELDS or desk is None:
            what = ", ".join(sorted(given - DESK_OWN_FIELDS)) or "a new desk"
            raise Forbidden(f"only the network coordinator's desk may set {what}")
    fresh = desk is None
    if desk is None:
        supported = holiday_subdivisions(agency.country) is not None
        desk = DutyDesk(
            id=uuid.uuid4(),
            agency_id=agency.id,
            time_zone=agency.timezone,
            subdivision=None,
            languages=[],
            powers=[],
            reliable_hours=[],
            observes_holidays=supported,
            is_active=True,
        )
    subdivision = desk.subdivision if data.subdivision is None else (data.subdivision or None)
    observes = desk.observes_holidays if data.observes_holidays is None else data.observes_holidays
    _check_holidays(agency, subdivision, observes)
    before: dict[str, Any] = {} if fresh else desk_read(desk, agency).model_dump(mode="json")
    with watching_gaps(session, caller, now):
        if fresh:
            session.add(desk)
        if data.languages is not None:
            desk.languages = sorted(set(data.languages))
        if data.powers is not None:
            desk.powers = sorted({p.value for p in data.powers})
        if data.reliable_hours is not None:
            desk.reliable_hours = [h.model_dump() for h in data.reliable_hours]
        if data.time_zone is not None:
            desk.time_zone = data.time_zone
        desk.subdivision = subdivision
        desk.observes_holidays = observes
        if data.is_active is not None:
            desk.is_active = data.is_active
        session.flush()
        after = desk_read(desk, agency).model_dump(mode="json")
        changed(
            session,
            caller,
            action="rota.desk.create" if fresh else "rota.desk.update",
            operation=Operation.COLLECTION if fresh else Operation.ALTERATION,
            subject_type="duty_desk",
            subject_id=desk.id,
            detail={
                "agency": agency.code,
                "changed": sorted(k for k in after if before.get(k) != after[k]),
            },
        )
    return desk_read(desk, agency)


# --- unavailability ---------------------------------------------------------------------------


def _unavailability_read(row: DeskUnavailability, code: str) -> UnavailabilityRead:
    return UnavailabilityRead(
        id=row.id,
        desk=code,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        reason=row.reason,
        source=row.source,
        created_by=row.created_by,
    )


def _code(session: Session, desk: DutyDesk) -> str:
    agency = session.get(Agency, desk.agency_id)
    assert agency is not None
    return agency.code


def list_unavailability(
    session: Session, caller: Caller, desk_id: uuid.UUID, *, since: datetime | None = None
) -> list[UnavailabilityRead]:
    """A desk's declared and imported unavailability (ending after `since`), oldest first."""
    require_read(caller)
    desk = session.get(DutyDesk, desk_id)
    if desk is None:
        raise NotFound("desk")
    query = select(DeskUnavailability).where(DeskUnavailability.desk_id == desk.id)
    if since is not None:
        query = query.where(DeskUnavailability.ends_at > since)
    code = _code(session, desk)
    return [
        _unavailability_read(row, code)
        for row in session.scalars(query.order_by(DeskUnavailability.starts_at))
    ]


def add_unavailability(
    session: Session,
    caller: Caller,
    desk_id: uuid.UUID,
    data: UnavailabilityCreate,
    *,
    source: str = "desk",
    ical_uid: str | None = None,
    now: datetime | None = None,
) -> UnavailabilityRead:
    """The desk cannot take the duty in [starts_at, ends_at); its own desk or the
    coordinator says so."""
    desk = editable_desk(session, caller, desk_id)
    with watching_gaps(session, caller, now):
        row = DeskUnavailability(
            id=uuid.uuid4(),
            desk_id=desk.id,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            reason=data.reason.strip(),
            source=source,
            ical_uid=ical_uid,
            created_by=caller.label[:320],
            **({"created_at": now} if now else {}),
        )
        session.add(row)
        changed(
            session,
            caller,
            action="rota.unavailability.add",
            operation=Operation.COLLECTION,
            subject_type="duty_desk",
            subject_id=desk.id,
            detail={
                "starts_at": data.starts_at.isoformat(),
                "ends_at": data.ends_at.isoformat(),
                "source": source,
            },
        )
    return _unavailability_read(row, _code(session, desk))


def delete_unavailability(
    session: Session, caller: Caller, unavailability_id: uuid.UUID, *, now: datetime | None = None
) -> None:
    caller.require(Permission.KEEP_WATCH)
    row = session.get(DeskUnavailability, unavailability_id)
    desk = session.get(DutyDesk, row.desk_id) if row is not None else None
    if row is None or desk is None or not may_edit_desk(caller, desk):
        raise NotFound("unavailability")
    with watching_gaps(session, caller, now):
        session.delete(row)
        changed(
            session,
            caller,
            action="rota.unavailability.delete",
            operation=Operation.ERASURE,
            subject_type="duty_desk",
            subject_id=desk.id,
            detail={"starts_at": row.starts_at.isoformat(), "ends_at": row.ends_at.isoformat()},
        )
