"""The rota engine on hand-built rotas: each layer (rules, rotations, temporary schedules,
holidays, unavailability, overrides) and the DST mapping, checked against instants worked
out by hand. All dates are in 2027 (Monday 4 January; Europe/Amsterdam changes clocks on
Sundays 28 March and 31 October, America/New_York on 14 March and 7 November)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from taskforce.rota import engine
from taskforce.rota.engine import (
    Desk,
    FixedShift,
    Override,
    Requirement,
    Rota,
    Rotation,
    Rule,
    Temporary,
    Unavailable,
    local_instant,
    zone,
)

ALL_WEEK = frozenset(range(7))
ANY = Requirement(uuid.uuid4(), "Any desk on duty", None, None)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def desk(
    code: str,
    time_zone: str = "Europe/Amsterdam",
    country: str = "NL",
    *,
    subdivision: str | None = None,
    languages: tuple[str, ...] = ("en",),
    powers: tuple[str, ...] = ("preservation",),
    observes_holidays: bool = False,
) -> Desk:
    return Desk(
        uuid.uuid4(),
        code,
        time_zone,
        country,
        subdivision,
        frozenset(languages),
        frozenset(powers),
        observes_holidays,
    )


def rule(
    target: Desk | Rotation,
    start: str,
    end: str,
    *,
    weekdays: frozenset[int] = ALL_WEEK,
    time_zone: str | None = None,
) -> Rule:
    clock = [time.fromisoformat(start), None if end == "24:00" else time.fromisoformat(end)]
    is_desk = isinstance(target, Desk)
    return Rule(
        uuid.uuid4(),
        target.id if is_desk else None,
        None if is_desk else target.id,
        weekdays,
        clock[0],  # type: ignore[arg-type]
        clock[1],
        time_zone or target.time_zone,
    )


def rota(
    desks: list[Desk],
    rules: list[Rule],
    *,
    rotations: tuple[Rotation, ...] = (),
    overrides: tuple[Override, ...] = (),
    temporary: tuple[Temporary, ...] = (),
    unavailable: tuple[Unavailable, ...] = (),
    requirements: tuple[Requirement, ...] = (ANY,),
) -> Rota:
    return Rota(
        tuple(desks), rotations, tuple(rules), overrides, temporary, unavailable, requirements
    )


def spans(r: Rota, start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
    codes = {d.id: d.code for d in r.desks}
    return [(codes[s.desk_id], s.starts_at, s.ends_at) for s in engine.shifts(r, start, end)]


# --- local time → instant ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "day", "clock", "expected"),
    [
        # spring forward: the missing hour maps to the instant the clocks jump
        ("Europe/Amsterdam", date(2027, 3, 28), "02:30", utc(2027, 3, 28, 1)),
        ("Europe/Amsterdam", date(2027, 3, 28), "02:00", utc(2027, 3, 28, 1)),
        ("Europe/Amsterdam", date(2027, 3, 28), "03:00", utc(2027, 3, 28, 1)),
        ("Europe/Amsterdam", date(2027, 3, 28), "01:59", utc(2027, 3, 28, 0, 59)),
        ("America/New_York", date(2027, 3, 14), "02:30", utc(2027, 3, 14, 7)),
        # fall back: the repeated hour is its first occurrence
        ("Europe/Amsterdam", date(2027, 10, 31), "02:30", utc(2027, 10, 31, 0, 30)),
        ("Europe/Amsterdam", date(2027, 10, 31), "03:00", utc(2027, 10, 31, 2)),
        ("America/New_York", date(2027, 11, 7), "01:30", utc(2027, 11, 7, 5, 30)),
        ("America/New_York", date(2027, 11, 7), "02:00", utc(2027, 11, 7, 7)),
        # an ordinary day
        ("Asia/Tokyo", date(2027, 1, 4), "09:00", utc(2027, 1, 4, 0)),
    ],
)
def test_local_instant_maps_the_missing_and_repeated_hour(
    key: str, day: date, clock: str, expected: datetime
) -> None:
    assert local_instant(day, time.fromisoformat(clock), zone(key)) == expected


def test_24_00_is_the_next_days_midnight() -> None:
    z = zone("Europe/Amsterdam")
    assert local_instant(date(2027, 1, 4), None, z) == utc(2027, 1, 4, 23)
    # the day the clocks go back has 25 hours, the day they go forward 23
    autumn = local_instant(date(2027, 10, 31), None, z) - local_instant(
        date(2027, 10, 31), time(0), z
    )
    spring = local_instant(date(2027, 3, 28), None, z) - local_instant(
        date(2027, 3, 28), time(0), z
    )
    assert (autumn, spring) == (timedelta(hours=25), timedelta(hours=23))


# --- rules ------------------------------------------------------------------------------------


def test_a_rule_runs_past_midnight_from_the_weekday_it_starts_on() -> None:
    nl = desk("NL")
    night = rule(nl, "22:00", "06:00", weekdays=frozenset({0}))  # Monday nights
    r = rota([nl], [night])
    got = spans(r, utc(2027, 1, 3), utc(2027, 1, 12))
    assert got == [
        ("NL", utc(2027, 1, 4, 21), utc(2027, 1, 5, 5)),
        ("NL", utc(2027, 1, 11, 21), utc(2027, 1, 12)),  # clipped to the window asked for
    ]
    # a Sunday window reaching Monday still counts as Sunday's
    sunday = rule(nl, "20:00", "02:00", weekdays=frozenset({6}))
    assert spans(rota([nl], [sunday]), utc(2027, 1, 4), utc(2027, 1, 5)) == [
        ("NL", utc(2027, 1, 4), utc(2027, 1, 4, 1))
    ]


def test_24_00_ends_the_day_and_whole_days_join_into_one_shift() -> None:
    nl = desk("NL")
    evenings = rota([nl], [rule(nl, "18:00", "24:00")])
    assert spans(evenings, utc(2027, 1, 4), utc(2027, 1, 5)) == [
        ("NL", utc(2027, 1, 4, 17), utc(2027, 1, 4, 23))
    ]
    always = rota([nl], [rule(nl, "00:00", "24:00")])
    assert spans(always, utc(2027, 1, 4), utc(2027, 1, 9)) == [
        ("NL", utc(2027, 1, 4), utc(2027, 1, 9))
    ]


def test_a_rule_reads_its_own_zone_not_the_desks() -> None:
    nl = desk("NL")
    r = rota([nl], [rule(nl, "09:00", "17:00", time_zone="America/New_York")])
    assert spans(r, utc(2027, 1, 4), utc(2027, 1, 5)) == [
        ("NL", utc(2027, 1, 4, 14), utc(2027, 1, 4, 22))
    ]


@pytest.mark.parametrize(
    ("day", "key"),
    [
        (date(2027, 3, 28), "Europe/Amsterdam"),
        (date(2027, 10, 31), "Europe/Amsterdam"),
        (date(2027, 3, 14), "America/New_York"),
        (date(2027, 11, 7), "America/New_York"),
    ],
)
def test_back_to_back_rules_neither_overlap_nor_gap_across_dst(day: date, key: str) -> None:
    a, b = desk("A", key), desk("B", key)
    r = rota([a, b], [rule(a, "00:00", "02:30"), rule(b, "02:30", "24:00")])
    start = local_instant(day, time(0), zone(key))
    end = local_instant(day, None, zone(key))
    assert engine.gaps(r, start, end) == []
    got = spans(r, start, end)
    assert [g[0] for g in got] == ["A", "B"]
    assert got[0][2] == got[1][1]  # A hands over exactly when B starts


def test_a_window_inside_the_missing_hour_yields_nothing() -> None:
    nl = desk("NL")
    r = rota([nl], [rule(nl, "02:00", "02:30")])
    assert spans(r, utc(2027, 3, 27), utc(2027, 3, 29)) == [
        ("NL", utc(2027, 3, 27, 1), utc(2027, 3, 27, 1, 30))  # Saturday's; none on Sunday
    ]


# --- rotations --------------------------------------------------------------------------------


def rotation(
    kind: str, length: int, starts_at: datetime, *members: Desk, key: str = ""
) -> Rotation:
    return Rotation(
        uuid.uuid4(),
        f"{kind} rotation",
        kind,
        length,
        key or members[0].time_zone,
        starts_at,
        tuple(m.id for m in members),
    )


def holders(r: Rota, start: datetime, end: datetime) -> list[tuple[str, datetime]]:
    return [(code, lo) for code, lo, _ in spans(r, start, end)]


def test_an_hourly_rotation_counts_absolute_hours_across_dst() -> None:
    a, b = desk("A"), desk("B")
    rot = rotation("hourly", 8, utc(2027, 3, 27, 23), a, b)  # 00:00 local, Sunday 28 March
    r = rota([a, b], [rule(rot, "00:00", "24:00")], rotations=(rot,))
    got = holders(r, utc(2027, 3, 27, 15), utc(2027, 3, 28, 15))
    # handoff -1 (before starts_at) was B's; every 8 absolute hours even as clocks jump
    assert got == [
        ("B", utc(2027, 3, 27, 15)),
        ("A", utc(2027, 3, 27, 23)),
        ("B", utc(2027, 3, 28, 7)),
    ]


def test_a_daily_rotation_steps_the_local_calendar_so_a_day_has_23_hours() -> None:
    a, b, c = desk("A"), desk("B"), desk("C")
    rot = rotation("daily", 1, utc(2027, 3, 26, 8), a, b, c)  # 09:00 local, Friday
    r = rota([a, b, c], [rule(rot, "00:00", "24:00")], rotations=(rot,))
    got = holders(r, utc(2027, 3, 26, 8), utc(2027, 3, 30, 7))
    assert got == [
        ("A", utc(2027, 3, 26, 8)),
        ("B", utc(2027, 3, 27, 8)),
        ("C", utc(2027, 3, 28, 7)),  # 09:00 CEST: Saturday's shift was 23 hours
        ("A", utc(2027, 3, 29, 7)),
    ]


def test_weekly_and_monthly_rotations() -> None:
    a, b = desk("A"), desk("B")
    weekly = rotation("weekly", 2, utc(2027, 1, 4, 8), a, b)  # Mondays 09:00, fortnightly
    r = rota([a, b], [rule(weekly, "00:00", "24:00")], rotations=(weekly,))
    assert holders(r, utc(2027, 1, 4, 8), utc(2027, 2, 15, 8)) == [
        ("A", utc(2027, 1, 4, 8)),
        ("B", utc(2027, 1, 18, 8)),
        ("A", utc(2027, 2, 1, 8)),
    ]
    monthly = rotation("monthly", 1, utc(2027, 1, 31, 8), a, b)  # the 31st, clamped
    r = rota([a, b], [rule(monthly, "00:00", "24:00")], rotations=(monthly,))
    assert holders(r, utc(2027, 1, 31, 8), utc(2027, 4, 1)) == [
        ("A", utc(2027, 1, 31, 8)),
        ("B", utc(2027, 2, 28, 8)),
        ("A", utc(2027, 3, 31, 7)),  # 09:00 CEST, and back to the 31st
    ]


def test_a_rule_limits_when_a_rotation_holds_the_duty() -> None:
    a, b = desk("A"), desk("B")
    rot = rotation("daily", 1, utc(2027, 1, 4, 8), a, b)
    r = rota([a, b], [rule(rot, "08:00", "18:00", weekdays=frozenset({0, 1}))], rotations=(rot,))
    assert spans(r, utc(2027, 1, 4), utc(2027, 1, 6)) == [
        ("B", utc(2027, 1, 4, 7), utc(2027, 1, 4, 8)),  # Sunday's handoff still holds
        ("A", utc(2027, 1, 4, 8), utc(2027, 1, 4, 17)),
        ("A", utc(2027, 1, 5, 7), utc(2027, 1, 5, 8)),
        ("B", utc(2027, 1, 5, 8), utc(2027, 1, 5, 17)),
    ]


# --- temporary schedules, off duty, overrides -----------------------------------------------------


def test_a_temporary_schedule_replaces_every_rule_in_its_window() -> None:
    a, b = desk("A"), desk("B")
    op = Temporary(
        uuid.uuid4(),
        "Operation",
        utc(2027, 1, 4, 12),
        utc(2027, 1, 4, 18),
        (FixedShift(b.id, utc(2027, 1, 4, 10), utc(2027, 1, 4, 14)),),  # clipped to the window
    )
    r = rota([a, b], [rule(a, "00:00", "24:00")], temporary=(op,))
    assert spans(r, utc(2027, 1, 4), utc(2027, 1, 5)) == [
        ("A", utc(2027, 1, 4), utc(2027, 1, 4, 12)),
        ("B", utc(2027, 1, 4, 12), utc(2027, 1, 4, 14)),
        ("A", utc(2027, 1, 4, 18), utc(2027, 1, 5)),
    ]
    assert [(g.starts_at, g.ends_at) for g in engine.gaps(r, utc(2027, 1, 4), utc(2027, 1, 5))] == [
        (utc(2027, 1, 4, 14), utc(2027, 1, 4, 18))
    ]
    [temp] = [s for s in engine.shifts(r, utc(2027, 1, 4), utc(2027, 1, 5)) if s.desk_id == b.id]
    assert (temp.source, temp.source_id) == ("temporary", op.id)


def test_holidays_follow_the_desks_subdivision_as_whole_local_days() -> None:
    bavaria = desk("BY", "Europe/Berlin", "DE", subdivision="BY", observes_holidays=True)
    berlin = desk("BE", "Europe/Berlin", "DE", subdivision="BE", observes_holidays=True)
    relaxed = desk("XX", "Europe/Berlin", "DE", subdivision="BY", observes_holidays=False)
    desks = [bavaria, berlin, relaxed]
    r = rota(desks, [rule(d, "00:00", "24:00") for d in desks])
    epiphany = (utc(2027, 1, 5, 23), utc(2027, 1, 6, 23))  # 6 January, Berlin's clock
    got = spans(r, utc(2027, 1, 5), utc(2027, 1, 8))
    assert ("BY", utc(2027, 1, 5), epiphany[0]) in got
    assert ("BY", epiphany[1], utc(2027, 1, 8)) in got
    assert ("BE", utc(2027, 1, 5), utc(2027, 1, 8)) in got
    assert ("XX", utc(2027, 1, 5), utc(2027, 1, 8)) in got
    [off] = engine.off_duty(r, utc(2027, 1, 5), utc(2027, 1, 8))
    assert (off.desk_id, off.starts_at, off.ends_at) == (bavaria.id, *epiphany)
    assert off.reason == "public holiday: Epiphany"


def test_unavailability_takes_a_desk_off_even_a_temporary_shift() -> None:
    a = desk("A")
    sick = Unavailable(a.id, utc(2027, 1, 4, 10), utc(2027, 1, 4, 12), "training")
    op = Temporary(
        uuid.uuid4(), "Op", utc(2027, 1, 4, 9), utc(2027, 1, 4, 11),
        (FixedShift(a.id, utc(2027, 1, 4, 9), utc(2027, 1, 4, 11)),),
    )  # fmt: skip
    r = rota([a], [rule(a, "00:00", "24:00")], unavailable=(sick,), temporary=(op,))
    assert [(lo, hi) for _, lo, hi in spans(r, utc(2027, 1, 4), utc(2027, 1, 5))] == [
        (utc(2027, 1, 4), utc(2027, 1, 4, 9)),  # the rule's
        (utc(2027, 1, 4, 9), utc(2027, 1, 4, 10)),  # the schedule's
        (utc(2027, 1, 4, 12), utc(2027, 1, 5)),
    ]
    [off] = engine.off_duty(r, utc(2027, 1, 4), utc(2027, 1, 5))
    assert off.reason == "unavailable: training"


def test_overrides_add_remove_and_replace() -> None:
    a, b, c = desk("A"), desk("B"), desk("C")
    rules = [rule(a, "08:00", "16:00"), rule(b, "16:00", "24:00")]
    add = Override(uuid.uuid4(), utc(2027, 1, 4, 0), utc(2027, 1, 4, 2), c.id, None)
    remove = Override(uuid.uuid4(), utc(2027, 1, 4, 15), utc(2027, 1, 4, 18), None, b.id)
    # the replacement window runs past A's shift: C only takes the hours A would have had
    swap = Override(uuid.uuid4(), utc(2027, 1, 4, 12), utc(2027, 1, 4, 20), c.id, a.id)
    r = rota([a, b, c], rules, overrides=(add, remove, swap))
    assert spans(r, utc(2027, 1, 4), utc(2027, 1, 5)) == [
        ("C", utc(2027, 1, 4, 0), utc(2027, 1, 4, 2)),
        ("A", utc(2027, 1, 4, 7), utc(2027, 1, 4, 12)),
        ("C", utc(2027, 1, 4, 12), utc(2027, 1, 4, 15)),
        ("B", utc(2027, 1, 4, 18), utc(2027, 1, 4, 23)),
    ]
    shifts = engine.shifts(r, utc(2027, 1, 4), utc(2027, 1, 5))
    assert [(s.source, s.source_id) for s in shifts if s.desk_id == c.id] == [
        ("override", add.id),
        ("override", swap.id),
    ]


def test_an_added_desk_is_on_duty_even_on_its_holiday() -> None:
    nl = desk("NL", observes_holidays=True)
    kings_day = Override(uuid.uuid4(), utc(2027, 4, 27, 8), utc(2027, 4, 27, 10), nl.id, None)
    r = rota([nl], [rule(nl, "00:00", "24:00")], overrides=(kings_day,))
    assert spans(r, utc(2027, 4, 26, 22), utc(2027, 4, 27, 22)) == [
        ("NL", utc(2027, 4, 27, 8), utc(2027, 4, 27, 10))
    ]


# --- the questions ----------------------------------------------------------------------------


def follow_the_sun() -> tuple[Rota, Desk, Desk, Desk]:
    au = desk("AU", "Australia/Sydney", "AU", subdivision="NSW", languages=("en",))
    es = desk("ES", "Europe/Madrid", "ES", languages=("es", "en"))
    us = desk("US", "America/New_York", "US", powers=("technical_advice",))
    rules = [rule(au, "08:00", "16:00"), rule(es, "08:00", "16:00"), rule(us, "08:00", "16:00")]
    spanish = Requirement(uuid.uuid4(), "Preservation in Spanish", "preservation", "es")
    return rota([au, es, us], rules, requirements=(ANY, spanish)), au, es, us


def test_who_is_on_duty_and_for_which_capability() -> None:
    r, _, es, us = follow_the_sun()
    at = utc(2027, 1, 12, 14, 30)  # 15:30 Madrid, 09:30 New York
    assert {s.desk_id for s in engine.on_duty(r, at)} == {es.id, us.id}
    [shift] = engine.covering(r, at, power="preservation", language="es")
    assert (shift.desk_id, shift.starts_at, shift.ends_at) == (
        es.id,
        utc(2027, 1, 12, 7),
        utc(2027, 1, 12, 15),
    )
    assert [s.desk_id for s in engine.covering(r, at, power="technical_advice")] == [us.id]
    assert engine.covering(r, at, language="fr") == []


def test_next_on_duty_skips_the_desks_already_tried() -> None:
    r, au, es, us = follow_the_sun()
    after = utc(2027, 1, 12, 16)  # US on duty until 21:00
    nxt = engine.next_on_duty(r, after)
    assert nxt is not None
    assert (nxt.desk_id, nxt.starts_at) == (au.id, utc(2027, 1, 12, 21))
    nxt = engine.next_on_duty(r, after, exclude=frozenset({au.id}))
    assert nxt is not None
    assert (nxt.desk_id, nxt.starts_at) == (es.id, utc(2027, 1, 13, 7))
    assert engine.next_on_duty(r, after, exclude=frozenset({au.id, es.id, us.id})) is None


def test_gaps_per_requirement_agree_with_the_minute_scan() -> None:
    r, *_ = follow_the_sun()
    start, end = utc(2027, 1, 12), utc(2027, 1, 14)
    found = engine.gaps(r, start, end)
    spanish = r.requirements[1].id
    # Madrid's 08:00-16:00 (07:00-15:00 UTC) is the only Spanish cover
    assert [(g.starts_at, g.ends_at) for g in found if g.requirement_id == spanish] == [
        (utc(2027, 1, 12), utc(2027, 1, 12, 7)),
        (utc(2027, 1, 12, 15), utc(2027, 1, 13, 7)),
        (utc(2027, 1, 13, 15), utc(2027, 1, 14)),
    ]
    # Sydney's 08:00-16:00 ends at 05:00 UTC, two hours before Madrid's begins
    assert [(g.starts_at, g.ends_at) for g in found if g.requirement_id == ANY.id] == [
        (utc(2027, 1, 12, 5), utc(2027, 1, 12, 7)),
        (utc(2027, 1, 13, 5), utc(2027, 1, 13, 7)),
    ]
    assert found == engine.minute_scan_gaps(r, start, end)


def test_a_requirement_nobody_can_meet_is_one_gap_and_inactive_desks_never_serve() -> None:
    r, au, *_ = follow_the_sun()
    french = Requirement(uuid.uuid4(), "French", None, "fr")
    gone = replace(r, desks=r.desks[1:], requirements=(french,))
    start, end = utc(2027, 1, 12), utc(2027, 1, 13)
    assert [(g.starts_at, g.ends_at) for g in engine.gaps(gone, start, end)] == [(start, end)]
    assert au.id not in {s.desk_id for s in engine.shifts(gone, start, end)}


def test_naive_datetimes_are_refused() -> None:
    r, *_ = follow_the_sun()
    with pytest.raises(ValueError, match="timezone-aware"):
        engine.on_duty(r, datetime(2027, 1, 5, 12))  # noqa: DTZ001


def test_a_continued_shift_is_no_arrival_and_an_add_outweighs_a_remove() -> None:
    a, b = desk("A"), desk("B")
    # A's rule ends at 16:00 UTC, an override keeps A on until 18:00: A does not "arrive"
    late = Override(uuid.uuid4(), utc(2027, 1, 4, 16), utc(2027, 1, 4, 18), a.id, None)
    # an add and a remove of B over the same hour: B is there (the coordinator asked for it)
    both = (
        Override(uuid.uuid4(), utc(2027, 1, 4, 20), utc(2027, 1, 4, 21), b.id, None),
        Override(uuid.uuid4(), utc(2027, 1, 4, 20), utc(2027, 1, 4, 21), None, b.id),
    )
    r = rota([a, b], [rule(a, "08:00", "17:00")], overrides=(late, *both))
    nxt = engine.next_on_duty(r, utc(2027, 1, 4, 12))
    assert nxt is not None
    assert (nxt.desk_id, nxt.starts_at, nxt.ends_at) == (
        b.id,
        utc(2027, 1, 4, 20),
        utc(2027, 1, 4, 21),
    )
    assert spans(r, utc(2027, 1, 4), utc(2027, 1, 5)) == [
        ("A", utc(2027, 1, 4, 7), utc(2027, 1, 4, 16)),
        ("A", utc(2027, 1, 4, 16), utc(2027, 1, 4, 18)),
        ("B", utc(2027, 1, 4, 20), utc(2027, 1, 4, 21)),
    ]


def test_zero_length_rules_unknown_countries_and_long_shifts() -> None:
    nowhere = desk("XX", country="XX", observes_holidays=True)  # `holidays` knows no XX
    r = rota([nowhere], [rule(nowhere, "09:00", "09:00"), rule(nowhere, "00:00", "24:00")])
    assert engine.off_duty(r, utc(2027, 1, 1), utc(2027, 12, 31)) == []
    # a desk on duty around the clock: on duty reports its shift a day either side
    [shift] = engine.on_duty(r, utc(2027, 1, 4, 12))
    assert (shift.starts_at, shift.ends_at) == (utc(2027, 1, 3, 12), utc(2027, 1, 5, 12))
    only_zero = rota([nowhere], [rule(nowhere, "09:00", "09:00")])
    assert engine.shifts(only_zero, utc(2027, 1, 4), utc(2027, 1, 11)) == []


def test_a_rotation_counted_from_the_second_0230_keeps_that_instant() -> None:
    """Handoff 0 is `starts_at` itself, even in the repeated hour; the next day's handoff is
    02:30 on that day's clock."""
    a, b = desk("A"), desk("B")
    second = utc(2027, 10, 31, 1, 30)  # 02:30 CET, after the clocks went back
    rot = rotation("daily", 1, second, a, b)
    r = rota([a, b], [rule(rot, "00:00", "24:00")], rotations=(rot,))
    assert holders(r, utc(2027, 10, 31, 1), utc(2027, 11, 2)) == [
        ("B", utc(2027, 10, 31, 1)),
        ("A", second),
        ("B", utc(2027, 11, 1, 1, 30)),
    ]
    yearly = replace(rot, kind="yearly")  # the service refuses it; the engine does not guess
    with pytest.raises(ValueError, match="kind"):
        engine.shifts(
            rota([a, b], [rule(yearly, "00:00", "24:00")], rotations=(yearly,)),
            utc(2027, 1, 4),
            utc(2027, 1, 5),
        )


def test_answers_are_in_utc_whatever_zone_the_rota_carries() -> None:
    a = desk("A")
    amsterdam = zone("Europe/Amsterdam")
    lo, hi = datetime(2027, 1, 4, 9, tzinfo=amsterdam), datetime(2027, 1, 4, 11, tzinfo=amsterdam)
    r = rota([a], [], overrides=(Override(uuid.uuid4(), lo, hi, a.id, None),))
    [shift] = engine.shifts(r, utc(2027, 1, 4), utc(2027, 1, 5))
    assert (shift.starts_at, shift.ends_at) == (utc(2027, 1, 4, 8), utc(2027, 1, 4, 10))
    assert shift.starts_at.tzinfo is UTC
    naive = rota(
        [a], [], overrides=(Override(uuid.uuid4(), lo.replace(tzinfo=None), hi, a.id, None),)
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        engine.shifts(naive, utc(2027, 1, 4), utc(2027, 1, 5))
