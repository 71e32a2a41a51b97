"""WhatsApp's "Export chat" text, Android and iOS, in the phone's locale.

Android writes `31/12/2020, 21:41 - Alice: text`, iOS `[31/12/2020, 21:41:05] Alice: text`;
the date and time follow the phone's locale (see `timestamps`). A message runs on over the
lines that do not start with a date. Lines without `author: ` (Android) or whose text starts
with a left-to-right mark (iOS) are the app's own: "Messages and calls are end-to-end
encrypted", "Alice added Bob"; they are kept as system lines (no author). Attachments:
`IMG-20201231-WA0001.jpg (file attached)` (Android) and `<attached: 00000012-PHOTO-….jpg>`
(iOS) name the file; `<Media omitted>` and `image omitted` (exported without media) are kept
as text. The date order (day or month first) is inferred from the whole file in a first pass
that stops at the first date that tells, unless the reader was told it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from taskforce.chats import textlines, timestamps
from taskforce.chats.kinds import MAX_TEXT, Author, Event, Message, Problem

PLATFORM = "whatsapp"
_MARKS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
_HEADER = re.compile(
    rf"[{_MARKS}]*(?:\[(?P<bdate>{timestamps.DATE}),?[ T](?P<btime>{timestamps.CLOCK})\][ \u00a0]?"
    rf"|(?P<date>{timestamps.DATE}),?[ \u00a0](?P<time>{timestamps.CLOCK})[ \u00a0]?[-–][ \u00a0])"
    r"(?P<rest>.*)"
)
# An author's name holds no colon and no quotes: `Alice changed the subject to "Plans: Sat"`
# is the app's own line, not Alice saying `Sat"`.
_AUTHOR = re.compile(r"(?P<author>[^:\n\"“”«»]{1,200}?):(?: (?P<text>.*)|$)", re.DOTALL)
_ATTACHED_IOS = re.compile(r"<attached: (?P<name>[^>]{1,255})>")
_ATTACHED_ANDROID = re.compile(r"(?P<name>[^\n]{1,255}?) \(file attached\)")


def header(line: str) -> re.Match[str] | None:
    """The date, time and rest of a line that starts a WhatsApp message, or None."""
    return _HEADER.fullmatch(line)


def _date_time(match: re.Match[str]) -> tuple[str, str]:
    return (match["bdate"] or match["date"]), (match["btime"] or match["time"])


def date_order(open_stream: textlines.Opener, options: textlines.Options) -> str:
    """The file's date order: the options', else the first date that tells it (a first pass
    that stops there), else by its clock (`timestamps.infer_order`)."""
    if options.date_order:
        return options.date_order
    twelve_hour = False
    with open_stream() as stream:
        for _number, line in textlines.lines(stream, options.encoding, options.budget):
            if isinstance(line, str) and (match := header(line)) is not None:
                date, time = _date_time(match)
                twelve_hour = twelve_hour or time.rstrip(". ").upper().endswith("M")
                told = timestamps.order_told(date)
                if told is not None:
                    return told
    return timestamps.infer_order((), twelve_hour=twelve_hour)


@dataclass
class _Pending:
    line: int
    sent_at: datetime
    time_text: str
    author: Author | None
    pieces: list[str] = field(default_factory=list)
    size: int = 0
    cut: bool = False

    def add(self, text: str) -> None:
        if self.cut:
            return
        if self.size + len(text) + 1 > MAX_TEXT:
            self.cut = True
            text = text[: max(0, MAX_TEXT - self.size - 1)]
        self.pieces.append(text)
        self.size += len(text) + 1


def read(
    open_stream: textlines.Opener, source: str, conversation: str, options: textlines.Options
) -> Iterator[Event]:
    """Messages of one WhatsApp text export (one conversation)."""
    where = timestamps.zone(options.timezone)
    order = date_order(open_stream, options)
    title = conversation
    ordinal = 0
    pending: _Pending | None = None
    skipping = False  # the continuation lines of a message whose date did not parse

    def flush() -> Iterator[Event]:
        nonlocal ordinal
        if pending is None:
            return
        text = "\n".join(pending.pieces)
        author, text, attachments = _content(pending.author, text)
        if pending.cut:
            rule = f"is longer than {MAX_TEXT:,} characters; the first {MAX_TEXT:,} are kept"
            yield Problem(source, pending.line, "text", rule)
        yield Message(
            source=source,
            line=pending.line,
            format="whatsapp",
            conversation=conversation,
            title=title,
            ordinal=ordinal,
            sent_at=pending.sent_at,
            time_text=pending.time_text,
            author=author,
            text=text,
            attachments=attachments,
        )
        ordinal += 1

    with open_stream() as stream:
        for number, line in textlines.lines(stream, options.encoding, options.budget):
            if isinstance(line, textlines.BadLine):
                yield Problem(source, number, "line", line.rule)
                continue
            match = header(line)
            if match is None:
                if pending is not None:
                    pending.add(line)
                elif not skipping and line.strip(_MARKS + " \t"):
                    rule = "is not a WhatsApp message line (date, time, author) and follows none"
                    yield Problem(source, number, "line", rule)
                continue
            yield from flush()
            pending = None
            date, time = _date_time(match)
            time_text = f"{date}, {time}"
            try:
                sent_at = timestamps.local(date, time, order, where)
            except timestamps.BadTime as exc:
                yield Problem(source, number, "time", str(exc))
                skipping = True
                continue
            skipping = False
            rest = match["rest"]
            said = _AUTHOR.fullmatch(rest)
            if said is None:
                pending = _Pending(number, sent_at, time_text, None)
                pending.add(rest)
                continue
            handle = said["author"].strip(_MARKS + " ")
            pending = _Pending(number, sent_at, time_text, Author(handle, PLATFORM))
            pending.add(said["text"] or "")
        yield from flush()


def _content(author: Author | None, text: str) -> tuple[Author | None, str, tuple[str, ...]]:
    """The author (None for the app's own lines), the text and the attached file names."""
    first, _, after = text.partition("\n")
    if first.startswith("\u200e") or first.startswith("\u200f"):
        bare = first.strip(_MARKS + " ")
        attached = _ATTACHED_IOS.fullmatch(bare)
        if attached is not None:
            return author, after, (attached["name"].strip(),)
        if _omitted(bare):
            return author, bare + ("\n" + after if after else ""), ()
        return None, bare + ("\n" + after if after else ""), ()  # iOS: the app's own line
    attached = _ATTACHED_ANDROID.fullmatch(first.strip(_MARKS + " "))
    if attached is not None and author is not None:
        return author, after, (attached["name"].strip(_MARKS + " "),)
    return author, text, ()


_OMITTED = re.compile(
    r"(?:image|video|audio|sticker|GIF|document|Contact card|[^\n]{1,255} document) omitted"
    r"|<Media omitted>",
    re.IGNORECASE,
)


def _omitted(text: str) -> bool:
    return _OMITTED.fullmatch(text) is not None
