"""The rota engine: who holds the network's duty when, computed from the rota as written.

Pure (no database): the service loads a `Rota` and asks. Every instant's answer depends on
that instant's facts only, so any window can be computed on its own and clipped; nothing is
stored. The layers, in the order they apply (GoAlert's model, plus holidays):

1. **Rules** give a desk, or a rotation, the duty on chosen weekdays from `start` to `end` on
   a zone's clock. A **rotation** passes its duty to the next member at each handoff.
2. A **temporary schedule** replaces every rule for its window with fixed shifts.
3. **Off duty** — a desk's public holidays (whole local days) and its unavailability — is
   removed from what 1 and 2 give it: a desk cannot hold a duty it said it cannot hold.
4. **Overrides** come last because they are the coordinator's explicit decisions: `add` puts
   a desk on duty (even on its holiday), `remove` takes it off, `replace` does both wherever
   the removed desk would be on duty after step 3. Overrides do not chain (a replace looks at
   step 3, never at another override), so their order never matters; where an add and a
   remove of one desk overlap, the add wins — the coordinator asked for someone to be there.

A desk not in `Rota.desks` (inactive) never holds the duty. All datetimes are aware UTC.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from taskforce.rota.clocks import (
    MIDNIGHT,
    ONE_DAY,
    add_months,
    dates_around,
    holiday_table,
    local_instant,
    window,
    zone,
)
from taskforce.rota.intervals import Piece, cut, intersect, normalise, union

__all__ = [
    "Desk", "FixedShift", "Gap", "Handoffs", "OffDuty", "Override", "Requirement", "Rota",
    "Rotation", "Rule", "Shift", "Temporary", "Unavailable", "covering", "gaps",
    "holiday_table", "local_instant", "minute_scan_gaps", "next_on_duty", "off_duty", "on_duty",
    "rule_window", "shifts", "zone",
]  # fmt: skip

ONE_MINUTE = timedelta(minutes=1)
KINDS = ("hourly", "daily", "weekly", "monthly")
# Which label a desk's time carries where two sources overlap (an override shows as such).
RULE, ROTATION, TEMPORARY, OVERRIDE = 0, 1, 2, 3
# `on_duty` expands this much either side of T: the whole shift around T, cheaply.
AROUND = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Desk:
    id: uuid.UUID
    code: str
    time_zone: str
    country: str
    subdivision: str | None
    languages: frozenset[str]
    powers: frozenset[str]
    observes_holidays: bool


@dataclass(frozen=True, slots=True)
class Rotation:
    id: uuid.UUID
    name: str
    kind: str  # hourly | daily | weekly | monthly
    shift_length: int
    time_zone: str
    starts_at: datetime  # handoff 0
    members: tuple[uuid.UUID, ...]  # desk ids in order


@dataclass(frozen=True, slots=True)
class Rule:
    id: uuid.UUID
    desk_id: uuid.UUID | None
    rotation_id: uuid.UUID | None
    weekdays: frozenset[int]  # 0 Monday … 6 Sunday: the weekday the window starts on
    start: time
    end: time | None  # None = 24:00; before `start`: runs into the next day
    time_zone: str


@dataclass(frozen=True, slots=True)
class Override:
    id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    add_desk_id: uuid.UUID | None
    remove_desk_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class FixedShift:
    desk_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Temporary:
    id: uuid.UUID
    name: str
    starts_at: datetime
    ends_at: datetime
    shifts: tuple[FixedShift, ...]


@dataclass(frozen=True, slots=True)
class Unavailable:
    desk_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Requirement:
    id: uuid.UUID
    name: str
    power: str | None  # None: any
    language: str | None  # None: any


@dataclass(frozen=True, slots=True)
class Rota:
    desks: tuple[Desk, ...]
    rotations: tuple[Rotation, ...]
    rules: tuple[Rule, ...]
    overrides: tuple[Override, ...]
    temporary: tuple[Temporary, ...]
    unavailable: tuple[Unavailable, ...]
    requirements: tuple[Requirement, ...]


@dataclass(frozen=True, slots=True)
class Shift:
    desk_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    source: str  # "rule" | "rotation" | "temporary" | "override"
    source_id: uuid.UUID | None  # the rule's, rotation's, schedule's or override's id


@dataclass(frozen=True, slots=True)
class OffDuty:
    desk_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    reason: str  # "public holiday: Christmas Day" | "unavailable: <reason>"


@dataclass(frozen=True, slots=True)
class Gap:
    requirement_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime


# --- clocks ---------------------------------------------------------------------------------


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC)


def rule_window(rule: Rule, day: date) -> tuple[datetime, datetime] | None:
    """The instants of `rule`'s window that starts on `day` (its weekday is not checked);
    None when it maps to nothing (start == end, or wholly inside a missing hour)."""
    return window(day, rule.start, rule.end, rule.time_zone)


class Handoffs:
    """A rotation's handoff instants: handoff k (any integer) gives the duty to member
    k mod n. Hourly steps are absolute hours; days, weeks and months are steps of the local
    calendar in the rotation's zone, at the wall time of `starts_at` (a day is 23 or 25 hours
    across a DST change, as the desks' own clocks see it). Each handoff is computed from
    `starts_at`, never from the previous one, so a clamped month does not drift."""

    __slots__ = ("_clock", "_day", "_nominal", "_z", "rotation")

    def __init__(self, rotation: Rotation) -> None:
        if rotation.kind not in KINDS:
            raise ValueError(f"rotation kind must be one of {', '.join(KINDS)}")
        if rotation.shift_length < 1:
            raise ValueError("rotation shift_length must be at least 1")
        self.rotation = rotation
        self._z = zone(rotation.time_zone)
        local = rotation.starts_at.astimezone(self._z)
        self._day = local.date()
        self._clock = local.time()
        hours = {"hourly": 1, "daily": 24, "weekly": 168, "monthly": 730.485}[rotation.kind]
        self._nominal = timedelta(hours=hours * rotation.shift_length)

    def at(self, k: int) -> datetime:
        rot = self.rotation
        if k == 0:
            return rot.starts_at
        steps = k * rot.shift_length
        if rot.kind == "hourly":
            return rot.starts_at + timedelta(hours=steps)
        if rot.kind == "monthly":
            day = add_months(self._day, steps)
        else:
            day = self._day + timedelta(days=steps * (7 if rot.kind == "weekly" else 1))
        return local_instant(day, self._clock, self._z)

    def index(self, moment: datetime) -> int:
        """The handoff in force at `moment`: the largest k with at(k) <= moment."""
        k = (moment - self.rotation.starts_at) // self._nominal
        while self.at(k) > moment:
            k -= 1
        while self.at(k + 1) <= moment:
            k += 1
        return k


# --- holidays -------------------------------------------------------------------------------


def holiday_name(desk: Desk, day: date) -> str | None:
    if not desk.observes_holidays:
        return None
    return holiday_table(desk.country, desk.subdivision, day.year).get(day)


def _holidays(desk: Desk, start: datetime, end: datetime) -> list[tuple[datetime, datetime, str]]:
    if not desk.observes_holidays:
        return []
    z = zone(desk.time_zone)
    out = []
    year, table = 0, {}
    for day in dates_around(start, end):
        if day.year != year:
            year, table = day.year, holiday_table(desk.country, desk.subdivision, day.year)
        name = table.get(day)
        if name is not None:
            lo, hi = local_instant(day, MIDNIGHT, z), local_instant(day, None, z)
            if lo < end and hi > start:
                out.append((lo, hi, name))
    return out


# --- the layers -----------------------------------------------------------------------------


def _rule_windows(rule: Rule, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """`rule`'s windows within [start, end), clipped (`dates_around` gives every day whose
    window can reach it: one starting on day d ends by local midnight of d+2)."""
    out = []
    for day in dates_around(start, end):
        if day.weekday() in rule.weekdays:
            span = window(day, rule.start, rule.end, rule.time_zone)
            if span is not None and span[1] > start and span[0] < end:
                out.append((max(span[0], start), min(span[1], end)))
    return out


def _rotation_pieces(
    handoffs: Handoffs, windows: list[tuple[datetime, datetime]]
) -> Iterable[tuple[uuid.UUID, Piece]]:
    """(desk, piece) for each stretch of a rotation rule's windows, split at its handoffs."""
    members = handoffs.rotation.members
    for lo, hi in windows:
        k = handoffs.index(lo)
        at = handoffs.at(k)
        while at < hi:
            nxt = handoffs.at(k + 1)
            piece = (max(at, lo), min(nxt, hi), ROTATION, "rotation", handoffs.rotation.id)
            yield members[k % len(members)], piece
            k, at = k + 1, nxt


