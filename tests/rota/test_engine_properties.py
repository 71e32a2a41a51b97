"""Property tests of the rota engine: on random small rotas, in zones that change their clocks,
over windows around those changes, the interval engine agrees with the minute-by-minute
reference, a desk's shifts never overlap, and back-to-back rules never leave a gap."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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

# Zones and the country whose holidays their desks keep. Santiago changes its clocks at
# midnight; Sydney and Auckland in the other direction; Tokyo never.
ZONES = {
    "Europe/Amsterdam": "NL",
    "America/New_York": "US",
    "Australia/Sydney": "AU",
    "America/Santiago": "CL",
    "Pacific/Auckland": "NZ",
    "Europe/London": "GB",
    "Asia/Tokyo": "JP",
}
YEAR = 2027


def _transitions() -> list[tuple[str, datetime]]:
    """Every (zone, instant) in 2027 at which one of ZONES changes its offset (to the hour)."""
    out = []
    for key in ZONES:
        z = zone(key)
        hour = datetime(YEAR, 1, 1, tzinfo=UTC)
        before = hour.astimezone(z).utcoffset()
        while hour.year == YEAR:
            hour += timedelta(hours=1)
            now = hour.astimezone(z).utcoffset()
            if now != before:
                out.append((key, hour))
            before = now
    return sorted(out)


CHANGES = _transitions()
TRANSITIONS = sorted({at for _, at in CHANGES})
# Around New Year, King's Day, Independence Day and Christmas the desks' holidays show.
HOLIDAYS = [datetime(YEAR, m, d, tzinfo=UTC) for m, d in [(1, 1), (4, 27), (7, 4), (12, 25)]]
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

zones = st.sampled_from(sorted(ZONES))
clocks = st.builds(time, st.integers(0, 23), st.sampled_from([0, 0, 15, 30, 45, 59]))


@st.composite
def windows(draw: st.DrawFn) -> tuple[datetime, datetime]:
    """A minute-aligned window of up to three days around a clock change or a holiday."""
    change = draw(st.sampled_from(TRANSITIONS + HOLIDAYS))
    start = change - timedelta(minutes=draw(st.integers(0, 36 * 60)))
    return start, start + timedelta(minutes=draw(st.integers(60, 72 * 60)))


@st.composite
def rotas(draw: st.DrawFn, start: datetime, end: datetime) -> Rota:
    def instant() -> datetime:  # minute-aligned, in or around the window
        span = int((end - start).total_seconds() // 60)
        return start + timedelta(minutes=draw(st.integers(-120, span + 120)))

    def window() -> tuple[datetime, datetime]:
        lo = instant()
        return lo, lo + timedelta(minutes=draw(st.integers(1, 36 * 60)))

    desks = []
    for n in range(draw(st.integers(1, 4))):
        key = draw(zones)
        desks.append(
            Desk(
                uuid.uuid4(),
                f"D{n}",
                key,
                ZONES[key],
                None,
                frozenset(draw(st.sets(st.sampled_from(["en", "es"])))),
                frozenset(draw(st.sets(st.sampled_from(["preservation", "technical_advice"])))),
                draw(st.booleans()),
            )
        )
    ids = [d.id for d in desks]
    rotations = []
    for n in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(engine.KINDS))
        starts_at = instant() - timedelta(days=draw(st.sampled_from([0, 1, 9, 40])))
        members = tuple(draw(st.lists(st.sampled_from(ids), min_size=1, max_size=3)))
        length = draw(st.integers(1, 3))
        rotations.append(
            Rotation(uuid.uuid4(), f"R{n}", kind, length, draw(zones), starts_at, members)
        )
    rules = []
    for _ in range(draw(st.integers(0, 5))):
        target = draw(st.sampled_from(desks + rotations))
        is_desk = isinstance(target, Desk)
        rules.append(
            Rule(
                uuid.uuid4(),
                target.id if is_desk else None,
                None if is_desk else target.id,
                frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
                draw(clocks),
                draw(st.one_of(st.none(), clocks)),
                draw(zones),
            )
        )
    overrides = []
    for _ in range(draw(st.integers(0, 3))):
        lo, hi = window()
        add, remove = draw(
            st.sampled_from(ids).flatmap(
                lambda a: st.sampled_from([(a, None), (None, a)] + [(a, b) for b in ids])
            )
        )
        overrides.append(Override(uuid.uuid4(), lo, hi, add, remove))
    temporary = []
    for n in range(draw(st.integers(0, 1))):
        lo, hi = window()
        fixed = []
        for _ in range(draw(st.integers(0, 2))):
            f_lo, f_hi = window()
            fixed.append(FixedShift(draw(st.sampled_from(ids)), f_lo, f_hi))
        temporary.append(Temporary(uuid.uuid4(), f"T{n}", lo, hi, tuple(fixed)))
    unavailable = []
    for _ in range(draw(st.integers(0, 2))):
        lo, hi = window()
        unavailable.append(Unavailable(draw(st.sampled_from(ids)), lo, hi, "leave"))
    requirements = [Requirement(uuid.uuid4(), "Any", None, None)]
    if draw(st.booleans()):
        requirements.append(Requirement(uuid.uuid4(), "Preservation", "preservation", "es"))
    return Rota(
        tuple(desks),
        tuple(rotations),
        tuple(rules),
        tuple(overrides),
        tuple(temporary),
        tuple(unavailable),
        tuple(requirements),
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[Rota, datetime, datetime]:
    start, end = draw(windows())
    return draw(rotas(start, end)), start, end


@SETTINGS
@given(cases())
def test_gaps_agree_with_the_minute_scan(case: tuple[Rota, datetime, datetime]) -> None:
    rota, start, end = case
    assert engine.gaps(rota, start, end) == engine.minute_scan_gaps(rota, start, end)


@SETTINGS
@given(cases(), st.data())
def test_on_duty_agrees_with_the_definitions(
    case: tuple[Rota, datetime, datetime], data: st.DataObject
) -> None:
    rota, start, end = case
    span = int((end - start).total_seconds() // 60)
    reference = engine._Scan(rota)
    for _ in range(5):
        at = start + timedelta(minutes=data.draw(st.integers(0, span - 1)))
        on = engine.on_duty(rota, at)
        assert {s.desk_id for s in on} == reference.on_duty(at)
        assert all(s.starts_at <= at < s.ends_at for s in on)


@SETTINGS
@given(cases())
def test_a_desks_shifts_never_overlap(case: tuple[Rota, datetime, datetime]) -> None:
    rota, start, end = case
    found = engine.shifts(rota, start, end)
    assert [s.starts_at for s in found] == sorted(s.starts_at for s in found)
    for desk in rota.desks:
        own = [s for s in found if s.desk_id == desk.id]
        assert all(start <= s.starts_at < s.ends_at <= end for s in own)
        assert all(a.ends_at <= b.starts_at for a, b in pairwise(own))


@settings(max_examples=150, deadline=None)
@given(zones, clocks, clocks, st.sampled_from(TRANSITIONS), st.integers(0, 48 * 60))
def test_back_to_back_rules_never_leave_a_gap_across_dst(
    key: str, first: time, second: time, change: datetime, before: int
) -> None:
    """Two desks handing over at `first` and `second` on every day cover every instant,
    once each, whatever the clocks do."""
    if first == second:
        return
    a = Desk(uuid.uuid4(), "A", key, ZONES[key], None, frozenset(), frozenset(), False)
    b = Desk(uuid.uuid4(), "B", key, ZONES[key], None, frozenset(), frozenset(), False)
    every = frozenset(range(7))
    rules = (
        Rule(uuid.uuid4(), a.id, None, every, first, second, key),
        Rule(uuid.uuid4(), b.id, None, every, second, first, key),
    )
    rota = Rota((a, b), (), rules, (), (), (), (Requirement(uuid.uuid4(), "Any", None, None),))
    start = change - timedelta(minutes=before)
    end = start + timedelta(days=3)
    assert engine.gaps(rota, start, end) == []
    held = sum((s.ends_at - s.starts_at for s in engine.shifts(rota, start, end)), timedelta())
    assert held == end - start  # no instant twice


def test_the_mapping_never_goes_backwards_through_a_change() -> None:
    """Every minute of the local days around each change maps to a later-or-equal instant."""
    assert len(CHANGES) == 12  # two a year in each zone but Tokyo
    for key, change in CHANGES:
        z = zone(key)
        day = change.astimezone(z).date() - timedelta(days=1)
        previous = None
        for minute in range(3 * 24 * 60):
            d = day + timedelta(days=minute // 1440)
            at = local_instant(d, time(minute % 1440 // 60, minute % 60), z)
            assert previous is None or at >= previous
            previous = at
        assert local_instant(day, None, z) == local_instant(day + timedelta(days=1), time(0), z)


@SETTINGS
@given(cases(), st.data())
def test_next_on_duty_is_the_first_arrival_minute_by_minute(
    case: tuple[Rota, datetime, datetime], data: st.DataObject
) -> None:
    """The first minute after `after` at which a desk not excluded is on duty and was not the
    minute before; the desk `next_on_duty` names is one of those arriving then."""
    rota, start, end = case
    ids = [d.id for d in rota.desks]
    exclude = frozenset(data.draw(st.sets(st.sampled_from(ids), max_size=len(ids) - 1)))
    after = start + timedelta(minutes=data.draw(st.integers(0, 24 * 60)))
    horizon = max(end - after, timedelta(minutes=1))
    found = engine.next_on_duty(rota, after, exclude=exclude, horizon=horizon)
    reference = engine._Scan(rota)
    before, m, arriving = reference.on_duty(after), after + timedelta(minutes=1), set()
    while m < after + horizon:
        now = reference.on_duty(m)
        arriving = (now - before) - exclude
        if arriving:
            break
        before, m = now, m + timedelta(minutes=1)
    if not arriving:
        assert found is None
    else:
        assert found is not None
        assert (found.starts_at, found.desk_id in arriving) == (m, True)


@SETTINGS
@given(cases(), st.data())
def test_covering_is_on_duty_with_the_capability(
    case: tuple[Rota, datetime, datetime], data: st.DataObject
) -> None:
    rota, start, end = case
    at = start + timedelta(
        minutes=data.draw(st.integers(0, (end - start) // timedelta(minutes=1) - 1))
    )
    power = data.draw(st.sampled_from([None, "preservation", "technical_advice"]))
    language = data.draw(st.sampled_from([None, "en", "es"]))
    able = {
        d.id
        for d in rota.desks
        if (power is None or power in d.powers) and (language is None or language in d.languages)
    }
    got = {s.desk_id for s in engine.covering(rota, at, power=power, language=language)}
    assert got == engine._Scan(rota).on_duty(at) & able
