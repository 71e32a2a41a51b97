"""Reading a chat export: which format it is, and its events, streamed.

`read_file` yields `Message`s, `Problem`s and `AttachmentFile`s one at a time, so memory stays
that of one message (and one zip member's hashing) whatever the file. Everything wrong with
the input is a `Problem` naming the source, the line and the rule; reading goes on after it
unless the problem says it `stops` (a truncated JSON file, an entity bomb)."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from taskforce.chats import archive, pan12, tables, telegram, textlines, timestamps, whatsapp
from taskforce.chats.kinds import Event, Problem
from taskforce.core import budgets
from taskforce.core.errors import Invalid

FORMATS = ("pan12", "whatsapp", "telegram", "csv", "plain")
LABELS = {
    "pan12": "PAN-12 XML",
    "whatsapp": "WhatsApp text export",
    "telegram": "Telegram Desktop JSON (result.json)",
    "csv": "CSV with time, author and text columns",
    "plain": "plain '[time] author: text' or IRC log",
}

Reader = Callable[[textlines.Opener, str, str, textlines.Options], Iterator[Event]]
READERS: dict[str, Reader] = {
    "pan12": pan12.read,
    "whatsapp": whatsapp.read,
    "telegram": telegram.read,
    "csv": tables.read_csv,
    "plain": tables.read_plain,
}


@dataclass(frozen=True)
class ReadOptions:
    """What the investigator knows about an export that the export does not say."""

    timezone: str = "UTC"
    """IANA zone of times written without an offset (WhatsApp, plain logs, CSV)."""
    format: str | None = None
    """Force a format; None: detect it per file and per zip member."""
    platform: str | None = None
    """Platform of the authors when the format does not say (CSV, plain logs)."""
    date_order: str | None = None
    """"dmy", "mdy" or "ymd"; None: inferred per file (see `timestamps.infer_order`)."""
    encoding: str | None = None
    """A legacy export's encoding (cp1252 …); None: UTF-8, or UTF-16 by its BOM."""
    budget: budgets.Budget = field(default=budgets.DEFAULT)

    def __post_init__(self) -> None:
        try:
            timestamps.zone(self.timezone)
        except timestamps.BadTime as exc:
            raise Invalid("timezone", str(exc)) from None
        if self.format is not None and self.format not in FORMATS:
            raise Invalid("format", f"{self.format!r} is not one of {', '.join(FORMATS)}")
        if self.date_order is not None and self.date_order not in timestamps.ORDERS:
            orders = ", ".join(timestamps.ORDERS)
            raise Invalid("date_order", f"{self.date_order!r} is not one of {orders}")
        if self.encoding is not None:
            try:
                textlines.check_encoding(self.encoding)
            except ValueError as exc:
                raise Invalid("encoding", str(exc)) from None


def _head_text(head: bytes) -> str:
    name, bom = textlines.sniff(head, None)
    return head[bom:].decode(name, errors="ignore")


def detect(head: bytes, name: str) -> str | None:
    """The format of a file from its first bytes (a few KiB) and name; "zip" for an archive,
    None when it is none taskforce reads."""
    if head.startswith(b"PK\x03\x04") or (not head and name.lower().endswith(".zip")):
        return "zip"
    text = _head_text(head).lstrip("\ufeff\u200e \t\r\n")
    if text.startswith("<"):
        return "pan12" if re.search(r"<conversations?\b", text[:4096], re.IGNORECASE) else None
    if text.startswith("{"):
        return "telegram"
    lines = [line for line in text.splitlines()[:10] if line.strip()]
    if len(text) == len(head) and lines and not text.endswith(("\n", "\r")):
        lines = lines[:-1] or lines  # the last line of a head may be cut
    whatsapp_named = "whatsapp" in name.lower() or name.lower().endswith("_chat.txt")
    for line in lines[:5]:
        match = whatsapp.header(line)
        if match is None:
            continue
        # `[2020-12-31 21:41:05] Alice: hi` is both WhatsApp (iOS, ISO locales) and a plain
        # log: the export's name or the marks iOS writes tell it is WhatsApp
        iso = re.match(r"[\u200e]*\[\d{4}-", line) is not None
        if not iso or whatsapp_named or "\u200e" in text[:4096]:
            return "whatsapp"
    for line in lines[:5]:
        if tables.plain_line(line.lstrip("\ufeff\u200e")) is not None:
            return "plain"
    if lines:
        first = lines[0]
        for delimiter in (",", ";", "\t"):
            header = next(csv.reader([first], delimiter=delimiter), [])
            if not isinstance(tables.columns(header), str):
                return "csv"
    return None


