"""Conversations written straight into the tables, with the risk and tags a test chooses: the
review queue's ranking and the conversation page are tested against exact values here, apart
from the importer and the tagger (whose own tests cover them; `chats_builders` imports real
exports through both).

All text is benign and fictional."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases.models import Case
from taskforce.chats.models import (
    ChatAttachment,
    ChatConversation,
    ChatMember,
    ChatMessage,
    ChatParticipant,
)
from taskforce.chats.tactics import Tactic, bits


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
    key = f"{platform}:{handle}".lower()
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
