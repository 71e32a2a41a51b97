"""The network's 24/7 rota: what the coordinator writes, what it computes to, and its gaps.

The coordinator's desk (MANAGE_ROTA) writes rotations, rules, overrides, temporary schedules
and coverage requirements, and any desk's settings. A desk (KEEP_WATCH) declares its own
languages, powers and reliable hours and its own unavailability; another agency's desk answers
404 to it, as a desk that does not exist. Every change is audited.

Shifts are never stored: `load` reads the rota into the pure `engine`, which computes them.

Gaps: every change, in its own transaction, computes the gaps of the next 30 days before and
after it; a gap after the change that neither the gaps before it nor the gaps the coordinator
was already told of (`KnownGap`) cover is new, and the coordinator agency is told at once
(inbox notice and e-mail to its 24/7 address, `messages`). `KnownGap` then holds the current
gaps, so a closed gap disappears and a gap that reopens is told again. Gaps that no change opens
but time brings within the 30 days are told by the worker's gap watch (`gapwatch`), with the
same step (`tell_new_gaps`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import is_postgres, utcnow
from taskforce.core.errors import Invalid, NotFound
from taskforce.rota import engine, messages
from taskforce.rota.loading import load as load  # others read the rota as service.load
from taskforce.rota.models import (
    CoverageRequirement,
    DutyDesk,
    KnownGap,
)
from taskforce.rota.schemas import (
    ANY_DESK,
    MAX_DAYS,
    DutyShiftRead,
    GapRead,
    Power,
    RequirementCreate,
    Source,
    instant_problem,
    is_language,
)

NOTICE_DAYS = 30  # how far ahead a change's new gaps are looked for
REMEMBER_DAYS = 7  # how far past that a gap open at the horizon is remembered (see _upcoming)
ROTA_LOCK = "rota-change"  # PostgreSQL advisory lock: one change to the rota at a time

# --- access -----------------------------------------------------------------------------------


def require_read(caller: Caller) -> None:
    """The rota is the network's: every desk (KEEP_WATCH) and the coordinator read it."""
    caller.require(Permission.KEEP_WATCH)


def require_manage(caller: Caller) -> None:
    caller.require(Permission.MANAGE_ROTA)


def may_edit_desk(caller: Caller, desk: DutyDesk) -> bool:
    """The coordinator edits any desk; a desk only its own (KEEP_WATCH)."""
    if caller.can(Permission.MANAGE_ROTA):
        return True
    return caller.can(Permission.KEEP_WATCH) and desk.agency_id == caller.agency_id


def editable_desk(session: Session, caller: Caller, desk_id: uuid.UUID) -> DutyDesk:
    """The desk if the caller may edit it; NotFound as for a missing desk otherwise."""
    caller.require(Permission.KEEP_WATCH)
    desk = session.get(DutyDesk, desk_id)
    if desk is None or not may_edit_desk(caller, desk):
        raise NotFound("desk")
    return desk


def desk_by_code(session: Session, code: str, field: str) -> DutyDesk:
    """The desk of the agency `code`, for input naming a desk; Invalid naming `field`."""
    desk = session.scalar(
        select(DutyDesk).join(Agency, Agency.id == DutyDesk.agency_id).where(Agency.code == code)
    )
    if desk is None:
        raise Invalid(field, f"no 24/7 desk is registered for agency {code}")
    return desk


