"""Chats for tests, in one place: a case with real exports imported through the importer and
the tagger; conversations written straight into the tables with the risk and tags a test
chooses (the queue's ranking and the conversation page tested against exact values, apart
from the importer and the tagger, whose own tests cover them); and a conversation's
identifiers noted the way the import notes them. Export files in every format are built by
`tests/chats/exports.py`.

All text is benign and fictional: the network's people (`builders.make_network`), a case of
GB-NCA's investigator, a synthetic CSV export of two conversations (one shows grooming tactics
in plain words: age questions, secrecy, moving to another app), fictional +44 20 7946 0xxx
numbers and example.com addresses.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from builders import Network, Person, add_selector, make_case, make_network
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases.models import Case
from taskforce.chats import importing, mentions, participants
from taskforce.chats.batching import participant_key
from taskforce.chats.kinds import Author
from taskforce.chats.models import (
    ChatAttachment,
    ChatConversation,
    ChatMember,
    ChatMention,
    ChatMessage,
    ChatParticipant,
)
from taskforce.chats.reading import ReadOptions
from taskforce.chats.schemas import ImportSummary
from taskforce.chats.tactics import Tactic, bits
from taskforce.core.settings import Settings

# --- real exports, imported ----------------------------------------------------------------

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HEADER = ("time", "conversation", "platform", "author", "name", "text", "attachments")

# (time, conversation, author handle, display name, text, attachments)
SCHOOL_RUN = [
    ("2026-02-01 08:00:00", "school-run", "ana.k", "Ana", "Can you take the kids today?", ""),
    ("2026-02-01 08:01:10", "school-run", "ben.k", "Ben", "Yes, I finish at three", ""),
    ("2026-02-01 08:02:00", "school-run", "ana.k", "Ana", "Thanks, see you tonight", ""),
    ("2026-02-01 08:02:30", "school-run", "ben.k", "Ben", "ok", ""),
]
GAME_LOBBY = [
    ("2026-02-03 19:00:00", "game-lobby", "tiger_77", "Tiger", "hey nice game today", ""),
    ("2026-02-03 19:00:40", "game-lobby", "kid.lena", "Lena", "thanks!! you too", ""),
    ("2026-02-03 19:01:30", "game-lobby", "tiger_77", "Tiger", "how old are you btw?", ""),
    ("2026-02-03 19:02:00", "game-lobby", "kid.lena", "Lena", "12, why", ""),
    (
        "2026-02-03 19:03:00",
        "game-lobby",
        "tiger_77",
        "Tiger",
        "don't tell your parents we talk, they wouldn't get it",
        "",
    ),
    (
        "2026-02-03 19:04:00",
        "game-lobby",
        "tiger_77",
        "Tiger",
        "add me on another app, it's more private",
        "photo1.jpg",
    ),
    (
        "2026-02-03 19:05:00",
        "game-lobby",
        "tiger_77",
        "Tiger",
        "I can send you a gift card for the game if you want",
        "",
    ),
]


def csv_export(rows: Sequence[tuple[str, ...]], *, platform: str = "discord") -> str:
    """A CSV export of `rows` (time, conversation, author, name, text, attachments)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for time, conversation, author, name, text, files in rows:
        writer.writerow((time, conversation, platform, author, name, text, files))
    return out.getvalue()