class _Index:
    """What every question about one `Rota` needs first, kept while the same object is asked
    again (a page asks several questions of one loaded rota)."""

    __slots__ = ("codes", "desk_rules", "desks", "rota", "rotation_rules")

    def __init__(self, rota: Rota) -> None:
        self.rota = rota = _as_utc(rota)
        self.desks = {d.id: d for d in rota.desks}
        self.codes = {d.id: d.code for d in rota.desks}
        rotations = {r.id: Handoffs(r) for r in rota.rotations if r.members}
        self.desk_rules = [
            r for r in rota.rules if r.rotation_id is None and r.desk_id in self.desks
        ]
        self.rotation_rules = [
            (r, rotations[r.rotation_id]) for r in rota.rules if r.rotation_id in rotations
        ]


def _as_utc(rota: Rota) -> Rota:
    """`rota` with every instant in UTC: an object built by a caller may carry another zone
    (or none, refused), and the answers are UTC whatever it carried."""
    spans: list[Override | Temporary | Unavailable | FixedShift] = [
        *rota.overrides,
        *rota.temporary,
        *rota.unavailable,
        *(f for t in rota.temporary for f in t.shifts),
    ]
    instants = [r.starts_at for r in rota.rotations]
    instants += [moment for x in spans for moment in (x.starts_at, x.ends_at)]
    if all(moment.tzinfo is UTC for moment in instants):
        return rota

    def u(moment: datetime) -> datetime:
        return _utc(moment, "every instant of the rota")

    return replace(
        rota,
        rotations=tuple(replace(r, starts_at=u(r.starts_at)) for r in rota.rotations),
        overrides=tuple(
            replace(o, starts_at=u(o.starts_at), ends_at=u(o.ends_at)) for o in rota.overrides
        ),
        temporary=tuple(
            replace(
                t,
                starts_at=u(t.starts_at),
                ends_at=u(t.ends_at),
                shifts=tuple(
                    replace(f, starts_at=u(f.starts_at), ends_at=u(f.ends_at)) for f in t.shifts
                ),
            )
            for t in rota.temporary
        ),
        unavailable=tuple(
            replace(x, starts_at=u(x.starts_at), ends_at=u(x.ends_at)) for x in rota.unavailable
        ),
    )