def codes_of(session: Session, desk_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Agency code of each desk."""
    if not desk_ids:
        return {}
    rows = session.execute(
        select(DutyDesk.id, Agency.code)
        .join(Agency, Agency.id == DutyDesk.agency_id)
        .where(DutyDesk.id.in_(list(desk_ids)))
    )
    return dict(rows.all())


def changed(
    session: Session,
    caller: Caller,
    *,
    action: str,
    operation: Operation,
    subject_type: str,
    subject_id: uuid.UUID | None,
    detail: dict[str, object] | None = None,
) -> None:
    """Audit one change to the rota."""
    audit.record(
        session,
        caller,
        action=action,
        operation=operation,
        subject_type=subject_type,
        subject_id=subject_id,
        detail=detail,
    )


def checked_language(value: str, field: str) -> str:
    """An ISO 639-1 code, lower case; Invalid naming `field` otherwise."""
    code = value.strip().lower()
    if not is_language(code):
        raise Invalid(field, "must be an ISO 639-1 language code like en or es")
    return code


# --- loading into the engine ------------------------------------------------------------------


def _lock_rota(session: Session) -> None:
    """One change to the rota at a time on PostgreSQL (on SQLite every transaction begins
    IMMEDIATE: they are one at a time already)."""
    if is_postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": ROTA_LOCK})


def ensure_any_desk(session: Session) -> CoverageRequirement:
    """The requirement "Any desk on duty" (no power, no language) always exists (made once:
    its NULLs escape the unique constraint, so the rota's lock guards the making)."""
    query = (
        select(CoverageRequirement)
        .where(CoverageRequirement.power.is_(None), CoverageRequirement.language.is_(None))
        .order_by(CoverageRequirement.created_at)
        .limit(1)
    )
    found = session.scalar(query)
    if found is None:
        _lock_rota(session)
        found = session.scalar(query)
    if found is None:
        found = CoverageRequirement(id=uuid.uuid4(), name=ANY_DESK, power=None, language=None)
        session.add(found)
        session.flush()
    return found


# --- who is on duty, gaps ---------------------------------------------------------------------


def _duty_reads(session: Session, found: Sequence[engine.Shift]) -> list[DutyShiftRead]:
    ids = {s.desk_id for s in found}
    rows = (
        session.execute(
            select(DutyDesk, Agency)
            .join(Agency, Agency.id == DutyDesk.agency_id)
            .where(DutyDesk.id.in_(list(ids)))
        ).all()
        if ids
        else []
    )
    by_id = {desk.id: (desk, agency) for desk, agency in rows}
    reads = []
    for s in found:
        desk, agency = by_id[s.desk_id]
        reads.append(
            DutyShiftRead(
                desk_id=desk.id,
                agency=agency.code,
                name=agency.name,
                country=agency.country,
                time_zone=desk.time_zone,
                starts_at=s.starts_at,
                ends_at=s.ends_at,
                source=Source(s.source),
                source_id=s.source_id,
                languages=list(desk.languages or ()),
                powers=[Power(p) for p in desk.powers or () if p in set(Power)],
                contact_desk=agency.contact_desk,
                contact_phone=agency.contact_phone,
                contact_email=agency.contact_email,
            )
        )
    return reads


def on_duty(
    session: Session,
    caller: Caller,
    *,
    at: datetime | None = None,
    power: Power | None = None,
    language: str | None = None,
) -> list[DutyShiftRead]:
    """The desks on duty at `at` (now if None) that have `power` and work in `language`."""
    require_read(caller)
    at = at or utcnow()
    if problem := instant_problem(at):
        raise Invalid("at", problem)
    if language is not None:
        language = checked_language(language, "language")
    rota = load(session, start=at, end=at)
    if power is None and language is None:
        found = engine.on_duty(rota, at)
    else:
        found = engine.covering(
            rota, at, power=power.value if power else None, language=language or None
        )
    return _duty_reads(session, found)


def shifts(
    session: Session, caller: Caller, *, start: datetime, end: datetime
) -> list[DutyShiftRead]:
    """Every shift in [start, end), at most `MAX_DAYS` long."""
    require_read(caller)
    for name, value in (("start", start), ("end", end)):
        if problem := instant_problem(value):
            raise Invalid(name, problem)
    if end <= start:
        raise Invalid("end", "must be after start")
    if end - start > timedelta(days=MAX_DAYS):
        raise Invalid("end", f"at most {MAX_DAYS} days after start")
    return _duty_reads(session, engine.shifts(load(session, start=start, end=end), start, end))


def _gap_reads(rota: engine.Rota, found: list[engine.Gap]) -> list[GapRead]:
    by_id = {r.id: r for r in rota.requirements}
    return [
        GapRead(
            requirement_id=g.requirement_id,
            requirement=by_id[g.requirement_id].name,
            power=Power(p) if (p := by_id[g.requirement_id].power) else None,
            language=by_id[g.requirement_id].language,
            starts_at=g.starts_at,
            ends_at=g.ends_at,
        )
        for g in found
    ]


def gaps(
    session: Session, caller: Caller, *, days: int = 30, now: datetime | None = None
) -> list[GapRead]:
    """Every interval of the next `days` days in which a requirement is not met."""
    require_read(caller)
    if not 1 <= days <= MAX_DAYS:
        raise Invalid("days", f"from 1 to {MAX_DAYS}")
    now = now or utcnow()
    ensure_any_desk(session)
    end = now + timedelta(days=days)
    rota = load(session, start=now, end=end)
    return _gap_reads(rota, engine.gaps(rota, now, end))


# --- telling the coordinator of new gaps -----------------------------------------------------


def _upcoming(session: Session, now: datetime) -> list[engine.Gap]:
    """The gaps that start within the next `NOTICE_DAYS`, each as far as `REMEMBER_DAYS` more
    (so a gap still open at the notice horizon is remembered beyond it: as the horizon moves
    on with time, its continuation is not a new gap)."""
    horizon = now + timedelta(days=NOTICE_DAYS)
    end = horizon + timedelta(days=REMEMBER_DAYS)
    found = engine.gaps(load(session, start=now, end=end), now, end)
    return [g for g in found if g.starts_at < horizon]


def _covered(gap: engine.Gap, by: list[tuple[datetime, datetime]]) -> bool:
    """Whether the intervals `by` (of the gap's requirement) cover all of it."""
    reached = gap.starts_at
    for start, end in sorted(by):
        if start > reached:
            break
        reached = max(reached, end)
        if reached >= gap.ends_at:
            return True
    return reached >= gap.ends_at


def _within_notice(gap: engine.Gap, now: datetime) -> engine.Gap:
    """The part of a gap the coordinator is told of: up to the notice horizon."""
    horizon = now + timedelta(days=NOTICE_DAYS)
    return replace(gap, ends_at=min(gap.ends_at, horizon))


def tell_new_gaps(
    session: Session,
    caller: Caller,
    found: list[engine.Gap],
    *,
    now: datetime,
    told: Sequence[engine.Gap] = (),
    by_change: bool = True,
) -> int:
    """Compare, store, tell: of the gaps `found` now (`_upcoming`), those that neither `told`
    nor the gaps the coordinator was already told of (`KnownGap`) cover are new; `KnownGap`
    becomes `found`, and the coordinator agency is told of the new ones (one notice and one
    e-mail for all), audited as `caller`. The caller holds the rota's lock. How many were new.

    Used by every change (`watching_gaps`) and by the worker's gap watch (`gapwatch`), which
    finds the gaps that only time brings within the next 30 days."""
    covering: dict[uuid.UUID, list[tuple[datetime, datetime]]] = {}
    for g in told:
        covering.setdefault(g.requirement_id, []).append((g.starts_at, g.ends_at))
    known = list(session.scalars(select(KnownGap)))
    for k in known:
        covering.setdefault(k.requirement_id, []).append((k.starts_at, k.ends_at))
    # new: not all of its part within the notice horizon was known (told with all that is known)
    new = [
        g for g in found if not _covered(_within_notice(g, now), covering.get(g.requirement_id, []))
    ]
    session.execute(delete(KnownGap))
    for g in found:
        earlier = [
            k.found_at
            for k in known
            if k.requirement_id == g.requirement_id
            and k.starts_at < g.ends_at
            and g.starts_at < k.ends_at
        ]
        session.add(
            KnownGap(
                requirement_id=g.requirement_id,
                starts_at=g.starts_at,
                ends_at=g.ends_at,
                found_at=min(earlier, default=now),  # when first seen, as the gap goes on
            )
        )
    session.flush()
    coordinator = agency_service.coordinator(session)
    if not new or coordinator is None:
        return len(new)
    names = {r.id: r.name for r in session.scalars(select(CoverageRequirement))}
    messages.tell_coordinator(
        session,
        coordinator,
        [messages.NewGap(names[g.requirement_id], g.starts_at, g.ends_at) for g in new],
        changed_by=caller.label if by_change else None,
        now=now,
    )
    changed(
        session,
        caller,
        action="rota.gaps.notify",
        operation=Operation.DISCLOSURE,
        subject_type="agency",
        subject_id=coordinator.id,
        detail={"new_gaps": len(new)},
    )
    return len(new)


@contextmanager
def watching_gaps(session: Session, caller: Caller, now: datetime | None = None) -> Iterator[None]:
    """Wrap a change: afterwards, the coordinator is told of the gaps it opened."""
    now = now or utcnow()
    _lock_rota(session)  # so two changes at once cannot both tell of one gap
    ensure_any_desk(session)
    before = _upcoming(session, now)
    yield
    session.flush()
    tell_new_gaps(session, caller, _upcoming(session, now), now=now, told=before)


def watch_gaps(session: Session, caller: Caller, now: datetime) -> int:
    """Time's turn: tell the coordinator of the gaps that the passing of time, not a change,
    brought within the next 30 days (a holiday, a rotation's turn to a desk now inactive). Under
    the rota's lock, so a change or another worker at the same moment tells a gap once. A
    node without a rota (no desk) has no gaps to tell of."""
    if session.scalar(select(DutyDesk.id).limit(1)) is None:
        return 0
    _lock_rota(session)
    ensure_any_desk(session)
    return tell_new_gaps(session, caller, _upcoming(session, now), now=now, by_change=False)


# --- coverage requirements --------------------------------------------------------------------


def list_requirements(session: Session, caller: Caller) -> list[CoverageRequirement]:
    require_read(caller)
    ensure_any_desk(session)
    return list(session.scalars(select(CoverageRequirement).order_by(CoverageRequirement.name)))


def add_requirement(
    session: Session, caller: Caller, data: RequirementCreate, *, now: datetime | None = None
) -> CoverageRequirement:
    require_manage(caller)
    power = data.power.value if data.power else None
    same = session.scalar(
        select(CoverageRequirement).where(
            CoverageRequirement.power.is_(None)
            if power is None
            else CoverageRequirement.power == power,
            CoverageRequirement.language.is_(None)
            if data.language is None
            else CoverageRequirement.language == data.language,
        )
    )
    if same is not None:
        raise Invalid("power", f'the requirement "{same.name}" already asks for this')
    with watching_gaps(session, caller, now):
        requirement = CoverageRequirement(
            id=uuid.uuid4(), name=data.name, power=power, language=data.language
        )
        session.add(requirement)
        changed(
            session,
            caller,
            action="rota.requirement.add",
            operation=Operation.COLLECTION,
            subject_type="rota_requirement",
            subject_id=requirement.id,
            detail={"name": data.name, "power": power, "language": data.language},
        )
    return requirement


def delete_requirement(
    session: Session, caller: Caller, requirement_id: uuid.UUID, *, now: datetime | None = None
) -> None:
    require_manage(caller)
    requirement = session.get(CoverageRequirement, requirement_id)
    if requirement is None:
        raise NotFound("requirement")
    if requirement.power is None and requirement.language is None:
        raise Invalid("requirement", f'"{requirement.name}" (any desk on duty) is always kept')
    with watching_gaps(session, caller, now):
        session.delete(requirement)
        changed(
            session,
            caller,
            action="rota.requirement.delete",
            operation=Operation.ERASURE,
            subject_type="rota_requirement",
            subject_id=requirement_id,
            detail={"name": requirement.name},
        )
