"""The one access rule of the chat domain, the case a chat import goes into, and what every
view says of a conversation's review (the decisions, their labels, its queue row).

Chats belong to the agency that owns their case and to no one else, whatever the case's
sharing level (a partner that sees the case sees none of its chats). Any other id — another
agency's conversation, one that does not exist — is the same audited 'not found', so an id
reveals nothing. Every read of a conversation is audited by the workflow that reads it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from taskforce.cases import service as case_service
from taskforce.cases.models import Case
from taskforce.chats.models import (
    ChatAttachment,
    ChatConversation,
    ChatImport,
    ChatMention,
    ChatParticipant,
)
from taskforce.chats.schemas import QueueItem, TacticCount
from taskforce.core import sharing
from taskforce.core.caller import Caller, Permission

Row = TypeVar("Row", ChatConversation, ChatImport, ChatMention, ChatParticipant)

DECISIONS = ("concern", "no_concern", "unclear")
DECISION_LABELS = {
    "unreviewed": "Not reviewed",
    "concern": "Concern: refer to the investigator",
    "no_concern": "No concern",
    "unclear": "Unclear: needs another look",
}


def decision_label(decision: str) -> str:
    """How a page, the API and the console name a decision (an unknown one as stored)."""
    return DECISION_LABELS.get(decision, decision)


def queue_item(
    conversation: ChatConversation, *, case_reference: str, reviewer: str | None, threshold: float
) -> QueueItem:
    """The conversation as the queue lists it; its page's header starts from the same row, so
    the two never disagree on its risk, flag, tactics or decision."""
    c = conversation
    return QueueItem(
        id=c.id,
        case_id=c.case_id,
        case_reference=case_reference,
        title=c.title,
        platform=c.platform,
        format=c.format,
        message_count=c.message_count,
        participant_count=c.participant_count,
        first_at=c.first_at,
        last_at=c.last_at,
        risk=c.risk,
        flagged=c.is_flagged(threshold),
        flagged_seq=c.flagged_seq,
        tactics=TacticCount.of(c.tactic_counts or {}),
        decision=c.decision,
        decision_label=decision_label(c.decision),
        reviewed_at=c.reviewed_at,
        reviewer=reviewer,
    )


def own_row(
    session: Session,
    caller: Caller,
    model: type[Row],
    record_id: uuid.UUID,
    *,
    noun: str,
    where: Sequence[ColumnElement[bool]] = (),
) -> Row:
    """A row of the caller's agency (that meets `where`); any other id is missing, the refusal
    audited as `chats.<noun>.read` on `chat_<noun>`."""
    return sharing.owned_or_404(
        session,
        caller,
        model,
        record_id,
        permission=Permission.REVIEW_CHATS,
        action=f"chats.{noun}.read",
        subject_type=f"chat_{noun}",
        missing=noun,
        where=where,
    )


def own_conversation(
    session: Session, caller: Caller, conversation_id: uuid.UUID
) -> ChatConversation:
    return own_row(session, caller, ChatConversation, conversation_id, noun="conversation")


def own_import(session: Session, caller: Caller, import_id: uuid.UUID) -> ChatImport:
    return own_row(session, caller, ChatImport, import_id, noun="import")


def own_mention(session: Session, caller: Caller, mention_id: uuid.UUID) -> ChatMention:
    return own_row(session, caller, ChatMention, mention_id, noun="mention")


def own_participant(session: Session, caller: Caller, participant_id: uuid.UUID) -> ChatParticipant:
    return own_row(session, caller, ChatParticipant, participant_id, noun="participant")


def own_attachment(
    session: Session, caller: Caller, attachment_id: uuid.UUID
) -> tuple[ChatAttachment, ChatConversation]:
    """An attachment record (names and hashes) of one of the agency's conversations."""
    caller.require(Permission.REVIEW_CHATS)
    found = session.execute(
        select(ChatAttachment, ChatConversation)
        .join(ChatConversation, ChatConversation.id == ChatAttachment.conversation_id)
        .where(
            ChatAttachment.id == attachment_id,
            sharing.owned_by(ChatConversation.owner_agency_id, caller),
        )
    ).first()
    if found is None:
        sharing.refuse(
            session,
            caller,
            action="chats.attachment.read",
            subject_type="chat_attachment",
            subject_id=attachment_id,
            missing="attachment",
        )
    return found[0], found[1]


def case_for_import(session: Session, caller: Caller, case_id: uuid.UUID) -> Case:
    """The case chats go into: one the caller's agency owns, open, and the caller may review
    chats and add selectors (the confirmed participants become its selectors)."""
    caller.require(Permission.REVIEW_CHATS)
    case = case_service.owned_case(session, caller, case_id, Permission.ADD_SELECTOR)
    case_service.require_open(case)
    return case


def own_case(session: Session, caller: Caller, case_id: uuid.UUID) -> Case:
    """A case of the caller's agency whose chats the caller may read (a partner's case, even
    one the caller sees, is missing here)."""
    caller.require(Permission.REVIEW_CHATS)
    case = session.scalar(
        select(Case).where(Case.id == case_id, sharing.owned_by(Case.owner_agency_id, caller))
    )
    if case is None:
        sharing.refuse(
            session,
            caller,
            action="chats.case.read",
            subject_type="case",
            subject_id=case_id,
            missing="case",
        )
    return case
