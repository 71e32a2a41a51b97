"""The coordinator's schedule: rotations and their members, rules, overrides, temporary
schedules (MANAGE_ROTA; every desk may read them).

What can be refused only with the rota in hand is refused here, with the field named: a desk
or rotation that does not exist, a rule on a rotation without members, fixed shifts outside
their schedule or overlapping for one desk, temporary schedules overlapping each other, and an
override whose removed desk is not on duty at any moment of its window (it would change
nothing). Each change goes through `service.watching_gaps`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller
from taskforce.core.errors import Invalid, NotFound
from taskforce.rota import engine
from taskforce.rota.loading import load, outside_reliable_hours
from taskforce.rota.models import (
    DutyDesk,
    RotaOverride,
    RotaRule,
    Rotation,
    RotationMember,
    TemporarySchedule,
    TemporaryShift,
)
from taskforce.rota.schemas import (
    FixedShiftRead,
    OverrideCreate,
    OverrideRead,
    RotationCreate,
    RotationKind,
    RotationRead,
    RotationUpdate,
    RuleCreate,
    RuleRead,
    RuleUpdate,
    TemporaryCreate,
    TemporaryRead,
)
from taskforce.rota.service import (
    changed,
    codes_of,
    desk_by_code,
    require_manage,
    require_read,
    watching_gaps,
)


def _utc(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


# --- rotations --------------------------------------------------------------------------------


def _members(session: Session, rotation_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        session.scalars(
            select(RotationMember.desk_id)
            .where(RotationMember.rotation_id == rotation_id)
            .order_by(RotationMember.position)
        )
    )


def rotation_read(session: Session, rotation: Rotation) -> RotationRead:
    members = _members(session, rotation.id)
    codes = codes_of(session, set(members))
    return RotationRead(
        id=rotation.id,
        name=rotation.name,
        description=rotation.description,
        kind=RotationKind(rotation.kind),
        shift_length=rotation.shift_length,
        time_zone=rotation.time_zone,
        starts_at=rotation.starts_at,
        members=[codes[m] for m in members],
    )


def list_rotations(session: Session, caller: Caller) -> list[RotationRead]:
    require_read(caller)
    return [
        rotation_read(session, r) for r in session.scalars(select(Rotation).order_by(Rotation.name))
    ]


def _rotation(session: Session, rotation_id: uuid.UUID) -> Rotation:
    rotation = session.get(Rotation, rotation_id)
    if rotation is None:
        raise NotFound("rotation")
    return rotation


def _member_ids(session: Session, codes: list[str]) -> list[uuid.UUID]:
    return [desk_by_code(session, code, f"members[{i}]").id for i, code in enumerate(codes)]


def _name_free(session: Session, name: str, rotation_id: uuid.UUID | None = None) -> None:
    same = session.scalar(select(Rotation).where(Rotation.name == name))
    if same is not None and same.id != rotation_id:
        raise Invalid("name", f'a rotation is already called "{name}"')


def _set_members(session: Session, rotation_id: uuid.UUID, desk_ids: list[uuid.UUID]) -> None:
    for member in session.scalars(
        select(RotationMember).where(RotationMember.rotation_id == rotation_id)
    ):
        session.delete(member)
    session.flush()
    for position, desk_id in enumerate(desk_ids):
        session.add(RotationMember(rotation_id=rotation_id, position=position, desk_id=desk_id))


def add_rotation(
    session: Session, caller: Caller, data: RotationCreate, *, now: datetime | None = None
) -> RotationRead:
    """A rotation hands the duty over in turn; it holds the duty only where a rule gives it."""
    require_manage(caller)
    _name_free(session, data.name)
    desk_ids = _member_ids(session, data.members)
    with watching_gaps(session, caller, now):
        rotation = Rotation(
            id=uuid.uuid4(),
            name=data.name,
            description=data.description,
            kind=data.kind.value,
            shift_length=data.shift_length,
            time_zone=data.time_zone,
            starts_at=data.starts_at,
        )
        session.add(rotation)
        session.flush()
        _set_members(session, rotation.id, desk_ids)
        changed(
            session,
            caller,
            action="rota.rotation.add",
            operation=Operation.COLLECTION,
            subject_type="rota_rotation",
            subject_id=rotation.id,
            detail={"name": data.name, "members": data.members},
        )
    return rotation_read(session, rotation)


def update_rotation(
    session: Session,
    caller: Caller,
    rotation_id: uuid.UUID,
    data: RotationUpdate,
    *,
    now: datetime | None = None,
) -> RotationRead:
    require_manage(caller)
    rotation = _rotation(session, rotation_id)
    if data.name is not None:
        _name_free(session, data.name, rotation.id)
    desk_ids = _member_ids(session, data.members) if data.members is not None else None
    with watching_gaps(session, caller, now):
        for field in ("name", "description", "shift_length", "time_zone", "starts_at"):
            value = getattr(data, field)
            if value is not None:
                setattr(rotation, field, value)
        if data.kind is not None:
            rotation.kind = data.kind.value
        if desk_ids is not None:
            _set_members(session, rotation.id, desk_ids)
        changed(
            session,
            caller,
            action="rota.rotation.update",
            operation=Operation.ALTERATION,
            subject_type="rota_rotation",
            subject_id=rotation.id,
            detail={"changed": sorted(k for k in data.model_fields_set)},
        )
    return rotation_read(session, rotation)


def delete_rotation(
    session: Session, caller: Caller, rotation_id: uuid.UUID, *, now: datetime | None = None
) -> None:
    """Removes the rotation with its members and rules."""
    require_manage(caller)
    rotation = _rotation(session, rotation_id)
    with watching_gaps(session, caller, now):
        for rule in session.scalars(select(RotaRule).where(RotaRule.rotation_id == rotation.id)):
            session.delete(rule)
        _set_members(session, rotation.id, [])
        session.delete(rotation)
        changed(
            session,
            caller,
            action="rota.rotation.delete",
            operation=Operation.ERASURE,
            subject_type="rota_rotation",
            subject_id=rotation_id,
            detail={"name": rotation.name},
        )


# --- rules ------------------------------------------------------------------------------------


def rule_reads(
    session: Session, rules: list[RotaRule], *, now: datetime | None = None
) -> list[RuleRead]:
    """The rules as read, each with its warnings (`service.outside_reliable_hours`)."""
    codes = codes_of(session, {r.desk_id for r in rules if r.desk_id})
    warnings = outside_reliable_hours(session, [r.id for r in rules], now=now)
    names = dict(session.execute(select(Rotation.id, Rotation.name)).all())
    return [
        RuleRead(
            id=r.id,
            desk=codes.get(r.desk_id) if r.desk_id else None,
            rotation=names.get(r.rotation_id) if r.rotation_id else None,
            weekdays=list(r.weekdays),
            start=r.start,
            end=r.end,
            time_zone=r.time_zone,
            label=r.label,
            warnings=warnings.get(r.id, []),
        )
        for r in rules
    ]


def list_rules(session: Session, caller: Caller) -> list[RuleRead]:
    require_read(caller)
    rules = session.scalars(select(RotaRule).order_by(RotaRule.created_at))
    return rule_reads(session, list(rules))


def add_rule(
    session: Session, caller: Caller, data: RuleCreate, *, now: datetime | None = None
) -> RuleRead:
    """On the chosen weekdays, from start to end on the rule's clock, the desk or rotation
    holds the duty. A rule that can never give anyone the duty is refused."""
    require_manage(caller)
    desk: DutyDesk | None = None
    rotation: Rotation | None = None
    if data.desk is not None:
        desk = desk_by_code(session, data.desk, "desk")
        zone = data.time_zone or desk.time_zone
    else:
        assert data.rotation is not None
        rotation = session.scalar(select(Rotation).where(Rotation.name == data.rotation))
        if rotation is None:
            raise Invalid("rotation", f'no rotation is called "{data.rotation}"')
        if not _members(session, rotation.id):
            raise Invalid("rotation", "has no members: a rule on it never gives anyone the duty")
        zone = data.time_zone or rotation.time_zone
    with watching_gaps(session, caller, now):
        rule = RotaRule(
            id=uuid.uuid4(),
            desk_id=desk.id if desk else None,
            rotation_id=rotation.id if rotation else None,
            weekdays=list(data.weekdays),
            start=data.start,
            end=data.end,
            time_zone=zone,
            label=data.label,
        )
        session.add(rule)
        changed(
            session,
            caller,
            action="rota.rule.add",
            operation=Operation.COLLECTION,
            subject_type="rota_rule",
            subject_id=rule.id,
            detail={
                "desk": data.desk,
                "rotation": data.rotation,
                "weekdays": list(data.weekdays),
                "start": data.start,
                "end": data.end,
                "time_zone": zone,
            },
        )
    session.flush()
    return rule_reads(session, [rule], now=now)[0]


def update_rule(
    session: Session,
    caller: Caller,
    rule_id: uuid.UUID,
    data: RuleUpdate,
    *,
    now: datetime | None = None,
) -> RuleRead:
    require_manage(caller)
    rule = session.get(RotaRule, rule_id)
    if rule is None:
        raise NotFound("rule")
    start = data.start or rule.start
    end = data.end or rule.end
    if start == end:
        raise Invalid("end", "must differ from start (a zero-length window never matches)")
    with watching_gaps(session, caller, now):
        if data.weekdays is not None:
            rule.weekdays = list(data.weekdays)
        rule.start, rule.end = start, end
        if data.time_zone is not None:
            rule.time_zone = data.time_zone
        if data.label is not None:
            rule.label = data.label
        changed(
            session,
            caller,
            action="rota.rule.update",
            operation=Operation.ALTERATION,
            subject_type="rota_rule",
            subject_id=rule.id,
            detail={"changed": sorted(data.model_fields_set)},
        )
    session.flush()
    return rule_reads(session, [rule], now=now)[0]


def delete_rule(
    session: Session, caller: Caller, rule_id: uuid.UUID, *, now: datetime | None = None
) -> None:
    require_manage(caller)
    rule = session.get(RotaRule, rule_id)
    if rule is None:
        raise NotFound("rule")
    with watching_gaps(session, caller, now):
        session.delete(rule)
        changed(
            session,
            caller,
            action="rota.rule.delete",
            operation=Operation.ERASURE,
            subject_type="rota_rule",
            subject_id=rule_id,
        )


# --- overrides --------------------------------------------------------------------------------


def override_reads(session: Session, rows: list[RotaOverride]) -> list[OverrideRead]:
    ids = {i for o in rows for i in (o.add_desk_id, o.remove_desk_id) if i}
    codes = codes_of(session, ids)
    return [
        OverrideRead(
            id=o.id,
            starts_at=o.starts_at,
            ends_at=o.ends_at,
            add=codes.get(o.add_desk_id) if o.add_desk_id else None,
            remove=codes.get(o.remove_desk_id) if o.remove_desk_id else None,
            reason=o.reason,
            created_by=o.created_by,
            created_at=o.created_at,
        )
        for o in rows
    ]


def list_overrides(
    session: Session, caller: Caller, *, since: datetime | None = None
) -> list[OverrideRead]:
    """Overrides ending after `since` (all if None), by start."""
    require_read(caller)
    query = select(RotaOverride).order_by(RotaOverride.starts_at)
    if since is not None:
        query = query.where(RotaOverride.ends_at > since)
    return override_reads(session, list(session.scalars(query)))


def add_override(
    session: Session, caller: Caller, data: OverrideCreate, *, now: datetime | None = None
) -> OverrideRead:
    """Add, remove or replace a desk for a window. Removing a desk that is not on duty at
    any moment of the window is refused: it would change nothing."""
    require_manage(caller)
    add = desk_by_code(session, data.add, "add") if data.add else None
    remove = desk_by_code(session, data.remove, "remove") if data.remove else None
    if remove is not None:
        on_duty = [
            s
            for s in engine.shifts(
                load(session, start=data.starts_at, end=data.ends_at),
                data.starts_at,
                data.ends_at,
            )
            if s.desk_id == remove.id
        ]
        if not on_duty:
            raise Invalid(
                "remove",
                f"the desk is not on duty between {_utc(data.starts_at)} and {_utc(data.ends_at)}",
            )
    with watching_gaps(session, caller, now):
        row = RotaOverride(
            id=uuid.uuid4(),
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            add_desk_id=add.id if add else None,
            remove_desk_id=remove.id if remove else None,
            reason=data.reason.strip(),
            created_by=caller.label[:320],
            **({"created_at": now} if now else {}),
        )
        session.add(row)
        changed(
            session,
            caller,
            action="rota.override.add",
            operation=Operation.COLLECTION,
            subject_type="rota_override",
            subject_id=row.id,
            detail={
                "add": data.add,
                "remove": data.remove,
                "starts_at": data.starts_at.isoformat(),
                "ends_at": data.ends_at.isoformat(),
            },
        )
    session.flush()
    return override_reads(session, [row])[0]


def delete_override(
    session: Session, caller: Caller, override_id: uuid.UUID, *, now: datetime | None = None
) -> None:
    require_manage(caller)
    row = session.get(RotaOverride, override_id)
    if row is None:
        raise NotFound("override")
    with watching_gaps(session, caller, now):
        session.delete(row)
        changed(
            session,
            caller,
            action="rota.override.delete",
            operation=Operation.ERASURE,
            subject_type="rota_override",
            subject_id=override_id,
        )


# --- temporary schedules ----------------------------------------------------------------------


def temporary_read(session: Session, schedule: TemporarySchedule) -> TemporaryRead:
    rows = list(
        session.scalars(
            select(TemporaryShift)
            .where(TemporaryShift.schedule_id == schedule.id)
            .order_by(TemporaryShift.starts_at)
        )
    )
    codes = codes_of(session, {s.desk_id for s in rows})
    return TemporaryRead(
        id=schedule.id,
        name=schedule.name,
        starts_at=schedule.starts_at,
        ends_at=schedule.ends_at,
        shifts=[
            FixedShiftRead(desk=codes[s.desk_id], starts_at=s.starts_at, ends_at=s.ends_at)
            for s in rows
        ],
        created_by=schedule.created_by,
    )


def list_temporary(
    session: Session, caller: Caller, *, since: datetime | None = None
) -> list[TemporaryRead]:
    require_read(caller)
    query = select(TemporarySchedule).order_by(TemporarySchedule.starts_at)
    if since is not None:
        query = query.where(TemporarySchedule.ends_at > since)
    return [temporary_read(session, t) for t in session.scalars(query)]


def _check_temporary(session: Session, data: TemporaryCreate) -> list[uuid.UUID]:
    """The desk of each fixed shift; refuses shifts outside the window, one desk's shifts
    overlapping, and a schedule overlapping another."""
    other = session.scalar(
        select(TemporarySchedule)
        .where(
            TemporarySchedule.starts_at < data.ends_at,
            TemporarySchedule.ends_at > data.starts_at,
        )
        .limit(1)
    )
    if other is not None:
        raise Invalid(
            "starts_at",
            f'overlaps the temporary schedule "{other.name}" from {_utc(other.starts_at)} '
            f"to {_utc(other.ends_at)}",
        )
    desks = [desk_by_code(session, s.desk, f"shifts[{i}].desk") for i, s in enumerate(data.shifts)]
    for i, shift in enumerate(data.shifts):
        if shift.starts_at < data.starts_at or shift.ends_at > data.ends_at:
            raise Invalid(
                f"shifts[{i}]",
                f"must lie within the schedule, {_utc(data.starts_at)} to {_utc(data.ends_at)}",
            )
        for j in range(i):
            earlier = data.shifts[j]
            if (
                desks[j].id == desks[i].id
                and earlier.starts_at < shift.ends_at
                and shift.starts_at < earlier.ends_at
            ):
                raise Invalid(f"shifts[{i}]", f"overlaps shifts[{j}] of the same desk")
    return [d.id for d in desks]


def add_temporary(
    session: Session, caller: Caller, data: TemporaryCreate, *, now: datetime | None = None
) -> TemporaryRead:
    """For its window its shifts replace every rule (an operation's own cover)."""
    require_manage(caller)
    desk_ids = _check_temporary(session, data)
    with watching_gaps(session, caller, now):
        schedule = TemporarySchedule(
            id=uuid.uuid4(),
            name=data.name,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            created_by=caller.label[:320],
            **({"created_at": now} if now else {}),
        )
        session.add(schedule)
        session.flush()
        for desk_id, shift in zip(desk_ids, data.shifts, strict=True):
            session.add(
                TemporaryShift(
                    schedule_id=schedule.id,
                    desk_id=desk_id,
                    starts_at=shift.starts_at,
                    ends_at=shift.ends_at,
                )
            )
        changed(
            session,
            caller,
            action="rota.temporary.add",
            operation=Operation.COLLECTION,
            subject_type="rota_temporary_schedule",
            subject_id=schedule.id,
            detail={"name": data.name, "shifts": len(data.shifts)},
        )
    session.flush()
    return temporary_read(session, schedule)


def delete_temporary(
    session: Session, caller: Caller, schedule_id: uuid.UUID, *, now: datetime | None = None
) -> None:
    require_manage(caller)
    schedule = session.get(TemporarySchedule, schedule_id)
    if schedule is None:
        raise NotFound("temporary schedule")
    with watching_gaps(session, caller, now):
        for shift in session.scalars(
            select(TemporaryShift).where(TemporaryShift.schedule_id == schedule.id)
        ):
            session.delete(shift)
        session.delete(schedule)
        changed(
            session,
            caller,
            action="rota.temporary.delete",
            operation=Operation.ERASURE,
            subject_type="rota_temporary_schedule",
            subject_id=schedule_id,
            detail={"name": schedule.name},
        )
