"""What flows between the parts of the domain: the readers' events (a message, a problem with
a line, an attachment the export held) and the tagger's verdict on a message. Pure values, so
the readers and the tagger can run in worker processes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from taskforce.chats.tactics import Tactic

MAX_TEXT = 64 * 1024  # characters of one message kept; longer text is cut and the cut reported


@dataclass(frozen=True, slots=True)
class Author:
    """Who wrote a message, as the export names them. `handle` identifies the account on
    `platform` (a Telegram user id, a WhatsApp phone number or contact name, a PAN-12 author
    hash, a CSV's author column); `name` is the display name when the export gives one apart."""

    handle: str
    platform: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    """One message read from an export. `conversation` is the conversation's id within the
    source (the export's own chat id, or the file's name when it has none); `ordinal` its place
    in that conversation as the file orders it (0, 1, 2 … per conversation, stable across
    re-reads of the same file)."""

    source: str  # the file, and the zip member: "export.zip!WhatsApp Chat with A.txt"
    line: int  # 1-based line (text formats) or item number (JSON, XML) in the source
    format: str  # pan12 | whatsapp | telegram | csv | plain
    conversation: str
    title: str
    ordinal: int
    sent_at: datetime | None  # timezone-aware UTC; None when the export has no date
    time_text: str  # the time as the export wrote it
    author: Author | None  # None: a system line
    text: str
    attachments: tuple[str, ...] = ()  # file names the message carried


@dataclass(frozen=True, slots=True)
class Problem:
    """A line, item or member that could not be read: the import reports it and goes on
    (`stops`: it could not go on with this source, e.g. a truncated JSON file)."""

    source: str
    line: int  # 0: the source as a whole
    field: str
    rule: str
    stops: bool = False


@dataclass(frozen=True, slots=True)
class AttachmentFile:
    """A file an export held (a photo in a WhatsApp zip, Telegram's photos/ folder): hashed
    while it was read and then dropped. `name` is how messages refer to it."""

    source: str
    name: str
    size: int
    md5: str | None
    sha1: str | None
    sha256: str | None
    pdq: str | None = None
    pdq_quality: int | None = None
    media_type: str | None = None
    error: str = ""


Event = Message | Problem | AttachmentFile


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A lexicon rule that fired in a message, and where (character offsets in its text)."""

    tactic: Tactic
    rule: str  # the rule's id in the lexicon
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Tags:
    """The tagger's verdict on one message: each tactic's probability (only those above the
    tagger's floor), the tactics it shows (rule or model above its threshold) and the rules
    that fired."""

    probabilities: dict[Tactic, float] = field(default_factory=dict)
    tactics: frozenset[Tactic] = frozenset()
    rules: tuple[RuleHit, ...] = ()

    @property
    def score(self) -> float:
        return max(self.probabilities.values(), default=0.0)


def cut(text: str, source: str, line: int) -> tuple[str, Problem | None]:
    """The text kept of a message (at most `MAX_TEXT` characters) and the problem of the cut:
    every reader keeps the same length and reports a long message in the same words."""
    if len(text) <= MAX_TEXT:
        return text, None
    rule = f"is {len(text):,} characters long; the first {MAX_TEXT:,} are kept"
    return text[:MAX_TEXT], Problem(source, line, "text", rule)


def kept_before(number: int) -> str:
    """What a file that stopped part-way keeps, in the same words in every reader."""
    if number == 0:
        return "no message came before it"
    if number == 1:
        return "the message before it is kept"
    return f"the {number:,} messages before it are kept"
