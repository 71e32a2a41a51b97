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
gaps, so a closed gap disappears and a gap that reopens is told again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

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
from taskforce.rota.models import (
    CoverageRequirement,
    DeskUnavailability,
    DutyDesk,
    KnownGap,
    RotaOverride,
    RotaRule,
    Rotation,
    RotationMember,
    TemporarySchedule,
    TemporaryShift,
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
    parse_clock,
)

NOTICE_DAYS = 30  # how far ahead a change's new gaps are looked for
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


def ensure_any_desk(session: Session) -> CoverageRequirement:
    """The requirement "Any desk on duty" (no power, no language) always exists."""
    found = session.scalar(
        select(CoverageRequirement)
        .where(CoverageRequirement.power.is_(None), CoverageRequirement.language.is_(None))
        .order_by(CoverageRequirement.created_at)
        .limit(1)
    )
    if found is None:
        found = CoverageRequirement(id=uuid.uuid4(), name=ANY_DESK, power=None, language=None)
        session.add(found)
        session.flush()
    return found


def load(session: Session) -> engine.Rota:
    """The whole rota as the engine takes it. Inactive desks (or of inactive agencies) are
    left out, and so is what names them; a rotation keeps them as members, so their turns show
    as gaps rather than silently shifting everyone else's."""
    desks: list[engine.Desk] = []
    for desk, agency in session.execute(
        select(DutyDesk, Agency).join(Agency, Agency.id == DutyDesk.agency_id)
    ).all():
        if not (desk.is_active and agency.is_active):
            continue
        desks.append(
            engine.Desk(
                id=desk.id,
                code=agency.code,
                time_zone=desk.time_zone,
                country=agency.country,
                subdivision=desk.subdivision,
                languages=frozenset(desk.languages or ()),
                powers=frozenset(desk.powers or ()),
                observes_holidays=desk.observes_holidays,
            )
        )
    active = {d.id for d in desks}
    members: dict[uuid.UUID, list[uuid.UUID]] = {}
    for member in session.scalars(select(RotationMember).order_by(RotationMember.position)):
        members.setdefault(member.rotation_id, []).append(member.desk_id)
    rotations = tuple(
        engine.Rotation(
            id=r.id,
            name=r.name,
            kind=r.kind,
            shift_length=r.shift_length,
            time_zone=r.time_zone,
            starts_at=r.starts_at,
            members=tuple(members.get(r.id, ())),
        )
        for r in session.scalars(select(Rotation).order_by(Rotation.name))
    )
    rules = tuple(
        engine.Rule(
            id=r.id,
            desk_id=r.desk_id,
            rotation_id=r.rotation_id,
            weekdays=frozenset(r.weekdays),
            start=parse_clock(r.start) or datetime.min.time(),
            end=parse_clock(r.end),
            time_zone=r.time_zone,
        )
        for r in session.scalars(select(RotaRule))
        if r.desk_id is None or r.desk_id in active
    )
    overrides = tuple(
        engine.Override(
            id=o.id,
            starts_at=o.starts_at,
            ends_at=o.ends_at,
            add_desk_id=o.add_desk_id if o.add_desk_id in active else None,
            remove_desk_id=o.remove_desk_id,
        )
        for o in session.scalars(select(RotaOverride))
        if o.add_desk_id in active or o.remove_desk_id in active
    )
    fixed: dict[uuid.UUID, list[engine.FixedShift]] = {}
    for s in session.scalars(select(TemporaryShift)):
        if s.desk_id in active:
            fixed.setdefault(s.schedule_id, []).append(
                engine.FixedShift(desk_id=s.desk_id, starts_at=s.starts_at, ends_at=s.ends_at)
            )
    temporary = tuple(
        engine.Temporary(
            id=t.id,
            name=t.name,
            starts_at=t.starts_at,
            ends_at=t.ends_at,
            shifts=tuple(fixed.get(t.id, ())),
        )
        for t in session.scalars(select(TemporarySchedule))
    )
    unavailable = tuple(
        engine.Unavailable(
            desk_id=u.desk_id, starts_at=u.starts_at, ends_at=u.ends_at, reason=u.reason
        )
        for u in session.scalars(select(DeskUnavailability))
        if u.desk_id in active
    )
    requirements = tuple(
        engine.Requirement(id=r.id, name=r.name, power=r.power, language=r.language)
        for r in session.scalars(select(CoverageRequirement).order_by(CoverageRequirement.name))
    )
    return engine.Rota(
        desks=tuple(desks),
        rotations=rotations,
        rules=rules,
        overrides=overrides,
        temporary=temporary,
        unavailable=unavailable,
        requirements=requirements,
    )


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
                powers=[Power(p) for p in desk.powers or () if p in Power.__members__.values()],
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
    rota = load(session)
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
    return _duty_reads(session, engine.shifts(load(session), start, end))


def _gap_reads(session: Session, rota: engine.Rota, found: list[engine.Gap]) -> list[GapRead]:
    del session
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
    rota = load(session)
    return _gap_reads(session, rota, engine.gaps(rota, now, now + timedelta(days=days)))


