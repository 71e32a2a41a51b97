"""Reading the rota from the database into the pure `engine`: once per question and per
change, so it reads columns, not ORM objects, and with a window only what reaches into it.
Also the rules held against the desks' declared reliable hours (warnings, never refusals).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.agencies.models import Agency
from taskforce.core.db import utcnow
from taskforce.rota import engine
from taskforce.rota.models import (
    CoverageRequirement,
    DeskUnavailability,
    DutyDesk,
    RotaOverride,
    RotaRule,
    Rotation,
    RotationMember,
    TemporarySchedule,
    TemporaryShift,
)
from taskforce.rota.schemas import parse_clock

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
