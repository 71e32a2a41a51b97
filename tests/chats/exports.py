"""Export files as the platforms write them, built for tests (benign, fictional chats).

Each builder writes one file into a directory (pytest's `tmp_path`) and returns its path:
`whatsapp_txt` in the locale shapes of Android and iOS, `telegram_json` (one chat or the full
export), `pan12_xml`, `chat_csv`, `plain_log`, and `zip_of` for archives (bad members too)."""

from __future__ import annotations

import csv
import io
import json
import stat
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from taskforce.chats.kinds import AttachmentFile, Event, Message, Problem

NNBSP = "\u202f"  # narrow no-break space: iOS writes it before AM/PM
LRM = "\u200e"  # left-to-right mark: iOS writes it before system lines and attachments


@dataclass(frozen=True)
class Said:
    """One message to write: local wall-clock time (naive), author (None: a system line),
    text (may hold newlines), and an attached file's name."""

    when: datetime
    author: str | None
    text: str
    attachment: str | None = None


def talk(
    count: int,
    *,
    start: datetime | None = None,
    step: timedelta = timedelta(minutes=7),
    authors: Sequence[str] = ("Alice Example", "+44 20 7946 0123"),
) -> list[Said]:
    """`count` benign messages between two people, one every `step` from `start`."""
    start = start or datetime(2020, 12, 31, 21, 41, 5)  # noqa: DTZ001 - a phone's local time
    topics = (
        "did you finish the maths homework?",
        "the bus was late again",
        "see you at football practice",
        "which film should we watch",
        "my cat knocked over the plant",
        "thanks for the recipe!",
    )
    return [
        Said(start + step * i, authors[i % len(authors)], f"{topics[i % len(topics)]} ({i})")
        for i in range(count)
    ]


def messages(events: Sequence[Event]) -> list[Message]:
    return [e for e in events if isinstance(e, Message)]


def problems(events: Sequence[Event]) -> list[Problem]:
    return [e for e in events if isinstance(e, Problem)]


def attachments(events: Sequence[Event]) -> list[AttachmentFile]:
    return [e for e in events if isinstance(e, AttachmentFile)]


# --- WhatsApp ---------------------------------------------------------------------------------

WHATSAPP_STYLES = (
    "android-us",
    "android-uk",
    "android-de",
    "ios-uk",
    "ios-de",
    "ios-iso",
    "ios-us",
)


def _ampm(when: datetime, space: str) -> str:
    hour = when.hour % 12 or 12
    return f"{hour}:{when.minute:02d}{space}{'PM' if when.hour >= 12 else 'AM'}"


def whatsapp_stamp(when: datetime, style: str) -> str:
    """The start of a WhatsApp line for `when` in one locale shape."""
    yy = f"{when.year % 100:02d}"
    if style == "android-us":
        return f"{when.month}/{when.day}/{yy}, {_ampm(when, ' ')} - "
    if style == "android-uk":
        return f"{when.day:02d}/{when.month:02d}/{when.year}, {when:%H:%M} - "
    if style == "android-de":
        return f"{when.day:02d}.{when.month:02d}.{yy}, {when:%H:%M} - "
    if style == "ios-uk":
        return f"[{when.day:02d}/{when.month:02d}/{when.year}, {when:%H:%M:%S}] "
    if style == "ios-de":
        return f"[{when.day:02d}.{when.month:02d}.{yy}, {when:%H:%M:%S}] "
    if style == "ios-iso":
        return f"[{when:%Y-%m-%d %H:%M:%S}] "
    if style == "ios-us":
        hour = when.hour % 12 or 12
        half = "PM" if when.hour >= 12 else "AM"
        clock = f"{hour}:{when.minute:02d}:{when.second:02d}{NNBSP}{half}"
        return f"[{when.month}/{when.day}/{yy}, {clock}] "
    raise ValueError(style)


def whatsapp_lines(said: Iterable[Said], style: str, *, group: str = "Homework club") -> str:
    ios = style.startswith("ios")
    out = []
    for item in said:
        stamp = whatsapp_stamp(item.when, style)
        if item.author is None:
            out.append(f"{stamp}{group}: {LRM}{item.text}" if ios else f"{stamp}{item.text}")
            continue
        text = item.text
        if item.attachment:
            if ios:
                text = f"{LRM}<attached: {item.attachment}>" + (f"\n{text}" if text else "")
            else:
                text = f"{item.attachment} (file attached)" + (f"\n{text}" if text else "")
        out.append(f"{stamp}{item.author}: {text}")
    return "\n".join(out) + "\n"


def whatsapp_txt(
    directory: Path,
    said: Iterable[Said],
    *,
    style: str = "android-uk",
    name: str = "WhatsApp Chat with Alice Example.txt",
    encoding: str = "utf-8",
    bom: bool = False,
    group: str = "Homework club",
) -> Path:
    path = directory / name
    data = whatsapp_lines(said, style, group=group).encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


# --- Telegram ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TelegramChat:
    id: int
    name: str
    said: Sequence[Said]  # `when` in UTC here (Telegram writes both local and Unix times)
    type: str = "personal_chat"