def conversation_of(name: str) -> str:
    """The conversation id of a file without one of its own: its name, no folders, no suffix."""
    base = PurePosixPath(name.replace("\\", "/")).name
    return base.rsplit(".", 1)[0] if "." in base.strip(".") else base


def read_stream(
    open_stream: textlines.Opener,
    source: str,
    name: str,
    options: ReadOptions,
    *,
    depth: int = 0,
    conversation: str | None = None,
) -> Iterator[Event]:
    """Events of one file or zip member (`name`: its path, for detection and its id;
    `depth`: how many zips it is inside; `conversation`: the id of a file without one of its
    own, when not its name)."""
    try:
        with open_stream() as stream:
            head = stream.read(8192)
    except OSError as exc:
        yield Problem(source, 0, "file", f"cannot be read ({exc.strerror or exc})", stops=True)
        return
    kind = "zip" if head.startswith(b"PK\x03\x04") else options.format or detect(head, name)
    if kind == "zip":
        if depth >= 2:
            rule = "is a zip inside a zip inside a zip; only one level of nesting is read"
            yield Problem(source, 0, "file", rule, stops=True)
            return
        yield from archive.read(
            open_stream,
            source,
            _member_detect(options),
            _member_reader(options, depth + 1, conversation_of(name)),
        )
        return
    if kind is None or kind not in READERS:
        known = "; ".join(LABELS.values())
        rule = f"is not a chat export taskforce reads ({known}); give --format if it is one"
        yield Problem(source, 0, "format", rule, stops=True)
        return
    try:
        yield from READERS[kind](
            open_stream, source, conversation or conversation_of(name), options
        )
    except budgets.Exceeded as exc:
        yield Problem(source, exc.record, "file", exc.rule, stops=True)
    except OSError as exc:
        yield Problem(source, 0, "file", f"cannot be read ({exc.strerror or exc})", stops=True)


_CHAT_SUFFIXES = (".txt", ".json", ".xml", ".csv", ".tsv", ".log")


def _member_detect(options: ReadOptions) -> archive.Detect:
    """A zip member's format: detected; a text-named member that is not detected takes the
    forced format, if any; anything else is an attachment."""

    def member_format(head: bytes, name: str) -> str | None:
        found = detect(head, name)
        if found is None and options.format and name.lower().endswith(_CHAT_SUFFIXES):
            return options.format
        return found

    return member_format


GENERIC = frozenset({"_chat", "chat", "chats", "messages", "result", "export"})
"""Names of chat files that every export of a kind shares (iOS WhatsApp's `_chat.txt`): in a
zip, such a member's conversation is named after the zip, so two exports stay two."""


def _member_reader(options: ReadOptions, depth: int, zip_name: str) -> archive.MemberReader:
    def read_member(open_member: textlines.Opener, source: str, name: str) -> Iterator[Event]:
        own = conversation_of(name)
        return read_stream(
            open_member,
            source,
            name,
            options,
            depth=depth,
            conversation=zip_name if own.lower() in GENERIC else own,
        )

    return read_member


def read_file(path: Path, options: ReadOptions, *, display: str | None = None) -> Iterator[Event]:
    """Events of one export file (a zip: its members), as `display` names it (default: the
    file's name)."""
    source = display or path.name

    def open_file() -> IO[bytes]:
        return path.open("rb")

    return read_stream(open_file, source, path.name, options)
