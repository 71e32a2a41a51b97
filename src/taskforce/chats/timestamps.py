"""Dates and times as chat exports write them, to UTC.

WhatsApp writes the phone's locale: `12/31/20, 9:41 PM` (US), `31/12/2020, 21:41` (UK),
`[31.12.20, 21:41:05]` (German iOS), `[2020-12-31 21:41:05]` (ISO locales), with a narrow
no-break space before AM/PM on iOS. Whether `03/04/21` is the 3rd of April or the 4th of March
cannot be told from one line; a file tells it (`infer_order`: a first number over 12 is a day,
a second over 12 is a day too), and the investigator may say so (`date_order`). Local times
are taken in the zone the reader is given (the phone's, which the export does not record) and
turned into UTC with zoneinfo, daylight saving included; ISO 8601 times with an offset keep it.
"""

from __future__ import annotations

import calendar
import functools
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ORDERS = ("dmy", "mdy", "ymd")

# Spaces WhatsApp puts between a time and AM/PM: plain, no-break, narrow no-break (iOS).
SPACES = " \u00a0\u202f"
DATE = r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}"
CLOCK = (
    r"\d{1,2}[:.]\d{2}(?:[:.]\d{2})?"
    r"(?:[ \u00a0\u202f]?(?:[AaPp]\.?[ \u00a0\u202f]?[Mm]\.?))?"
)
_DATE = re.compile(r"(\d{1,4})[./-](\d{1,2})[./-](\d{1,4})")
_CLOCK = re.compile(
    r"(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?(?:[ \u00a0\u202f]?([AaPp])\.?[ \u00a0\u202f]?[Mm]\.?)?"
)
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?"
)


class BadTime(ValueError):
    """A date or time that is not one; the message says why, quoting it."""