_INDEXES: dict[int, tuple[Rota, _Index]] = {}


def _index(rota: Rota) -> _Index:
    kept = _INDEXES.get(id(rota))
    if kept is not None and kept[0] is rota:
        return kept[1]
    if len(_INDEXES) >= 8:
        _INDEXES.clear()
    index = _Index(rota)
    _INDEXES[id(rota)] = (rota, index)  # holds the rota, so its id is not reused meanwhile
    return index


def _duty(rota: Rota, start: datetime, end: datetime) -> dict[uuid.UUID, list[Piece]]:
    """Every known desk's final duty in [start, end), pieces normalised and clipped."""
    index = _index(rota)
    desks, rota = index.desks, index.rota
    base: dict[uuid.UUID, list[Piece]] = defaultdict(list)
    # 1. rules, and the rotations they point at
    for rule in index.desk_rules:
        windows = _rule_windows(rule, start, end)
        if windows:
            base[rule.desk_id].extend((lo, hi, RULE, "rule", rule.id) for lo, hi in windows)  # type: ignore[index]
    for rule, handoffs in index.rotation_rules:
        for desk_id, piece in _rotation_pieces(handoffs, _rule_windows(rule, start, end)):
            if desk_id in desks:
                base[desk_id].append(piece)
    # 2. temporary schedules replace the rules in their windows
    temporary = [t for t in rota.temporary if t.starts_at < end and t.ends_at > start]
    if temporary:
        windows = union((t.starts_at, t.ends_at) for t in temporary)
        for desk_id in list(base):
            base[desk_id] = cut(base[desk_id], windows)
        for t in temporary:
            lo_t, hi_t = max(t.starts_at, start), min(t.ends_at, end)
            for fixed in t.shifts:
                lo, hi = max(fixed.starts_at, lo_t), min(fixed.ends_at, hi_t)
                if lo < hi and fixed.desk_id in desks:
                    base[fixed.desk_id].append((lo, hi, TEMPORARY, "temporary", t.id))
    # 3. off duty: holidays and unavailability
    away: dict[uuid.UUID, list[tuple[datetime, datetime]]] = defaultdict(list)
    for u in rota.unavailable:
        if u.desk_id in base and u.starts_at < end and u.ends_at > start:
            away[u.desk_id].append((u.starts_at, u.ends_at))
    for desk_id in list(base):
        holes = away[desk_id] + [h[:2] for h in _holidays(desks[desk_id], start, end)]
        if holes:
            base[desk_id] = cut(sorted(base[desk_id]), union(holes))
    # 4. overrides, against step 3 only
    overrides = [o for o in rota.overrides if o.starts_at < end and o.ends_at > start]
    if overrides:
        on = {desk_id: union(p[:2] for p in pieces) for desk_id, pieces in base.items()}
        removed: dict[uuid.UUID, list[tuple[datetime, datetime]]] = defaultdict(list)
        added: dict[uuid.UUID, list[Piece]] = defaultdict(list)
        for o in overrides:
            lo, hi = max(o.starts_at, start), min(o.ends_at, end)
            if o.remove_desk_id is not None:
                removed[o.remove_desk_id].append((lo, hi))
            if o.add_desk_id is None or o.add_desk_id not in desks:
                continue
            spans = [(lo, hi)]
            if o.remove_desk_id is not None:
                spans = intersect(on.get(o.remove_desk_id, []), lo, hi)
            added[o.add_desk_id].extend((a, b, OVERRIDE, "override", o.id) for a, b in spans)
        for desk_id, spans in removed.items():
            if desk_id in base:
                base[desk_id] = cut(sorted(base[desk_id]), union(spans))
        for desk_id, pieces in added.items():
            base[desk_id].extend(pieces)
    return {desk_id: normalise(pieces) for desk_id, pieces in base.items() if pieces}


