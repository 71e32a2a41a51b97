"""Local clocks and calendars for the rota: the one local-time-to-instant rule, rule windows,
calendar steps, and public holiday tables, each cached (a page asks thousands of times).

A pure leaf: `zoneinfo` and `holidays` only. The engine re-exports `zone`, `local_instant`
and `holiday_table`.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holiday_tables

ONE_DAY = timedelta(days=1)
MIDNIGHT = time(0, 0)


@lru_cache(maxsize=1024)
def zone(key: str) -> ZoneInfo:
    """The ZoneInfo for an IANA key (ZoneInfoNotFoundError if there is none)."""
    return ZoneInfo(key)


def local_instant(day: date, clock: time | None, zone: ZoneInfo) -> datetime:
    """The UTC instant at which the clock of `zone` reads `clock` on `day` (None: 24:00).

    The one rule every boundary goes through, chosen so that the mapping from local time to
    instants never goes backwards — back-to-back shifts then neither overlap nor leave a gap
    across a DST change:

    * a time in the repeated hour (autumn) is its first occurrence (fold=0): a shift "until
      02:30" ends the first time the clock reads 02:30;
    * a time in the missing hour (spring) is the instant the clocks jump: 02:30 on
      Europe/Amsterdam's spring-forward day is 01:00 UTC, as are 02:00 and 03:00, so a
      02:00–02:30 window that day is empty and one from 02:30 starts when 03:00 does;
    * 24:00 is the next day's 00:00.
    """
    if clock is None:
        return _local_instant(day + ONE_DAY, MIDNIGHT, zone)
    return _local_instant(day, clock, zone)


@lru_cache(maxsize=1 << 15)
def _local_instant(day: date, clock: time, zone: ZoneInfo) -> datetime:
    naive = datetime.combine(day, clock)
    first = naive.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the offset before a change
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first  # exists (once, or first of two)
    # In the missing hour: fold=1 reads it with the offset after the change, which lands
    # before the jump; fold=0 lands after it. The jump is the first second between them at
    # which the offset is the new one (tz transitions fall on whole seconds).
    lo = int(naive.replace(tzinfo=zone, fold=1).timestamp())
    hi = int(first.timestamp())
    after = datetime.fromtimestamp(hi, UTC).astimezone(zone).utcoffset()
    while lo < hi:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(zone).utcoffset() == after:
            hi = mid
        else:
            lo = mid + 1
    return datetime.fromtimestamp(hi, UTC)


@lru_cache(maxsize=1 << 15)
def window(day: date, start: time, end: time | None, key: str) -> tuple[datetime, datetime] | None:
    """The instants of a rule's window starting on `day` on the clock of zone `key`: `end`
    None is 24:00, `end` before `start` runs into the next day. None when it maps to nothing:
    `end` == `start` (the service refuses it), or wholly inside a missing hour."""
    z = zone(key)
    starts = local_instant(day, start, z)
    if end is None:
        ends = local_instant(day, None, z)
    elif end > start:
        ends = local_instant(day, end, z)
    elif end < start:
        ends = local_instant(day + ONE_DAY, end, z)
    else:
        return None
    return (starts, ends) if starts < ends else None


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months, the day of month clamped (31 Jan + 1 = 28 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@lru_cache(maxsize=4096)
def holiday_table(country: str, subdivision: str | None, year: int) -> dict[date, str]:
    """A country's (and subdivision's) public holidays in `year`, from `holidays`, cached:
    building a table costs up to ~100 ms. A country or subdivision it does not know has none
    (the service refuses those on input; the engine never fails a page over one)."""
    try:
        table = holiday_tables.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError:
        return {}
    return {day: "; ".join(table.get_list(day)) for day in sorted(table)}


@lru_cache(maxsize=64)
def dates_around(start: datetime, end: datetime) -> tuple[date, ...]:
    """Every date that is, in some zone (UTC-12 to UTC+14), the local date of an instant in
    [start, end], and the day before the first: one list for every zone of a question,
    cheaper than converting per zone (callers drop the windows that miss)."""
    first = (start - timedelta(hours=12)).date() - ONE_DAY
    count = ((end + timedelta(hours=14)).date() - first).days + 1
    return tuple(first + timedelta(days=n) for n in range(count))
