"""Generic chat tables and plain logs.

* CSV (comma, semicolon or tab) whose header names a time, an author and a text column, in
  the spellings tools and platforms use (`timestamp`, `sender`, `message` …), and optionally
  the conversation, the platform, the author's display name and attachments (file names
  separated by `;` or `|`). Rows are read with `core.budgets.csv_rows`.
* Plain logs, one message a line: `[2020-12-31 21:41:05] Alice: text` and IRC-style
  `21:41 <Alice> text`; `-!-`/`***` lines and `* Alice waves` are kept as system lines and
  actions. A log with only times of day has `sent_at=None` (the time is kept as written).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from taskforce.chats import textlines, timestamps
from taskforce.chats.kinds import Author, Event, Message, Problem, cut
from taskforce.core import budgets

COLUMNS: dict[str, tuple[str, ...]] = {
    "time": (
        "time",
        "timestamp",
        "date",
        "datetime",
        "date_time",
        "sent",
        "sent_at",
        "created_at",
        "time_sent",
    ),
    "day": ("date", "day"),  # a date apart from a time-of-day column
    "author": ("author", "from", "sender", "user", "username", "handle", "from_id", "author_id"),
    "text": ("text", "message", "body", "content", "msg", "message_text"),
    "conversation": ("conversation", "conversation_id", "chat", "chat_id", "thread", "thread_id"),
    "platform": ("platform", "service", "app", "network"),
    "name": ("name", "author_name", "display_name", "sender_name", "from_name"),
    "attachments": ("attachment", "attachments", "file", "files", "media"),
}
REQUIRED = ("time", "author", "text")
_NAMES = re.compile(r"[;|]")


def _key(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().strip("\ufeff").lower())


def columns(header: list[str]) -> dict[str, int] | str:
    """Where each known column is in `header`, or the rule the header breaks."""
    found: dict[str, int] = {}
    keys = [_key(h) for h in header]
    for field, spellings in COLUMNS.items():
        for spelling in spellings:
            if spelling in keys and keys.index(spelling) not in found.values():
                found[field] = keys.index(spelling)
                break
    missing = [f for f in REQUIRED if f not in found]
    if missing:
        names = "; ".join(f"{f}: one of {', '.join(COLUMNS[f][:4])} …" for f in missing)
        return f"names no column for {', '.join(missing)} ({names})"
    return found


def _delimiter(first: str) -> str:
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


class _Ordinals:
    """The next ordinal of each conversation, from 0 in file order."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def __call__(self, conversation: str) -> int:
        value = self.next.get(conversation, 0)
        self.next[conversation] = value + 1
        return value


def _header(feed: textlines.LineFeed) -> tuple[int, str, dict[str, int] | str]:
    """The header's line number, the delimiter, and where the columns are (or the rule the
    header breaks), skipping blank and bad lines before it (left in `feed.bad`)."""
    first = feed.readline()
    while first == "\n":
        first = feed.readline()
    delimiter = _delimiter(first)
    header = next(csv.reader([first], delimiter=delimiter), [])
    return feed.number, delimiter, columns(header)


_DATE_START = re.compile(timestamps.DATE)


_SELF_READ = re.compile(r"\s*\[?(?:\d{4}-|\d{9,13}\s*$)")


def _told(text: str) -> str | None:
    """Day or month first, as a date that starts `text` tells; "" for a time that reads
    itself (ISO 8601, Unix seconds: the file is written so, no need to look further)."""
    if _SELF_READ.match(text):
        return ""
    match = _DATE_START.match(text.strip().lstrip("["))
    return None if match is None else timestamps.order_told(match[0])


def _csv_order(open_stream: textlines.Opener, options: textlines.Options) -> str | None:
    """The file's date order: given, or told by its first time cell that tells it (a first
    pass that stops there); None when no date in the file tells."""
    if options.date_order:
        return options.date_order
    with open_stream() as stream:
        feed = textlines.LineFeed(textlines.lines(stream, options.encoding, options.budget))
        _line, delimiter, place = _header(feed)
        if isinstance(place, str):
            return None
        index = place.get("day", place["time"])
        for _number, row in budgets.csv_rows(feed, options.budget, delimiter):  # type: ignore[arg-type]
            feed.bad.clear()
            if isinstance(row, list) and index < len(row):
                told = _told(row[index])
                if told is not None:
                    return told or None
    return None


def read_csv(
    open_stream: textlines.Opener, source: str, conversation: str, options: textlines.Options
) -> Iterator[Event]:
    """Messages of a CSV chat table; a bad row is a Problem and the next row goes on."""
    where = timestamps.zone(options.timezone)
    budget = options.budget
    order = _csv_order(open_stream, options)
    with open_stream() as stream:
        feed = textlines.LineFeed(textlines.lines(stream, options.encoding, budget))
        header_line, delimiter, place = _header(feed)
        yield from _bad(feed, source)
        if isinstance(place, str):
            yield Problem(source, header_line, "header", place, stops=True)
            return
        ordinal = _Ordinals()
        default_platform = options.platform or "csv"
        for number, row in budgets.csv_rows(feed, budget, delimiter):  # type: ignore[arg-type]
            yield from _bad(feed, source)
            if isinstance(row, budgets.Breach):
                yield Problem(source, number + header_line, row.field, row.rule)
                continue
            if not row or row == [""]:
                continue
            yield from _row(
                row,
                number + header_line,
                place,
                source,
                conversation,
                default_platform,
                where,
                order,
                options,
                ordinal,
            )
        yield from _bad(feed, source)