def _order(rota: Rota) -> dict[uuid.UUID, str]:
    return _index(rota).codes


def shifts(rota: Rota, start: datetime, end: datetime) -> list[Shift]:
    """The final on-duty intervals of every desk in [start, end), clipped to it, sorted by
    (starts_at, desk code). A desk's shifts never overlap; touching time from one source
    (one rule, rotation, schedule or override) is one shift."""
    start, end = _utc(start, "start"), _utc(end, "end")
    if start >= end:
        return []
    return _shifts(rota, _duty(rota, start, end), None)


def _shifts(rota: Rota, duty: dict[uuid.UUID, list[Piece]], at: datetime | None) -> list[Shift]:
    """`duty` as sorted Shifts; only those covering `at` if given."""
    codes = _order(rota)
    out = [
        Shift(desk_id, lo, hi, source, sid)
        for desk_id, pieces in duty.items()
        for lo, hi, _, source, sid in pieces
        if at is None or lo <= at < hi
    ]
    out.sort(key=lambda s: (s.starts_at, codes.get(s.desk_id, ""), str(s.desk_id)))
    return out


def off_duty(rota: Rota, start: datetime, end: datetime) -> list[OffDuty]:
    """Every desk's holidays (if it observes them) and unavailability in [start, end),
    clipped, sorted by (starts_at, desk code): what step 3 removes, with the reason."""
    start, end = _utc(start, "start"), _utc(end, "end")
    rota = _index(rota).rota
    out = [
        OffDuty(u.desk_id, max(u.starts_at, start), min(u.ends_at, end), _unavailable(u.reason))
        for u in rota.unavailable
        if u.starts_at < end and u.ends_at > start
    ]
    for desk in rota.desks:
        for lo, hi, name in _holidays(desk, start, end):
            out.append(OffDuty(desk.id, max(lo, start), min(hi, end), f"public holiday: {name}"))
    codes = _order(rota)
    out.sort(key=lambda o: (o.starts_at, codes.get(o.desk_id, ""), str(o.desk_id), o.reason))
    return out


