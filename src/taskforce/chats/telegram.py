"""Telegram Desktop's JSON export (`result.json`): one chat, or the whole account.

A single chat's export is `{"name", "type", "id", "messages": [...]}`; the account's export
holds its chats under `chats.list[]` (and `left_chats.list[]`), each shaped the same. The file
is streamed with `core.parsing.json_paths`: each chat's `id` and `name` come before its
`messages`, so every message knows its conversation without the file being held.

Per message: `from_id` is the author's handle and `from` their name; `text` is a string or a
list of strings and entities (links, bold …) whose texts are joined; `photo` and `file` name
attached files (their base names, as the export's folders hold them); `date_unixtime` (UTC) is
preferred to `date`, which is the exporting computer's local time. Service messages (someone
joined, a call) are kept as system lines. A file cut in the middle keeps the messages before
the cut, and a Problem that stops says at which message it broke."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import PurePosixPath
from zoneinfo import ZoneInfo

from taskforce.chats import textlines, timestamps
from taskforce.chats.kinds import Author, Event, Message, Problem, cut, kept_before
from taskforce.core import parsing
from taskforce.core.budgets import Breach, Exceeded

PLATFORM = "telegram"
ITEM = parsing.ITEM
PATHS: dict[str, tuple[object, ...]] = {
    "id": ("id",),
    "name": ("name",),
    "message": ("messages", ITEM),
}
for _chats in ("chats", "left_chats"):
    PATHS[f"{_chats}.id"] = (_chats, "list", ITEM, "id")
    PATHS[f"{_chats}.name"] = (_chats, "list", ITEM, "name")
    PATHS[f"{_chats}.message"] = (_chats, "list", ITEM, "messages", ITEM)

_NOT_INCLUDED = "(File not included"


def read(
    open_stream: textlines.Opener, source: str, conversation: str, options: textlines.Options
) -> Iterator[Event]:
    """Messages of a Telegram JSON export, chat by chat."""
    where = timestamps.zone(options.timezone)
    chat_id, chat_name = conversation, conversation
    ordinals: dict[str, int] = {}
    number = 0  # messages of the file, bad ones included
    seen_chat = False
    with open_stream() as stream:
        try:
            for name, _record, value in parsing.json_paths(stream, PATHS, options.budget):
                kind = name.rsplit(".", 1)[-1]
                seen_chat = True
                if kind == "name":
                    chat_name = str(value) if value is not None else ""
                    chat_id = conversation
                    continue
                if kind == "id":
                    chat_id = str(value)
                    continue
                number += 1
                if isinstance(value, Breach):
                    yield Problem(source, number, f"message.{value.field}", value.rule)
                    continue
                if not isinstance(value, dict):
                    yield Problem(source, number, "message", "is not a JSON object")
                    continue
                ordinal = ordinals.get(chat_id, 0)
                found = _message(
                    value, source, number, chat_id, chat_name or chat_id, ordinal, where
                )
                for event in found:
                    if isinstance(event, Message):
                        ordinals[chat_id] = ordinal + 1
                    yield event
        except parsing.Malformed as exc:
            rule = f"{exc}; {kept_before(number)}"
            yield Problem(source, number + 1, "file", rule, stops=True)
        except Exceeded as exc:
            rule = f"{exc.rule}; {kept_before(number)}"
            yield Problem(source, number + 1, "file", rule, stops=True)
        else:
            if number == 0 and not seen_chat:
                rule = "holds no Telegram chat (no messages[], nor chats.list[] with messages)"
                yield Problem(source, 0, "file", rule, stops=True)


def _text(value: object) -> str | None:
    """A message's text: a string, or a list of strings and entities with a `text`."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for part in value:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text", ""), str):
                parts.append(part.get("text", ""))
            else:
                return None
        return "".join(parts)
    return None


def _attachments(item: dict[str, object]) -> tuple[str, ...]:
    names = []
    for key in ("photo", "file"):
        value = item.get(key)
        if not isinstance(value, str) or not value:
            continue
        if value.startswith(_NOT_INCLUDED):
            # exported without media: the file's own name when the export gives it
            value = str(item.get("file_name") or "")
            if not value:
                continue
        names.append(PurePosixPath(value.replace("\\", "/")).name)
    return tuple(names)


def _when(item: dict[str, object], where: ZoneInfo) -> tuple[datetime | None, str, str | None]:
    """(UTC time, time as written, or the rule it breaks)."""
    written = item.get("date")
    unix = item.get("date_unixtime")
    time_text = str(written if written is not None else unix if unix is not None else "")
    if unix is not None:
        found = timestamps.epoch(str(unix))
        if found is not None:
            return found, time_text, None
    if isinstance(written, str):
        try:
            found = timestamps.iso(written, where)
        except timestamps.BadTime as exc:
            return None, time_text, str(exc)
        if found is not None:
            return found, time_text, None
    return None, time_text, f"{time_text!r} is not a date (date_unixtime or an ISO 8601 date)"


def _message(
    item: dict[str, object],
    source: str,
    number: int,
    chat_id: str,
    title: str,
    ordinal: int,
    where: ZoneInfo,
) -> Iterator[Event]:
    sent_at, time_text, bad_time = _when(item, where)
    if bad_time is not None:
        yield Problem(source, number, "date", bad_time)
        return
    text = _text(item.get("text"))
    if text is None:
        yield Problem(source, number, "text", "is neither a string nor a list of text parts")
        return
    author: Author | None = None
    if item.get("type", "message") == "service":
        actor = str(item.get("actor") or "")
        action = str(item.get("action") or "").replace("_", " ")
        text = " ".join(part for part in (actor, action, text) if part)
    else:
        handle = item.get("from_id") or item.get("from")
        if handle is None or handle == "":
            yield Problem(source, number, "from_id", "is missing (and so is from)")
            return
        name = item.get("from")
        author = Author(str(handle), PLATFORM, str(name) if name is not None else "")
    text, problem = cut(text, source, number)
    if problem is not None:
        yield problem
    yield Message(
        source=source,
        line=number,
        format="telegram",
        conversation=chat_id,
        title=title,
        ordinal=ordinal,
        sent_at=sent_at,
        time_text=time_text,
        author=author,
        text=text,
        attachments=_attachments(item),
    )
