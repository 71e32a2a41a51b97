"""Chat logs over the API (`/api/v1/chats/...`), mirroring the pages: imports into a case,
conversations with their tagged messages, participants and identifiers to confirm, the
review queue. Another agency's id is answered 404, as if missing."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, status

from taskforce.chats import participants, review, views
from taskforce.chats.schemas import (
    CaseChats,
    ConfirmResult,
    ConversationView,
    Mentions,
    MentionsDecide,
    MentionsDecided,
    MessagePage,
    Participants,
    QueuePage,
    ReviewCreate,
    ReviewRead,
)
from taskforce.core.http import CallerDep, SessionDep, SettingsDep
from taskforce.core.pagination import MAX_OFFSET, limit_query

router = APIRouter(prefix="/chats", tags=["chats"])  # under /api/v1 (app.py)

# --- import (importing.py) -------------------------------------------------------------------

# --- participants and identifiers (participants.py) ------------------------------------------


@router.get("/cases/{case_id}/participants", response_model=Participants)
def case_participants(case_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> Participants:
    """Who wrote in the case's chats (most messages first): names, conversations, and their
    own account's identifier with its status. An audited read."""
    return participants.list_participants(session, caller, case_id)


@router.get("/cases/{case_id}/mentions", response_model=Mentions)
def case_mentions(
    case_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    status: str | None = Query(
        default=None,
        max_length=16,
        description="proposed | confirmed | dismissed (all if left out)",
    ),
) -> Mentions:
    """The identifiers found in the case's chats (authors' accounts and what the messages
    say), proposed ones first, with where each was first seen and how often. An audited read."""
    return participants.list_mentions(session, caller, case_id, status=status)


@router.post("/cases/{case_id}/mentions/confirm", response_model=ConfirmResult)
def confirm_mentions(
    case_id: uuid.UUID,
    data: MentionsDecide,
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
) -> ConfirmResult:
    """Make the identifiers selectors of the case, deconflicted at once (new hits counted and
    notified as for any selector). Another case's or agency's identifier is 404."""
    return participants.confirm(
        session, caller, settings, data.mention_ids, note=data.note, case_id=case_id
    )


@router.post("/cases/{case_id}/mentions/dismiss", response_model=MentionsDecided)
def dismiss_mentions(
    case_id: uuid.UUID, data: MentionsDecide, session: SessionDep, caller: CallerDep
) -> MentionsDecided:
    """Dismiss identifiers (a re-import will not propose them again; `reopen` does)."""
    changed = participants.dismiss(
        session, caller, data.mention_ids, note=data.note, case_id=case_id
    )
    return MentionsDecided(case_id=case_id, changed=changed)


@router.post("/cases/{case_id}/mentions/reopen", response_model=MentionsDecided)
def reopen_mentions(
    case_id: uuid.UUID, data: MentionsDecide, session: SessionDep, caller: CallerDep
) -> MentionsDecided:
    """Propose dismissed identifiers again."""
    changed = participants.reopen(session, caller, data.mention_ids, case_id=case_id)
    return MentionsDecided(case_id=case_id, changed=changed)


# --- conversations and the review queue (views.py, review.py) --------------------------------


@router.get("/queue", response_model=QueuePage)
def review_queue(
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
    case_id: uuid.UUID | None = Query(default=None, description="one case of your agency"),
    decision: str = Query(
        default="unreviewed",
        max_length=16,
        description="unreviewed, reviewed, concern, no_concern, unclear or all",
    ),
    limit: int = limit_query(50, 500),
    after: str = Query(default="", max_length=80, description="the `next` of the page before"),
) -> QueuePage:
    """The agency's conversations riskiest first: those at or over the review threshold
    (flagged) first, those not scored yet last. The score is a lead for a reviewer, never
    evidence by itself."""
    return review.queue(
        session,
        caller,
        threshold=settings.chats_review_threshold,
        case_id=case_id,
        decision=decision,
        limit=limit,
        after=after or None,
    )


@router.get("/conversations/{conversation_id}", response_model=ConversationView)
def get_conversation(
    conversation_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
    start: int = Query(default=0, ge=0, le=MAX_OFFSET, description="first message (seq)"),
    limit: int = limit_query(views.PAGE, 1000),
    at_flagged: bool = Query(default=False, description="start a few messages before the flag"),
) -> ConversationView:
    """A conversation with its members, risk, tactic timeline, one page of messages (the rule
    spans given as offsets and as cut segments), attachments (names and hashes) and reviews.
    Audited as a read."""
    return views.conversation(
        session,
        caller,
        conversation_id,
        threshold=settings.chats_review_threshold,
        start=start,
        limit=limit,
        at_flagged=at_flagged,
    )


@router.get("/conversations/{conversation_id}/messages", response_model=MessagePage)
def get_messages(
    conversation_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    start: int = Query(default=0, ge=0, le=MAX_OFFSET, description="first message (seq)"),
    limit: int = limit_query(views.PAGE, 1000),
) -> MessagePage:
    """A page of a conversation's messages in sequence order (audited as a read)."""
    return views.message_page(session, caller, conversation_id, start=start, limit=limit)


@router.post(
    "/conversations/{conversation_id}/review",
    response_model=ReviewRead,
    status_code=status.HTTP_201_CREATED,
)
def review_conversation(
    conversation_id: uuid.UUID,
    data: ReviewCreate,
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
) -> ReviewRead:
    """Record your decision (concern, no_concern, unclear) with a note: required for a
    concern, for unclear, and for no_concern on a flagged conversation. Every decision is kept
    and audited; nothing is acted on by the tagger."""
    done = review.decide(
        session,
        caller,
        conversation_id,
        decision=data.decision,
        note=data.note,
        threshold=settings.chats_review_threshold,
    )
    return views.review_read(done)


@router.get("/cases/{case_id}/conversations", response_model=CaseChats)
def case_conversations(
    case_id: uuid.UUID, session: SessionDep, settings: SettingsDep, caller: CallerDep
) -> CaseChats:
    """A case's conversations (riskiest first, every decision) and the imports that brought
    them."""
    return review.case_chats(session, caller, case_id, threshold=settings.chats_review_threshold)