def _unavailable(reason: str) -> str:
    return f"unavailable: {reason}" if reason else "unavailable"


def on_duty(rota: Rota, at: datetime) -> list[Shift]:
    """The shifts covering `at`, each as long as it runs within a day either side."""
    at = _utc(at, "at")
    return _shifts(rota, _duty(rota, at - AROUND, at + AROUND), at)


def _can(desk: Desk, power: str | None, language: str | None) -> bool:
    return (power is None or power in desk.powers) and (
        language is None or language in desk.languages
    )


def covering(
    rota: Rota, at: datetime, *, power: str | None = None, language: str | None = None
) -> list[Shift]:
    """The shifts covering `at` of desks that have `power` and work in `language`."""
    desks = _index(rota).desks
    return [s for s in on_duty(rota, at) if _can(desks[s.desk_id], power, language)]


def next_on_duty(
    rota: Rota,
    after: datetime,
    *,
    exclude: frozenset[uuid.UUID] = frozenset(),
    horizon: timedelta = timedelta(days=7),
) -> Shift | None:
    """The first shift, starting after `after` and within `horizon`, of a desk not in
    `exclude` that comes on duty then (a shift continuing one that just ended is no
    arrival): where an unanswered lead goes next."""
    after = _utc(after, "after")
    last_end: dict[uuid.UUID, datetime] = {}
    for shift in shifts(rota, after, after + horizon):
        arrives = last_end.get(shift.desk_id) != shift.starts_at
        last_end[shift.desk_id] = shift.ends_at
        if shift.starts_at > after and arrives and shift.desk_id not in exclude:
            return shift
    return None


def gaps(rota: Rota, start: datetime, end: datetime) -> list[Gap]:
    """Every maximal interval in [start, end) in which a requirement does not hold (no desk
    on duty has its power and language), sorted by (starts_at, requirement order)."""
    start, end = _utc(start, "start"), _utc(end, "end")
    if start >= end:
        return []
    duty = _duty(rota, start, end)
    out: list[tuple[datetime, int, Gap]] = []
    for position, req in enumerate(rota.requirements):
        cover = union(
            p[:2]
            for desk in rota.desks
            if _can(desk, req.power, req.language)
            for p in duty.get(desk.id, ())
        )
        cursor = start
        for lo, hi in cover:
            if lo > cursor:
                out.append((cursor, position, Gap(req.id, cursor, lo)))
            cursor = max(cursor, hi)
        if cursor < end:
            out.append((cursor, position, Gap(req.id, cursor, end)))
    out.sort(key=lambda g: g[:2])
    return [g for _, _, g in out]


# --- the naive reference ---------------------------------------------------------------------