def write_export(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class ImportedCase:
    network: Network
    person: Person  # GB-NCA's investigator, who imported
    case: Case
    summary: ImportSummary
    path: Path


def import_path(
    session: Session,
    settings: Settings,
    person: Person,
    case: Case,
    path: Path,
    *,
    timezone: str = "UTC",
) -> ImportSummary:
    """`importing.import_file` of one file in the test's transaction (no commit)."""
    return importing.import_file(
        session,
        person.caller,
        settings,
        case_id=case.id,
        path=path,
        display=path.name,
        options=ReadOptions(timezone=timezone),
        now=NOW,
    )


def imported_case(
    session: Session,
    settings: Settings,
    folder: Path,
    *,
    network: Network | None = None,
    title: str = "Operation Lobby",
) -> ImportedCase:
    """A case of GB-NCA with the two synthetic conversations imported (11 messages, four
    participants, one attachment named but not held)."""
    network = network or make_network(session)
    case = make_case(session, network.gb, title=title)
    path = write_export(folder, "lobby.csv", csv_export(SCHOOL_RUN + GAME_LOBBY))
    summary = import_path(session, settings, network.gb, case, path)
    return ImportedCase(network=network, person=network.gb, case=case, summary=summary, path=path)


# --- conversations written straight into the tables ------------------------------------------


@dataclass
class Line:
    """One message: who wrote it, what, the tactics shown with their probability, and the
    rules that fired as (tactic, rule id, the words it matched)."""

    author: str
    text: str
    tactics: dict[Tactic, float] = field(default_factory=dict)
    rules: list[tuple[Tactic, str, str]] = field(default_factory=list)
    attachments: list[tuple[str, bool]] = field(default_factory=list)  # (name, known)


def participant(session: Session, case: Case, handle: str, platform: str) -> ChatParticipant:
    key = participant_key(platform, handle)
    found = session.scalar(
        select(ChatParticipant).where(
            ChatParticipant.case_id == case.id, ChatParticipant.key == key
        )
    )
    if found is None:
        found = ChatParticipant(
            case_id=case.id,
            owner_agency_id=case.owner_agency_id,
            platform=platform,
            handle=handle,
            key=key,
            names=[handle.title()],
        )
        session.add(found)
        session.flush()
    return found


def conversation(
    session: Session,
    case: Case,
    title: str,
    lines: list[Line],
    *,
    risk: float | None = None,
    flagged_seq: int | None = None,
    platform: str = "whatsapp",
    start: datetime | None = None,
) -> ChatConversation:
    """A conversation of `case` with these messages, one a minute from `start`."""
    start = start or datetime(2026, 3, 2, 18, 0).astimezone()
    counts: dict[str, int] = {}
    for line in lines:
        for tactic in line.tactics:
            counts[tactic.value] = counts.get(tactic.value, 0) + 1
    chat = ChatConversation(
        case_id=case.id,
        owner_agency_id=case.owner_agency_id,
        key=f"{platform}:{title}",
        platform=platform,
        format=platform,
        title=title,
        source=f"{title}.txt",
        first_at=start,
        last_at=start + timedelta(minutes=max(0, len(lines) - 1)),
        message_count=len(lines),
        risk=risk,
        flagged_seq=flagged_seq,
        tactic_counts=counts,
        scored_at=start if risk is not None else None,
        model_version="test-model" if risk is not None else "",
    )
    session.add(chat)
    session.flush()
    members: dict[str, ChatMember] = {}
    for seq, line in enumerate(lines):
        person = participant(session, case, line.author, platform)
        if line.author not in members:
            members[line.author] = ChatMember(
                conversation_id=chat.id, participant_id=person.id, first_seq=seq, message_count=0
            )
            session.add(members[line.author])
        members[line.author].message_count += 1
        rules = []
        for tactic, rule, words in line.rules:
            at = line.text.index(words)
            rules.append([tactic.value, rule, at, at + len(words)])
        message = ChatMessage(
            conversation_id=chat.id,
            participant_id=person.id,
            seq=seq,
            digest=hashlib.blake2b(f"{title}/{seq}".encode(), digest_size=16).hexdigest(),
            line=seq + 1,
            sent_at=start + timedelta(minutes=seq),
            time_text=(start + timedelta(minutes=seq)).strftime("%d/%m/%Y, %H:%M"),
            text=line.text,
            tactics=bits(frozenset(line.tactics)),
            score=max(line.tactics.values(), default=0.0),
            tags={"p": {t.value: p for t, p in line.tactics.items()}, "rules": rules},
            attachment_count=len(line.attachments),
        )
        session.add(message)
        session.flush()
        for name, known in line.attachments:
            session.add(
                ChatAttachment(
                    conversation_id=chat.id,
                    message_id=message.id,
                    name=name,
                    present=True,
                    size=1234,
                    md5=hashlib.md5(name.encode(), usedforsecurity=False).hexdigest(),
                    sha256=hashlib.sha256(name.encode()).hexdigest(),
                    known=known,
                    matches=[{"hash_set": "Known", "match_type": "md5"}] if known else [],
                )
            )
    chat.participant_count = len(members)
    session.flush()
    return chat


def grooming_lines() -> list[Line]:
    """A short synthetic conversation showing tactics in plain, non-sexual wording."""
    return [
        Line("sam", "hey, nice drawing you posted"),
        Line("kim", "thanks!"),
        Line(
            "sam",
            "how old are you by the way?",
            {Tactic.AGE_PROBING: 0.93},
            [(Tactic.AGE_PROBING, "age.how_old", "how old are you")],
        ),
        Line("kim", "12, year 7"),
        Line(
            "sam",
            "you seem very mature for your age",
            {Tactic.FLATTERY: 0.81},
            [(Tactic.FLATTERY, "flattery.mature", "mature for your age")],
        ),
        Line(
            "sam",
            "don't tell your parents we talk, ok?",
            {Tactic.SECRECY: 0.97},
            [(Tactic.SECRECY, "secrecy.dont_tell", "don't tell your parents")],
        ),
        Line(
            "sam",
            "add me on the other app, it's more private",
            {Tactic.PLATFORM_MOVE: 0.88},
            [(Tactic.PLATFORM_MOVE, "move.other_app", "add me on the other app")],
            [("IMG-20260302-WA0001.jpg", True)],
        ),
        Line("kim", "ok"),
    ]


def ordinary_lines() -> list[Line]:
    return [
        Line("alex", "are we still on for football on saturday?"),
        Line("jo", "yes, 10am at the park"),
        Line("alex", "great, I'll bring the ball"),
    ]


# --- a conversation's identifiers, noted as the import notes them ------------------------------
# A WhatsApp conversation whose author is a (fictional) phone number and who writes a Snapchat
# handle, an e-mail address and a web address (`mentions.of_author`, `mentions.in_text`,
# `participants.note_mentions`, as the import calls them).

PHONE = "+44 20 7946 0958"


def chat_lines() -> list[Line]:
    return [
        Line(PHONE, "hi, it's Sam from the club"),
        Line("Kim", "hi"),
        Line(PHONE, "add me on snap sam_22 or mail sam@example.com"),
        Line(PHONE, "my snap is sam_22, see example.com/club"),
    ]


def imported(session: Session, case: Case, title: str = "club") -> ChatConversation:
    """A WhatsApp conversation written into the tables, then its identifiers found and noted
    the way the import does (authors' accounts and the messages' text)."""
    chat = conversation(session, case, title, chat_lines(), platform="whatsapp")
    note(session, case, chat)
    return chat


def note(session: Session, case: Case, chat: ChatConversation) -> int:
    found: list[participants.Found] = []
    for message in session.scalars(
        select(ChatMessage).where(ChatMessage.conversation_id == chat.id).order_by(ChatMessage.seq)
    ):
        handle = next(line.author for n, line in enumerate(chat_lines()) if n == message.seq)
        for candidate in mentions.of_author(Author(handle, "whatsapp"), "GB"):
            found.append((chat.id, message.id, message.participant_id, candidate))
        for candidate in mentions.in_text(message.text, "GB", platform="whatsapp"):
            found.append((chat.id, message.id, message.participant_id, candidate))
    return participants.note_mentions(session, case, found)


def by_key(session: Session, case: Case) -> dict[str, ChatMention]:
    return {
        m.key: m for m in session.scalars(select(ChatMention).where(ChatMention.case_id == case.id))
    }


@dataclass
class KnownAbroad:
    case: Case  # GB-NCA's "Operation Harbour", the club chat imported
    chat: ChatConversation
    us_case: Case  # the US agency's "Operation Lantern", which holds the chat's phone number
    found: dict[str, ChatMention]  # the chat's identifiers by key


def known_abroad(session: Session, settings: Settings, network: Network) -> KnownAbroad:
    """The club chat's identifiers noted in a GB case while a US case already holds its phone
    number as a selector: confirming that number deconflicts into a hit with the US case."""
    case = make_case(session, network.gb, title="Operation Harbour")
    chat = imported(session, case)
    us_case = make_case(session, network.us, title="Operation Lantern")
    add_selector(session, settings, network.us, us_case, "phone", "+442079460958")
    return KnownAbroad(case, chat, us_case, by_key(session, case))
