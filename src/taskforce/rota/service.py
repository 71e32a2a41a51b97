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
from typing import Any
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


LOAD_MARGIN = timedelta(days=2)  # the engine looks a day either side of an instant


def load(
    session: Session, *, start: datetime | None = None, end: datetime | None = None
) -> engine.Rota:
    """The rota as the engine takes it; with a window, only the overrides, temporary
    schedules and unavailability that reach into it (give or take `LOAD_MARGIN`), so what
    has long passed is not read again and again. Inactive desks (or of inactive agencies)
    are left out, and so is what names them; a rotation keeps them as members, so their
    turns show as gaps rather than silently shifting everyone else's. Columns, not ORM
    objects: this runs on every question and every change."""

    def reaching(query: Any, starts: Any, ends: Any) -> Any:
        if start is not None:
            query = query.where(ends > start - LOAD_MARGIN)
        if end is not None:
            query = query.where(starts < end + LOAD_MARGIN)
        return query

    desks = tuple(
        engine.Desk(
            id=desk_id,
            code=code,
            time_zone=zone,
            country=country,
            subdivision=subdivision,
            languages=frozenset(languages or ()),
            powers=frozenset(powers or ()),
            observes_holidays=observes,
        )
        for desk_id, code, zone, country, subdivision, languages, powers, observes in (
            session.execute(
                select(
                    DutyDesk.id,
                    Agency.code,
                    DutyDesk.time_zone,
                    Agency.country,
                    DutyDesk.subdivision,
                    DutyDesk.languages,
                    DutyDesk.powers,
                    DutyDesk.observes_holidays,
                )
                .join(Agency, Agency.id == DutyDesk.agency_id)
                .where(DutyDesk.is_active, Agency.is_active)
            )
        )
    )
    active = {d.id for d in desks}
    members: dict[uuid.UUID, list[uuid.UUID]] = {}
    for rotation_id, desk_id in session.execute(
        select(RotationMember.rotation_id, RotationMember.desk_id).order_by(RotationMember.position)
    ):
        members.setdefault(rotation_id, []).append(desk_id)
    rotations = tuple(
        engine.Rotation(
            id=r_id,
            name=name,
            kind=kind,
            shift_length=length,
            time_zone=zone,
            starts_at=starts_at,
            members=tuple(members.get(r_id, ())),
        )
        for r_id, name, kind, length, zone, starts_at in session.execute(
            select(
                Rotation.id,
                Rotation.name,
                Rotation.kind,
                Rotation.shift_length,
                Rotation.time_zone,
                Rotation.starts_at,
            ).order_by(Rotation.name)
        )
    )
    rules = tuple(
        engine.Rule(
            id=r_id,
            desk_id=desk_id,
            rotation_id=rotation_id,
            weekdays=frozenset(weekdays),
            start=parse_clock(clock_start) or datetime.min.time(),
            end=parse_clock(clock_end),
            time_zone=zone,
        )
        for r_id, desk_id, rotation_id, weekdays, clock_start, clock_end, zone in session.execute(
            select(
                RotaRule.id,
                RotaRule.desk_id,
                RotaRule.rotation_id,
                RotaRule.weekdays,
                RotaRule.start,
                RotaRule.end,
                RotaRule.time_zone,
            )
        )
        if desk_id is None or desk_id in active
    )
    overrides = tuple(
        engine.Override(
            id=o_id,
            starts_at=starts_at,
            ends_at=ends_at,
            add_desk_id=add if add in active else None,
            remove_desk_id=remove,
        )
        for o_id, starts_at, ends_at, add, remove in session.execute(
            reaching(
                select(
                    RotaOverride.id,
                    RotaOverride.starts_at,
                    RotaOverride.ends_at,
                    RotaOverride.add_desk_id,
                    RotaOverride.remove_desk_id,
                ),
                RotaOverride.starts_at,
                RotaOverride.ends_at,
            )
        )
        if add in active or remove in active
    )
    schedules = list(
        session.execute(
            reaching(
                select(
                    TemporarySchedule.id,
                    TemporarySchedule.name,
                    TemporarySchedule.starts_at,
                    TemporarySchedule.ends_at,
                ),
                TemporarySchedule.starts_at,
                TemporarySchedule.ends_at,
            )
        )
    )
    fixed: dict[uuid.UUID, list[engine.FixedShift]] = {}
    if schedules:
        for schedule_id, desk_id, starts_at, ends_at in session.execute(
            select(
                TemporaryShift.schedule_id,
                TemporaryShift.desk_id,
                TemporaryShift.starts_at,
                TemporaryShift.ends_at,
            ).where(TemporaryShift.schedule_id.in_([t[0] for t in schedules]))
        ):
            if desk_id in active:
                fixed.setdefault(schedule_id, []).append(
                    engine.FixedShift(desk_id=desk_id, starts_at=starts_at, ends_at=ends_at)
                )
    temporary = tuple(
        engine.Temporary(
            id=t_id,
            name=name,
            starts_at=starts_at,
            ends_at=ends_at,
            shifts=tuple(fixed.get(t_id, ())),
        )
        for t_id, name, starts_at, ends_at in schedules
    )
    unavailable = tuple(
        engine.Unavailable(desk_id=desk_id, starts_at=starts_at, ends_at=ends_at, reason=reason)
        for desk_id, starts_at, ends_at, reason in session.execute(
            reaching(
                select(
                    DeskUnavailability.desk_id,
                    DeskUnavailability.starts_at,
                    DeskUnavailability.ends_at,
                    DeskUnavailability.reason,
                ),
                DeskUnavailability.starts_at,
                DeskUnavailability.ends_at,
            )
        )
        if desk_id in active
    )
    requirements = tuple(
        engine.Requirement(id=r_id, name=name, power=power, language=language)
        for r_id, name, power, language in session.execute(
            select(
                CoverageRequirement.id,
                CoverageRequirement.name,
                CoverageRequirement.power,
                CoverageRequirement.language,
            ).order_by(CoverageRequirement.name)
        )
    )
    return engine.Rota(
        desks=desks,
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
    end = now + timedelta(days=days)
    rota = load(session, start=now, end=end)
    return _gap_reads(session, rota, engine.gaps(rota, now, end))


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
    end = now + timedelta(days=NOTICE_DAYS)
    return engine.gaps(load(session, start=now, end=end), now, end)


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
    _lock_rota(session)  # so two changes at once cannot both tell of one gap
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
