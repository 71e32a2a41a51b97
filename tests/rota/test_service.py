"""The rota service: who is on duty, gaps, what is refused (field and rule named, nothing
half-saved), and who may change what (another agency's desk is 404)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from rota_builders import EVERY_DAY, NOW, RotaNet
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.core.audit.models import AuditEntry
from taskforce.core.errors import Forbidden, Invalid, NotFound
from taskforce.rota import directory, schedule, service
from taskforce.rota.models import (
    DeskUnavailability,
    RotaOverride,
    RotaRule,
    Rotation,
    TemporarySchedule,
)
from taskforce.rota.schemas import (
    ANY_DESK,
    DeskSet,
    DutyShiftRead,
    FixedShiftIn,
    OverrideCreate,
    Power,
    ReliableHours,
    RequirementCreate,
    RotationCreate,
    RotationKind,
    RuleCreate,
    TemporaryCreate,
    UnavailabilityCreate,
)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def codes(shifts: list[DutyShiftRead]) -> list[str]:
    return [s.agency for s in shifts]


def count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


# --- who is on duty ---------------------------------------------------------------------------


def test_the_sun_is_followed_desk_by_desk(session: Session, net: RotaNet) -> None:
    caller = net.gb.caller
    assert codes(service.on_duty(session, caller, at=at(8, 10))) == ["GB-NCA"]
    assert codes(service.on_duty(session, caller, at=at(8, 14))) == ["NL-NP"]
    assert codes(service.on_duty(session, caller, at=at(8, 3))) == ["US-HSI"]
    [night] = service.on_duty(session, caller, at=at(8, 3))
    assert (night.starts_at, night.ends_at) == (at(7, 22), at(8, 6))  # 17:00-01:00 New York
    assert night.contact_phone == "+12025550123"
    assert night.source == "rule"

    spanish = service.on_duty(session, caller, at=at(8, 3), language="es")
    assert codes(spanish) == ["US-HSI"]
    assert service.on_duty(session, caller, at=at(8, 10), language="es") == []
    assert service.on_duty(session, caller, at=at(8, 3), power=Power.PRESERVATION) == []
    assert codes(service.on_duty(session, caller, at=at(8, 20), power=Power.PRESERVATION)) == [
        "NL-NP"
    ]


def test_gaps_of_a_capability_and_the_any_desk_requirement(session: Session, net: RotaNet) -> None:
    found = service.gaps(session, net.gb.caller, days=30, now=NOW)
    assert found == []  # "Any desk on duty": always someone
    assert [r.name for r in service.list_requirements(session, net.gb.caller)] == [ANY_DESK]

    service.add_requirement(
        session,
        net.coord.caller,
        RequirementCreate(name="Preservation", power=Power.PRESERVATION),
        now=NOW,
    )
    found = service.gaps(session, net.gb.caller, days=3, now=NOW)
    # the first night started before NOW; then 22:00-06:00 UTC every night
    assert [(g.starts_at, g.ends_at) for g in found] == [
        (at(7, 0), at(7, 6)),
        (at(7, 22), at(8, 6)),
        (at(8, 22), at(9, 6)),
        (at(9, 22), at(10, 0)),
    ]
    assert {g.requirement for g in found} == {"Preservation"}
    with pytest.raises(Invalid) as refused:
        service.gaps(session, net.gb.caller, days=0, now=NOW)
    assert refused.value.field == "days"


def test_rotation_overrides_and_temporary_schedule(session: Session, net: RotaNet) -> None:
    coord = net.coord.caller
    rotation = schedule.add_rotation(
        session,
        coord,
        RotationCreate(
            name="Weekend",
            kind=RotationKind.WEEKLY,
            time_zone="Europe/London",
            starts_at=at(5, 0),  # Saturday
            members=["GB-NCA", "NL-NP"],
        ),
        now=NOW,
    )
    assert rotation.members == ["GB-NCA", "NL-NP"]
    schedule.add_rule(
        session,
        coord,
        RuleCreate(rotation="Weekend", weekdays=[5, 6], start="00:00", end="24:00"),
        now=NOW,
    )
    # Saturday 12 Dec is handoff 1: NL-NP, all day, beside GB's own rule
    on = service.on_duty(session, net.gb.caller, at=at(12, 3))
    assert sorted(codes(on)) == ["NL-NP", "US-HSI"]
    assert {s.source for s in on if s.agency == "NL-NP"} == {"rotation"}

    # replace US-HSI by GB-NCA for one night
    override = schedule.add_override(
        session,
        coord,
        OverrideCreate(
            starts_at=at(8, 22), ends_at=at(9, 6), add="GB-NCA", remove="US-HSI", reason="sick"
        ),
        now=NOW,
    )
    assert (override.add, override.remove) == ("GB-NCA", "US-HSI")
    assert codes(service.on_duty(session, net.gb.caller, at=at(9, 2))) == ["GB-NCA"]
    assert [o.id for o in schedule.list_overrides(session, net.gb.caller, since=NOW)] == [
        override.id
    ]

    # an operation's own cover for one day replaces every rule
    temporary = schedule.add_temporary(
        session,
        coord,
        TemporaryCreate(
            name="Operation Heron",
            starts_at=at(15, 0),
            ends_at=at(16, 0),
            shifts=[FixedShiftIn(desk="NL-NP", starts_at=at(15, 0), ends_at=at(16, 0))],
        ),
        now=NOW,
    )
    assert [s.desk for s in temporary.shifts] == ["NL-NP"]
    assert codes(service.on_duty(session, net.gb.caller, at=at(15, 10))) == ["NL-NP"]
    assert codes(service.on_duty(session, net.gb.caller, at=at(16, 10))) == ["GB-NCA"]

    schedule.delete_override(session, coord, override.id, now=NOW)
    assert codes(service.on_duty(session, net.gb.caller, at=at(9, 2))) == ["US-HSI"]


def test_long_windows_reaching_into_the_question_count(session: Session, net: RotaNet) -> None:
    """The rota is read for the days around a question only; what began long before and
    still runs is part of them."""
    schedule.add_override(
        session,
        net.coord.caller,
        OverrideCreate(starts_at=at(1, 0), ends_at=at(28, 0), add="NL-NP", reason="operation"),
        now=NOW,
    )
    directory.add_unavailability(
        session,
        net.coord.caller,
        net.desks["US-HSI"].id,
        UnavailabilityCreate(starts_at=at(2, 0), ends_at=at(27, 0), reason="move"),
        now=NOW,
    )
    assert codes(service.on_duty(session, net.gb.caller, at=at(20, 3))) == ["NL-NP"]
    assert service.gaps(session, net.gb.caller, days=7, now=at(18, 0)) == []


def test_unavailability_takes_a_desk_off_duty(session: Session, net: RotaNet) -> None:
    us_desk = net.desks["US-HSI"].id
    added = directory.add_unavailability(
        session,
        net.us.caller,
        us_desk,
        UnavailabilityCreate(starts_at=at(8, 0), ends_at=at(8, 4), reason="power cut"),
        now=NOW,
    )
    assert added.desk == "US-HSI"
    assert service.on_duty(session, net.gb.caller, at=at(8, 2)) == []
    assert codes(service.on_duty(session, net.gb.caller, at=at(8, 5))) == ["US-HSI"]
    listed = directory.list_unavailability(session, net.gb.caller, us_desk)
    assert [u.reason for u in listed] == ["power cut"]


def test_public_holidays_of_the_desks_country(session: Session, net: RotaNet) -> None:
    directory.set_desk(
        session, net.coord.caller, "GB-NCA", DeskSet(observes_holidays=True, subdivision="ENG")
    )
    assert service.on_duty(session, net.gb.caller, at=at(25, 10)) == []  # Christmas Day
    assert codes(service.on_duty(session, net.gb.caller, at=at(24, 10))) == ["GB-NCA"]


def test_a_rule_outside_the_desks_reliable_hours_is_a_warning(
    session: Session, net: RotaNet
) -> None:
    hours = ReliableHours(weekdays=[0, 1, 2, 3, 4], start="06:00", end="14:00")
    directory.set_desk(session, net.gb.caller, "GB-NCA", DeskSet(reliable_hours=[hours]))
    saturday = schedule.add_rule(
        session,
        net.coord.caller,
        RuleCreate(desk="GB-NCA", weekdays=[5], start="16:00", end="18:00"),
        now=NOW,
    )
    assert saturday.warnings == [
        "GB-NCA is on duty outside its reliable hours, e.g. Sat 12 Dec 16:00-18:00 Europe/London"
    ]
    weekday = schedule.add_rule(
        session,
        net.coord.caller,
        RuleCreate(desk="GB-NCA", weekdays=[0], start="07:00", end="08:00"),
        now=NOW,
    )
    assert weekday.warnings == []
    # NL-NP declared no reliable hours: never warned of
    assert [
        r.warnings for r in schedule.list_rules(session, net.gb.caller) if r.desk == "NL-NP"
    ] == [[]]


# --- refusals ---------------------------------------------------------------------------------


def _first(exc: ValidationError) -> tuple[str, str]:
    error = exc.errors()[0]
    return ".".join(str(p) for p in error["loc"]), str(error["msg"])


@pytest.mark.parametrize(
    ("data", "field", "rule"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "must be an IANA time zone"),
        ({"start": "25:00"}, "start", 'must be a clock time "HH:MM"'),
        ({"end": "24:30"}, "end", 'must be a clock time "HH:MM"'),
        ({"start": "08:00", "end": "08:00"}, "end", "must differ from start"),
        ({"weekdays": []}, "weekdays", "at least one weekday"),
        ({"weekdays": [7]}, "weekdays", "weekdays are 0 (Monday) to 6 (Sunday)"),
        ({"desk": None}, "rotation", "name either a desk or a rotation"),
        ({"rotation": "Nights"}, "rotation", "name either a desk or a rotation"),
    ],
)
def test_a_bad_rule_names_the_field_and_the_rule(
    data: dict[str, object], field: str, rule: str
) -> None:
    base: dict[str, object] = {
        "desk": "GB-NCA",
        "weekdays": [0],
        "start": "08:00",
        "end": "16:00",
    }
    with pytest.raises(ValidationError) as refused:
        RuleCreate.model_validate({**base, **data})
    loc, msg = _first(refused.value)
    assert loc == field
    assert rule in msg


def test_bad_desk_settings_are_refused(session: Session, net: RotaNet) -> None:
    with pytest.raises(ValidationError) as refused:
        DeskSet.model_validate({"languages": ["en", "xx"]})
    assert _first(refused.value) == (
        "languages.1",
        "must be an ISO 639-1 language code like en or es",
    )
    with pytest.raises(Invalid) as invalid:
        directory.set_desk(session, net.coord.caller, "GB-NCA", DeskSet(subdivision="BY"))
    assert invalid.value.field == "subdivision"
    assert "ENG" in invalid.value.rule
    assert directory.get_desk(session, net.gb.caller, net.desks["GB-NCA"].id).subdivision is None


def test_schedule_refusals_save_nothing(session: Session, net: RotaNet) -> None:
    coord = net.coord.caller
    before = {m: count(session, m) for m in (RotaRule, RotaOverride, Rotation, TemporarySchedule)}
    refusals: list[tuple[object, str, str]] = []

    def refused(call: object, field: str, rule: str) -> None:
        refusals.append((call, field, rule))

    with pytest.raises(Invalid) as e:
        schedule.add_rule(
            session, coord, RuleCreate(desk="FR-NONE", weekdays=[0], start="08:00", end="09:00")
        )
    assert (e.value.field, "no 24/7 desk") == ("desk", "no 24/7 desk")
    with pytest.raises(Invalid) as e:
        schedule.add_rule(
            session, coord, RuleCreate(rotation="Nope", weekdays=[0], start="08:00", end="09:00")
        )
    assert e.value.field == "rotation"
    # US-HSI is not on duty at noon UTC: removing it would change nothing
    with pytest.raises(Invalid) as e:
        schedule.add_override(
            session,
            coord,
            OverrideCreate(starts_at=at(8, 12), ends_at=at(8, 13), remove="US-HSI"),
        )
    assert e.value.field == "remove"
    assert e.value.rule == (
        "the desk is not on duty between 2026-12-08 12:00 UTC and 2026-12-08 13:00 UTC"
    )
    with pytest.raises(Invalid) as e:
        schedule.add_temporary(
            session,
            coord,
            TemporaryCreate(
                name="Op",
                starts_at=at(15, 0),
                ends_at=at(16, 0),
                shifts=[FixedShiftIn(desk="NL-NP", starts_at=at(14, 20), ends_at=at(15, 8))],
            ),
        )
    assert e.value.field == "shifts[0]"
    assert "within the schedule" in e.value.rule
    with pytest.raises(Invalid) as e:
        schedule.add_temporary(
            session,
            coord,
            TemporaryCreate(
                name="Op",
                starts_at=at(15, 0),
                ends_at=at(16, 0),
                shifts=[
                    FixedShiftIn(desk="NL-NP", starts_at=at(15, 0), ends_at=at(15, 12)),
                    FixedShiftIn(desk="GB-NCA", starts_at=at(15, 0), ends_at=at(16, 0)),
                    FixedShiftIn(desk="NL-NP", starts_at=at(15, 11), ends_at=at(16, 0)),
                ],
            ),
        )
    assert (e.value.field, e.value.rule) == ("shifts[2]", "overlaps shifts[0] of the same desk")
    with pytest.raises(Invalid) as e:
        schedule.add_rotation(
            session,
            coord,
            RotationCreate(
                name="R",
                kind=RotationKind.DAILY,
                time_zone="UTC",
                starts_at=NOW,
                members=["GB-NCA", "XX-NONE"],
            ),
        )
    assert e.value.field == "members[1]"
    with pytest.raises(ValidationError) as v:
        RotationCreate.model_validate(
            {"name": "R", "kind": "daily", "time_zone": "UTC", "starts_at": NOW, "members": []}
        )
    assert _first(v.value)[0] == "members"
    with pytest.raises(ValidationError) as v:
        OverrideCreate.model_validate({"starts_at": "2026-12-08T10:00:00", "ends_at": at(8, 11)})
    assert _first(v.value)[0] == "starts_at"
    after = {m: count(session, m) for m in before}
    assert after == before


def test_overlapping_temporary_schedules_are_refused(session: Session, net: RotaNet) -> None:
    data = TemporaryCreate(name="A", starts_at=at(15, 0), ends_at=at(16, 0), shifts=[])
    schedule.add_temporary(session, net.coord.caller, data, now=NOW)
    with pytest.raises(Invalid) as e:
        schedule.add_temporary(
            session,
            net.coord.caller,
            TemporaryCreate(name="B", starts_at=at(15, 23), ends_at=at(17, 0), shifts=[]),
        )
    assert e.value.field == "starts_at"
    assert '"A"' in e.value.rule


# --- access -----------------------------------------------------------------------------------


def test_a_desk_keeps_its_own_capabilities_and_no_one_elses(session: Session, net: RotaNet) -> None:
    mine = directory.set_desk(session, net.gb.caller, "GB-NCA", DeskSet(languages=["en", "fr"]))
    assert mine.languages == ["en", "fr"]
    with pytest.raises(NotFound):
        directory.set_desk(session, net.gb.caller, "NL-NP", DeskSet(languages=["en"]))
    with pytest.raises(Forbidden):
        directory.set_desk(session, net.gb.caller, "GB-NCA", DeskSet(time_zone="Europe/Paris"))
    with pytest.raises(NotFound):
        directory.add_unavailability(
            session,
            net.gb.caller,
            net.desks["NL-NP"].id,
            UnavailabilityCreate(starts_at=at(8, 0), ends_at=at(8, 4)),
        )
    with pytest.raises(NotFound):
        directory.add_unavailability(
            session,
            net.gb.caller,
            uuid.uuid4(),
            UnavailabilityCreate(starts_at=at(8, 0), ends_at=at(8, 4)),
        )
    mine_off = directory.add_unavailability(
        session,
        net.gb.caller,
        net.desks["GB-NCA"].id,
        UnavailabilityCreate(starts_at=at(8, 0), ends_at=at(8, 4)),
        now=NOW,
    )
    with pytest.raises(NotFound):
        directory.delete_unavailability(session, net.nl.caller, mine_off.id)
    directory.delete_unavailability(session, net.gb.caller, mine_off.id, now=NOW)
    assert count(session, DeskUnavailability) == 0

    with pytest.raises(Forbidden):
        schedule.add_rule(
            session,
            net.gb.caller,
            RuleCreate(desk="GB-NCA", weekdays=EVERY_DAY, start="14:00", end="15:00"),
        )
    with pytest.raises(Forbidden):
        service.on_duty(session, net.gb_analyst.caller, at=NOW)
    with pytest.raises(Forbidden):
        service.delete_requirement(session, net.gb.caller, uuid.uuid4())


def test_every_change_is_audited(session: Session, net: RotaNet) -> None:
    schedule.add_override(
        session,
        net.coord.caller,
        OverrideCreate(starts_at=at(8, 22), ends_at=at(9, 2), add="NL-NP"),
        now=NOW,
    )
    actions = set(
        session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("rota.%")))
    )
    assert {"rota.desk.create", "rota.rule.add", "rota.override.add"} <= actions


def test_the_any_desk_requirement_stays(session: Session, net: RotaNet) -> None:
    [any_desk] = service.list_requirements(session, net.coord.caller)
    with pytest.raises(Invalid) as e:
        service.delete_requirement(session, net.coord.caller, any_desk.id)
    assert e.value.field == "requirement"
    with pytest.raises(Invalid):
        service.add_requirement(session, net.coord.caller, RequirementCreate(name="Again"))


def test_shifts_over_a_window(session: Session, net: RotaNet) -> None:
    found = service.shifts(session, net.gb.caller, start=at(8, 0), end=at(9, 0))
    assert codes(found) == ["US-HSI", "GB-NCA", "NL-NP", "US-HSI"]
    with pytest.raises(Invalid) as e:
        service.shifts(session, net.gb.caller, start=at(8, 0), end=at(8, 0) + timedelta(days=100))
    assert e.value.field == "end"