# --- reliable hours (warnings, never refusals) -----------------------------------------------

RELIABLE_DAYS = 14  # how far ahead a rule is held against the desks' reliable hours


def _minus(
    span: tuple[datetime, datetime], holes: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """What of `span` the sorted, disjoint `holes` leave."""
    left, (start, end) = [], span
    for lo, hi in holes:
        if hi <= start or lo >= end:
            continue
        if lo > start:
            left.append((start, lo))
        start = max(start, hi)
    if start < end:
        left.append((start, end))
    return left


def outside_reliable_hours(
    session: Session, rule_ids: Sequence[uuid.UUID], *, now: datetime | None = None
) -> dict[uuid.UUID, list[str]]:
    """For each rule, the desks it puts on duty outside the reliable hours they declared, in
    the next `RELIABLE_DAYS` days (a desk that declared none is never warned of)."""
    now = now or utcnow()
    end = now + timedelta(days=RELIABLE_DAYS)
    rota = load(session)
    declared = {
        desk.id: (desk.reliable_hours, desk.time_zone)
        for desk in session.scalars(select(DutyDesk))
        if desk.reliable_hours
    }
    desks = tuple(replace(d, observes_holidays=False) for d in rota.desks)
    reliable_rules = tuple(
        engine.Rule(
            id=uuid.uuid4(),
            desk_id=desk_id,
            rotation_id=None,
            weekdays=frozenset(h["weekdays"]),
            start=parse_clock(h["start"]) or datetime.min.time(),
            end=parse_clock(h["end"]),
            time_zone=zone,
        )
        for desk_id, (hours, zone) in declared.items()
        for h in hours
    )
    bare = engine.Rota(desks, rota.rotations, (), (), (), (), ())
    spans: dict[uuid.UUID, list[tuple[datetime, datetime]]] = {}
    for shift in engine.shifts(replace(bare, rules=reliable_rules), now, end):
        spans.setdefault(shift.desk_id, []).append((shift.starts_at, shift.ends_at))
    codes = {d.id: (d.code, d.time_zone) for d in rota.desks}
    warnings: dict[uuid.UUID, list[str]] = {}
    for rule in rota.rules:
        if rule.id not in rule_ids:
            continue
        told: set[uuid.UUID] = set()
        for shift in engine.shifts(replace(bare, rules=(rule,)), now, end):
            if shift.desk_id not in declared or shift.desk_id in told:
                continue
            left = _minus((shift.starts_at, shift.ends_at), sorted(spans.get(shift.desk_id, [])))
            if left:
                told.add(shift.desk_id)
                code, zone = codes[shift.desk_id]
                lo, hi = (t.astimezone(ZoneInfo(zone)) for t in left[0])
                warnings.setdefault(rule.id, []).append(
                    f"{code} is on duty outside its reliable hours, e.g. "
                    f"{lo:%a %d %b %H:%M}-{hi:%H:%M} {zone}"
                )
    return warnings


# --- telling the coordinator of new gaps -----------------------------------------------------


def _upcoming(session: Session, now: datetime) -> list[engine.Gap]:
    return engine.gaps(load(session), now, now + timedelta(days=NOTICE_DAYS))


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


@contextmanager
def watching_gaps(session: Session, caller: Caller, now: datetime | None = None) -> Iterator[None]:
    """Wrap a change: afterwards, the coordinator is told of the gaps it opened."""
    now = now or utcnow()
    if is_postgres(session):
        # one change to the rota at a time, so two at once cannot both tell of one gap (on
        # SQLite every transaction begins IMMEDIATE: they are one at a time already)
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": ROTA_LOCK})
    ensure_any_desk(session)
    before = _upcoming(session, now)
    yield
    session.flush()
    after = _upcoming(session, now)
    told: dict[uuid.UUID, list[tuple[datetime, datetime]]] = {}
    for g in before:
        told.setdefault(g.requirement_id, []).append((g.starts_at, g.ends_at))
    known = list(session.scalars(select(KnownGap)))
    for k in known:
        told.setdefault(k.requirement_id, []).append((k.starts_at, k.ends_at))
    new = [g for g in after if not _covered(g, told.get(g.requirement_id, []))]
    first_found = {(k.requirement_id, k.starts_at, k.ends_at): k.found_at for k in known}
    session.execute(delete(KnownGap))
    for g in after:
        session.add(
            KnownGap(
                requirement_id=g.requirement_id,
                starts_at=g.starts_at,
                ends_at=g.ends_at,
                found_at=first_found.get((g.requirement_id, g.starts_at, g.ends_at), now),
            )
        )
    session.flush()
    coordinator = agency_service.coordinator(session)
    if new and coordinator is not None:
        names = {r.id: r.name for r in session.scalars(select(CoverageRequirement))}
        messages.tell_coordinator(
            session,
            coordinator,
            [messages.NewGap(names[g.requirement_id], g.starts_at, g.ends_at) for g in new],
            changed_by=caller.label,
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
