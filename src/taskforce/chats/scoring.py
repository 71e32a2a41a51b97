"""Scoring stored conversations: each conversation's messages read back in order (streamed, a
batch at a time, so a conversation of a million messages does not sit in memory), assessed by
the tagger's risk model, and the verdict written on the conversation — its risk, the message at
which it first reached the threshold, the tactics it shows, when and by which model."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.chats import tactics as tactics_module
from taskforce.chats import tagging
from taskforce.chats.models import ChatConversation, ChatMessage
from taskforce.chats.risk import ScoredMessage
from taskforce.chats.tagging import Tagger

BATCH = 2000


def _messages(session: Session, conversation_id: uuid.UUID) -> Iterator[ScoredMessage]:
    """The conversation's messages in order, read from the database a batch at a time."""
    rows = session.execute(
        select(ChatMessage.seq, ChatMessage.participant_id, ChatMessage.tactics, ChatMessage.tags)
        .where(ChatMessage.conversation_id == conversation_id)
        .order_by(ChatMessage.seq)
        .execution_options(yield_per=BATCH)
    )
    for seq, participant_id, bits, tags in rows:
        yield ScoredMessage(
            seq,
            str(participant_id) if participant_id else None,
            frozenset(tactics_module.from_bits(bits or 0)),
            tagging.tags_from_json(tags).probabilities,
        )


def rescore(
    session: Session,
    conversation_ids: Collection[uuid.UUID],
    *,
    threshold: float,
    now: datetime,
    tagger: Tagger | None = None,
    known: Mapping[uuid.UUID, Sequence[ScoredMessage]] | None = None,
) -> None:
    """Recompute and store the risk of each conversation from its stored messages (their
    tactics bits and probabilities, as tagged at import). Flushes; the caller commits.

    `known`: conversations whose every stored message the caller holds already, in seq order
    (an import that created them): those are not read back."""
    tagger = tagger or tagging.shipped()
    for conversation_id in sorted(set(conversation_ids)):
        conversation = session.get(ChatConversation, conversation_id)
        if conversation is None:
            continue
        held = known.get(conversation_id) if known else None
        messages = held if held is not None else _messages(session, conversation_id)
        assessment = tagger.assess(messages, threshold)
        conversation.risk = round(assessment.risk, 6)
        conversation.flagged_seq = assessment.flagged_seq
        conversation.tactic_counts = assessment.tactic_counts
        conversation.scored_at = now
        conversation.model_version = tagger.version
    session.flush()
