"""The rows the import writes through its fast path (plain tuples given to the driver on
SQLite, SQLAlchemy Core elsewhere) read back as what was read and tagged: the times in UTC,
the tags, tactics and score the tagger gave, the author and the conversation. And a message
whose twin the digest window forgot is counted as present, not written twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import Network, make_case
from chats_builders import csv_export, import_path, write_export
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.chats import batching, importing, reading, tactics, tagging, writing
from taskforce.chats.kinds import Message
from taskforce.chats.models import ChatConversation, ChatMessage, ChatParticipant
from taskforce.core.settings import Settings

ROWS = [
    ("2026-02-04T10:00:00+01:00", "lobby", "tiger_77", "Tiger", "how old are you btw", ""),
    ("2026-02-04T10:01:30+01:00", "lobby", "sam.k", "Sam", "12, why", ""),
    ("2026-02-04T10:02:00+01:00", "lobby", "tiger_77", "Tiger", "dont tell your parents ok", ""),
    ("2026-02-04T10:03:00+01:00", "lobby", "tiger_77", "Tiger", "add me on the other app", ""),
    ("2026-02-04T11:00:00+00:00", "homework", "ana.k", "Ana", "did you finish the maths", ""),
    ("2026-02-04T11:00:45+00:00", "homework", "ben.k", "Ben", "nearly, page 12 is hard", ""),
]


def test_stored_messages_read_back_as_read_and_tagged(
    session: Session, settings: Settings, network: Network, tmp_path: Path
) -> None:
    path = write_export(tmp_path, "chats.csv", csv_export(ROWS))
    case = make_case(session, network.gb)
    summary = import_path(session, settings, network.gb, case, path)
    assert summary.messages_added == len(ROWS)
    read = [
        e for e in reading.read_file(path, reading.ReadOptions(), display=path.name)
        if isinstance(e, Message)
    ]  # fmt: skip
    tagged = tagging.shipped().tag([m.text for m in read])
    session.expire_all()
    stored = session.execute(
        select(ChatMessage, ChatConversation.key, ChatParticipant.handle)
        .join(ChatConversation, ChatMessage.conversation_id == ChatConversation.id)
        .join(ChatParticipant, ChatMessage.participant_id == ChatParticipant.id)
        .where(ChatConversation.case_id == case.id)
    ).all()
    by_text = {row.ChatMessage.text: row for row in stored}
    assert len(by_text) == len(ROWS)
    shown = 0
    for m, tags in zip(read, tagged, strict=True):
        row = by_text[m.text]
        message = row.ChatMessage
        assert message.sent_at == m.sent_at  # aware, in UTC, as read
        assert message.sent_at is not None
        assert message.sent_at.utcoffset() is not None
        assert (message.seq, message.line, message.time_text) == (m.ordinal, m.line, m.time_text)
        assert row.key == f"csv:{m.conversation}"
        assert m.author is not None
        assert row.handle == m.author.handle
        assert message.import_id == summary.import_id
        assert message.tactics == tactics.bits(tags.tactics)
        assert message.score == pytest.approx(tags.score)
        assert tagging.tags_from_json(message.tags) == tags
        shown += bool(tags.tactics)
    assert shown >= 2  # the export shows tactics: their tags were stored, not only empty ones
    assert by_text["12, why"].ChatMessage.tags in ({}, tagging.tags_to_json(tagged[1]))


def test_a_twin_the_digest_window_forgot_is_present_not_written_twice(
    session: Session,
    settings: Settings,
    network: Network,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Identical messages further apart than the window get the same digest; the conversation
    was begun by this import, yet its stored messages are looked up once the window forgot
    one, so the twin counts as present (as a re-import would) instead of breaking the import."""
    monkeypatch.setattr(importing, "BATCH", 1)
    monkeypatch.setattr(writing, "Repeats", lambda: batching.Repeats(window=1))
    same = ("2026-02-04 10:00:00", "lobby", "ana.k", "Ana", "see you at six", "")
    other = ("2026-02-04 10:00:00", "lobby", "ana.k", "Ana", "bring the ball", "")
    path = write_export(tmp_path, "twins.csv", csv_export([same, other, other, same]))
    case = make_case(session, network.gb)
    summary = import_path(session, settings, network.gb, case, path)
    assert (summary.messages_read, summary.messages_added, summary.messages_present) == (4, 3, 1)
    texts = session.scalars(
        select(ChatMessage.text)
        .join(ChatConversation, ChatMessage.conversation_id == ChatConversation.id)
        .where(ChatConversation.case_id == case.id)
        .order_by(ChatMessage.seq)
    ).all()
    assert texts == ["see you at six", "bring the ball", "bring the ball"]