def _bad(feed: textlines.LineFeed, source: str) -> Iterator[Problem]:
    while feed.bad:
        number, bad = feed.bad.pop(0)
        yield Problem(source, number, "line", bad.rule)


def _row(
    row: list[str],
    line: int,
    place: dict[str, int],
    source: str,
    default_conversation: str,
    default_platform: str,
    where: ZoneInfo,
    order: str | None,
    options: textlines.Options,
    ordinal: _Ordinals,
) -> Iterator[Event]:
    def cell(field: str) -> str:
        index = place.get(field)
        return row[index].strip() if index is not None and index < len(row) else ""

    for field, index in place.items():
        if index < len(row) and len(row[index]) > options.budget.max_field and field != "text":
            yield Problem(source, line, field, budgets.too_long(options.budget.max_field))
            return
    if len(row) <= max(place[f] for f in REQUIRED):
        yield Problem(source, line, "line", f"has {len(row)} cells; the header names more")
        return
    time_text, handle = cell("time"), cell("author")
    if "day" in place and _TIME_ONLY.fullmatch(time_text):
        time_text = f"{cell('day')} {time_text}"
    if not handle:
        yield Problem(source, line, "author", "is empty")
        return
    try:
        sent_at = timestamps.stamp(time_text, order, where)
    except timestamps.BadTime as exc:
        yield Problem(source, line, "time", str(exc))
        return
    text, problem = cut(row[place["text"]], source, line)
    if problem is not None:
        yield problem
    conversation = cell("conversation") or default_conversation
    names = cell("attachments")
    attachments = tuple(a.strip() for a in _NAMES.split(names) if a.strip()) if names else ()
    yield Message(
        source=source,
        line=line,
        format="csv",
        conversation=conversation,
        title=conversation,
        ordinal=ordinal(conversation),
        sent_at=sent_at,
        time_text=time_text,
        author=Author(handle, cell("platform") or default_platform, cell("name")),
        text=text,
        attachments=attachments,
    )


# --- plain logs -------------------------------------------------------------------------------

_BRACKETED = re.compile(
    r"\[(?P<time>[^\]]{1,40})\]\s+(?:<(?P<nick>[^>]{1,200})>\s?|(?P<author>[^:<>\[]{1,200}?):(?:\s|$)"
    r"|(?P<system>-!-|\*\*\*|\*)\s?)(?P<text>.*)"
)
_IRC = re.compile(
    r"(?P<time>(?:\d{4}-\d{2}-\d{2}[ T])?\d{1,2}:\d{2}(?::\d{2})?)\s+"
    r"(?:<(?P<nick>[^>]{1,200})>\s?|(?P<system>-!-|\*\*\*|\*)\s?)(?P<text>.*)"
)
_TIME_ONLY = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AaPp][Mm])?")


def plain_line(line: str) -> re.Match[str] | None:
    """The parts of one plain-log line, or None when it is not one."""
    return _BRACKETED.fullmatch(line) or _IRC.fullmatch(line)


def _plain_order(open_stream: textlines.Opener, options: textlines.Options) -> str | None:
    """As `_csv_order`, for a plain log's times."""
    if options.date_order:
        return options.date_order
    with open_stream() as stream:
        for _number, line in textlines.lines(stream, options.encoding, options.budget):
            if isinstance(line, str) and (match := plain_line(line.lstrip("\ufeff\u200e"))):
                told = _told(match["time"])
                if told is not None:
                    return told or None
    return None


def read_plain(
    open_stream: textlines.Opener, source: str, conversation: str, options: textlines.Options
) -> Iterator[Event]:
    """Messages of a plain `[time] author: text` or IRC-style log, one a line."""
    where = timestamps.zone(options.timezone)
    platform = options.platform or "plain"
    order = _plain_order(open_stream, options)
    ordinal = 0
    with open_stream() as stream:
        for number, line in textlines.lines(stream, options.encoding, options.budget):
            if isinstance(line, textlines.BadLine):
                yield Problem(source, number, "line", line.rule)
                continue
            if not line.strip():
                continue
            match = plain_line(line.lstrip("\ufeff\u200e"))
            if match is None:
                yield Problem(
                    source,
                    number,
                    "line",
                    "is not a '[time] author: text' or 'time <author> text' line",
                )
                continue
            time_text = match["time"].strip()
            if _TIME_ONLY.fullmatch(time_text):
                try:
                    timestamps.clock(time_text)
                except timestamps.BadTime as exc:
                    yield Problem(source, number, "time", str(exc))
                    continue
                sent_at = None
            else:
                try:
                    sent_at = timestamps.stamp(time_text, order, where)
                except timestamps.BadTime as exc:
                    yield Problem(source, number, "time", str(exc))
                    continue
            system = match["system"]
            handle = (
                (match["nick"] or match.groupdict().get("author") or "").strip().lstrip("@+%&~")
            )
            text = match["text"]
            author: Author | None = Author(handle, platform) if handle else None
            if system == "*" and text:  # an IRC action: "* Alice waves"
                nick, _, rest = text.partition(" ")
                author, text = Author(nick, platform), f"* {nick} {rest}".rstrip()
            text, problem = cut(text, source, number)
            if problem is not None:
                yield problem
            yield Message(
                source=source,
                line=number,
                format="plain",
                conversation=conversation,
                title=conversation,
                ordinal=ordinal,
                sent_at=sent_at,
                time_text=time_text,
                author=author,
                text=text,
            )
            ordinal += 1