def zone(name: str) -> ZoneInfo:
    """The IANA zone, or BadTime naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadTime(f"{name!r} is not an IANA time zone (e.g. Europe/Berlin)") from None


def order_told(date: str) -> str | None:
    """The order one date tells on its own: a 4-digit first number is a year (`ymd`), a first
    number over 12 a day (`dmy`), a second over 12 a day too (`mdy`); None when it could be
    either."""
    match = _DATE.fullmatch(date.strip())
    if match is None:
        return None
    if len(match[1]) == 4:
        return "ymd"
    if int(match[1]) > 12:
        return "dmy"
    if int(match[2]) > 12:
        return "mdy"
    return None


def infer_order(dates: Iterable[str], *, twelve_hour: bool = False) -> str:
    """The order of day, month and year in a file's dates: the first date that tells
    (`order_told`) decides; none does (every date in the first twelve days of a month): US
    `mdy` when the times carry AM/PM, else `dmy`, the order of most of the world."""
    for text in dates:
        told = order_told(text)
        if told is not None:
            return told
    return "mdy" if twelve_hour else "dmy"


@functools.lru_cache(maxsize=4096)
def local_date(text: str, order: str) -> tuple[int, int, int]:
    """(year, month, day) of a date written in `order`, two-digit years in 2000–2099 (cached:
    a chat repeats its dates)."""
    match = _DATE.fullmatch(text.strip())
    if match is None:
        raise BadTime(f"{text!r} is not a date")
    a, b, c = match[1], match[2], match[3]
    if len(a) == 4:
        order = "ymd"
    if order == "ymd":
        year, month, day = a, b, c
    elif order == "mdy":
        month, day, year = a, b, c
    else:
        day, month, year = a, b, c
    y, m, d = int(year), int(month), int(day)
    if len(year) <= 2:
        y += 2000
    elif len(year) != 4 or not 1900 <= y <= 2999:
        raise BadTime(f"{text!r} is not a date (year {year})")
    if not 1 <= m <= 12:
        raise BadTime(f"{text!r} is not a date (month {m}, reading it as {order})")
    last = calendar.monthrange(y, m)[1]
    if not 1 <= d <= last:
        raise BadTime(
            f"{text!r} is not a date (day {d} of {calendar.month_name[m]}, reading it as {order})"
        )
    return y, m, d


@functools.lru_cache(maxsize=4096)
def clock(text: str) -> tuple[int, int, int]:
    """(hour, minute, second) of `9:41 PM`, `21:41`, `21.41.05`, `9:41 p. m.`."""
    match = _CLOCK.fullmatch(text.strip(SPACES + "\t"))
    if match is None:
        raise BadTime(f"{text!r} is not a time of day")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if match[4]:
        if not 1 <= hour <= 12:
            raise BadTime(f"{text!r} is not a time of day (hour {hour} with AM/PM)")
        hour = hour % 12 + (12 if match[4] in "Pp" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise BadTime(f"{text!r} is not a time of day")
    return hour, minute, second


def to_utc(year: int, month: int, day: int, hms: tuple[int, int, int], where: ZoneInfo) -> datetime:
    """A wall-clock time in `where` as UTC. A time the clocks skipped (spring forward) is read
    as if they had not yet moved; a repeated one (fall back) as its first occurrence."""
    try:
        return datetime(year, month, day, *hms, tzinfo=where).astimezone(UTC)
    except (OverflowError, ValueError):
        raise BadTime(f"{year:04d}-{month:02d}-{day:02d} is out of the range of dates") from None


def local(date_text: str, time_text: str, order: str, where: ZoneInfo) -> datetime:
    """A WhatsApp-style date and time, read in `order` and `where`, as UTC."""
    return to_utc(*local_date(date_text, order), clock(time_text), where)


def iso(text: str, where: ZoneInfo) -> datetime | None:
    """An ISO 8601 date or date-time as UTC (its offset honoured; none: `where`), or None
    when the text is not ISO 8601 at all. BadTime when it is, but is not a real date."""
    match = _ISO.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day = int(match[1]), int(match[2]), int(match[3])
    try:
        datetime(year, month, day)  # noqa: DTZ001 - only checks the date is real
    except ValueError as exc:
        raise BadTime(f"{text!r} is not a date ({exc})") from None
    hms = (int(match[4] or 0), int(match[5] or 0), int(match[6] or 0))
    if hms[0] > 23 or hms[1] > 59 or hms[2] > 59:
        raise BadTime(f"{text!r} is not a time of day")
    fraction = timedelta(microseconds=int((match[7] or "0").ljust(6, "0")[:6]))
    offset = match[8]
    if offset is None:
        try:
            return to_utc(year, month, day, hms, where) + fraction
        except OverflowError:
            raise BadTime(f"{text!r} is out of the range of dates") from None
    if offset == "Z":
        tz: timezone = UTC
    else:
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
        if minutes >= 24 * 60:
            raise BadTime(f"{text!r} has an offset that is not one ({offset})")
        tz = timezone(sign * timedelta(minutes=minutes))
    try:
        return datetime(year, month, day, *hms, tzinfo=tz).astimezone(UTC) + fraction
    except (OverflowError, ValueError):
        raise BadTime(f"{text!r} is out of the range of dates") from None


def epoch(text: str) -> datetime | None:
    """Seconds since 1970 (10 digits, Telegram's `date_unixtime`; 13: milliseconds) as UTC."""
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or len(value) not in (9, 10, 13):
        return None
    seconds = int(value) / (1000 if len(value) == 13 else 1)
    return datetime.fromtimestamp(seconds, UTC)


def stamp(text: str, order: str | None, where: ZoneInfo) -> datetime:
    """Any one-field time a table or plain log may hold: ISO 8601, Unix seconds, or a
    WhatsApp-style `date, time` / `date time` in `order` (dmy when not given)."""
    value = text.strip()
    if not value:
        raise BadTime("is empty")
    found = iso(value, where)
    if found is not None:
        return found
    found = epoch(value)
    if found is not None:
        return found
    match = re.fullmatch(rf"({DATE}),?[ T]+({CLOCK})", value)
    if match is None:
        raise BadTime(
            f"{text!r} is not a date and time (ISO 8601, Unix seconds or 31/12/2020 21:41)"
        )
    return local(match[1], match[2], order or infer_order([match[1]]), where)