class _Scan:
    """Decides, for one instant, who is on duty — straight from the definitions in the module
    docstring, with none of the interval arithmetic above. Slow on purpose: it is what the
    tests and the benchmark hold `gaps` to. (It remembers only each rotation's last handoff,
    walking on from there, and each zone's date for the minute asked.)"""

    def __init__(self, rota: Rota) -> None:
        self.rota = rota
        self.desks = {d.id: d for d in rota.desks}
        self.rotations = {r.id: Handoffs(r) for r in rota.rotations if r.members}
        self.last: dict[uuid.UUID, int] = {}
        self.dates: tuple[datetime, dict[str, date]] = (datetime.min.replace(tzinfo=UTC), {})

    def _today(self, key: str, m: datetime) -> date:
        if self.dates[0] != m:
            self.dates = (m, {})
        today = self.dates[1].get(key)
        if today is None:
            today = self.dates[1][key] = m.astimezone(zone(key)).date()
        return today

    def _rule_holder(self, rule: Rule, m: datetime) -> uuid.UUID | None:
        # A window of day d starts at or after d's local midnight and ends by d+2's, so only
        # the windows of today and yesterday (local) can hold m.
        today = self._today(rule.time_zone, m)
        for day in (today - ONE_DAY, today):
            if day.weekday() not in rule.weekdays:
                continue
            span = rule_window(rule, day)
            if span is None or not span[0] <= m < span[1]:
                continue
            if rule.rotation_id is None:
                return rule.desk_id
            handoffs = self.rotations.get(rule.rotation_id)
            if handoffs is None:
                return None
            k = self.last.get(rule.rotation_id, 0)  # walk handoff by handoff from the last
            while handoffs.at(k) > m:
                k -= 1
            while handoffs.at(k + 1) <= m:
                k += 1
            self.last[rule.rotation_id] = k
            members = handoffs.rotation.members
            return members[k % len(members)]
        return None

    def _off(self, desk: Desk, m: datetime) -> bool:
        if any(
            u.desk_id == desk.id and u.starts_at <= m < u.ends_at for u in self.rota.unavailable
        ):
            return True
        today = self._today(desk.time_zone, m)
        z = zone(desk.time_zone)
        for day in (today - ONE_DAY, today):
            name = holiday_name(desk, day)
            if name and local_instant(day, MIDNIGHT, z) <= m < local_instant(day, None, z):
                return True
        return False

    def on_duty(self, m: datetime) -> set[uuid.UUID]:
        temporary = [t for t in self.rota.temporary if t.starts_at <= m < t.ends_at]
        base: set[uuid.UUID] = set()
        if temporary:
            base = {f.desk_id for t in temporary for f in t.shifts if f.starts_at <= m < f.ends_at}
        else:
            for rule in self.rota.rules:
                holder = self._rule_holder(rule, m)
                if holder is not None:
                    base.add(holder)
        base = {x for x in base if x in self.desks and not self._off(self.desks[x], m)}
        here = [o for o in self.rota.overrides if o.starts_at <= m < o.ends_at]
        final = {x for x in base if not any(o.remove_desk_id == x for o in here)}
        for o in here:
            if o.add_desk_id in self.desks and (
                o.remove_desk_id is None or o.remove_desk_id in base
            ):
                final.add(o.add_desk_id)
        return final


def minute_scan_gaps(rota: Rota, start: datetime, end: datetime) -> list[Gap]:
    """`gaps` the naive way: decide every minute from `start` on its own. Exact for rotas
    whose every boundary falls on a whole minute (the tests' and the benchmark's)."""
    start, end = _utc(start, "start"), _utc(end, "end")
    scan = _Scan(rota)
    wants = [
        (req, {d.id for d in rota.desks if _can(d, req.power, req.language)})
        for req in rota.requirements
    ]
    opened: dict[int, datetime] = {}
    out: list[tuple[datetime, int, Gap]] = []
    m = start
    while m < end:
        duty = scan.on_duty(m)
        for position, (req, able) in enumerate(wants):
            held = not duty.isdisjoint(able)
            if not held and position not in opened:
                opened[position] = m
            elif held and position in opened:
                lo = opened.pop(position)
                out.append((lo, position, Gap(req.id, lo, m)))
        m += ONE_MINUTE
    for position, lo in opened.items():
        out.append((lo, position, Gap(wants[position][0].id, lo, end)))
    out.sort(key=lambda g: g[:2])
    return [g for _, _, g in out]