def telegram_message(number: int, item: Said, *, entities: bool = False) -> dict[str, object]:
    when = item.when.replace(tzinfo=UTC)
    message: dict[str, object] = {
        "id": number,
        "type": "message" if item.author else "service",
        "date": when.strftime("%Y-%m-%dT%H:%M:%S"),
        "date_unixtime": str(int(when.timestamp())),
    }
    if item.author:
        message["from"] = item.author
        message["from_id"] = "user" + str(abs(hash(item.author)) % 10**9)
    else:
        message["actor"] = "Alice Example"
        message["actor_id"] = "user1000"
        message["action"] = "invite_members"
    if entities:
        message["text"] = [item.text, {"type": "link", "text": "https://example.com/x"}]
    else:
        message["text"] = item.text
    if item.attachment:
        if item.attachment.endswith(".jpg"):
            message["photo"] = f"photos/{item.attachment}"
        else:
            message["file"] = f"files/{item.attachment}"
    return message


def telegram_document(
    chats: Sequence[TelegramChat], *, full: bool = False, entities: bool = False
) -> dict[str, object]:
    def chat(c: TelegramChat) -> dict[str, object]:
        return {
            "name": c.name,
            "type": c.type,
            "id": c.id,
            "messages": [
                telegram_message(i + 1, s, entities=entities) for i, s in enumerate(c.said)
            ],
        }

    if not full:
        assert len(chats) == 1
        return chat(chats[0])
    return {
        "about": "Here is the data you requested.",
        "personal_information": {"user_id": 1000, "first_name": "Alice"},
        "contacts": {
            "about": "contacts",
            "list": [{"first_name": "Bob", "phone_number": "+44 20 7946 0999"}],
        },
        "chats": {"about": "chats", "list": [chat(c) for c in chats]},
    }


def telegram_json(
    directory: Path,
    chats: Sequence[TelegramChat],
    *,
    full: bool = False,
    entities: bool = False,
    name: str = "result.json",
    cut_at: int | None = None,
) -> Path:
    """Telegram Desktop's export; `cut_at` truncates the file at that byte (a broken copy)."""
    data = json.dumps(
        telegram_document(chats, full=full, entities=entities), indent=1, ensure_ascii=False
    ).encode()
    path = directory / name
    path.write_bytes(data if cut_at is None else data[:cut_at])
    return path


# --- PAN-12 -----------------------------------------------------------------------------------


def pan12_xml(
    directory: Path,
    conversations: Mapping[str, Sequence[tuple[str, str, str]]],
    *,
    name: str = "pan12-test.xml",
    prolog: str = "",
    cut_at: int | None = None,
) -> Path:
    """PAN-12's corpus shape: conversations of (author hash, "HH:MM", text) messages."""
    from xml.sax.saxutils import escape, quoteattr

    out = ['<?xml version="1.0" encoding="UTF-8"?>', prolog, "<conversations>"]
    for conversation, messages in conversations.items():
        out.append(f"<conversation id={quoteattr(conversation)}>")
        for line, (author, time, text) in enumerate(messages, 1):
            out.append(
                f'<message line="{line}"><author>{escape(author)}</author>'
                f"<time>{escape(time)}</time><text>{escape(text)}</text></message>"
            )
        out.append("</conversation>")
    out.append("</conversations>")
    data = "\n".join(out).encode()
    path = directory / name
    path.write_bytes(data if cut_at is None else data[:cut_at])
    return path


# --- tables and logs --------------------------------------------------------------------------


def chat_csv(
    directory: Path,
    rows: Iterable[Sequence[str]],
    *,
    header: Sequence[str] = ("timestamp", "sender", "message"),
    delimiter: str = ",",
    name: str = "chat.csv",
    encoding: str = "utf-8",
) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path = directory / name
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def plain_log(
    directory: Path, lines: Iterable[str], *, name: str = "room.log", encoding: str = "utf-8"
) -> Path:
    path = directory / name
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


# --- zips -------------------------------------------------------------------------------------


def zip_of(
    directory: Path,
    members: Mapping[str, bytes | Path],
    *,
    name: str = "export.zip",
    symlinks: Mapping[str, str] | None = None,
) -> Path:
    """A zip of `members` (name → bytes or a file to copy), names written as given (`../x`
    and `/x` included) and `symlinks` (name → target) stored as links."""
    path = directory / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(
                zipfile.ZipInfo(member, (2020, 12, 31, 21, 41, 0)),
                data.read_bytes() if isinstance(data, Path) else data,
                compress_type=zipfile.ZIP_DEFLATED,
            )
        for member, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(member, (2020, 12, 31, 21, 41, 0))
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return path


def png(width: int = 64, height: int = 64, seed: int = 1) -> bytes:
    """A small PNG with some structure (so PDQ has something to hash)."""
    from PIL import Image

    image = Image.new("RGB", (width, height))
    image.putdata(
        [
            ((x * seed) % 256, (y * 3) % 256, ((x + y) * 5) % 256)
            for y in range(height)
            for x in range(width)
        ]
    )
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
