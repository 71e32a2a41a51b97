"""The review queue: the agency's conversations ranked for an analyst, and the decisions.

Ranking: riskiest first, so the conversations at or over the review threshold (flagged) come
first; conversations not scored yet come last, never hidden. Ties keep a stable order (the
id), so the keyset cursor pages through a queue that others review at the same time without
skipping or repeating a conversation.

A decision is a person's, never the tagger's: each is kept (`ChatReview`, in order, with the
risk and model version the reviewer saw), the conversation shows the latest, and each is
audited `chats.review`. The note says what the reviewer saw. It is required where someone else
will act on it or look again: a concern (it goes to the investigator: a notice in the
agency's inbox), unclear (the next reviewer needs to know why), and 'no concern' on a
flagged conversation (a lead dismissed against the tagger's ranking must say why). 'No
concern' on an unflagged conversation may go without one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, literal, or_, select
from sqlalchemy.orm import Session

from taskforce.cases.models import Case
from taskforce.chats import service
from taskforce.chats.models import ChatConversation, ChatImport, ChatReview
from taskforce.chats.schemas import (
    NOTE_MAX,
    CaseChats,
    ImportBrief,
    QueueItem,
    QueuePage,
)
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.auth.models import User
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import Invalid
from taskforce.core.inbox import service as inbox

FILTERS = ("unreviewed", *service.DECISIONS, "reviewed", "all")
UNSCORED = -1.0  # the sort key of a conversation with no risk yet: after every scored one
CASE_CONVERSATIONS_SHOWN = 500


def _rank() -> ColumnElement[float]:
    return func.coalesce(ChatConversation.risk, literal(UNSCORED))


def cursor(item: QueueItem) -> str:
    """The position after `item` in the queue's order ("risk:id")."""
    return f"{UNSCORED if item.risk is None else item.risk!r}:{item.id}"


def _after(raw: str) -> ColumnElement[bool]:
    """Conversations after the cursor in the queue's order."""
    try:
        rank_text, id_text = raw.split(":", 1)
        rank, after_id = float(rank_text), uuid.UUID(id_text)
    except ValueError:
        raise Invalid("after", "is not a cursor of this queue (use the `next` it gave)") from None
    return or_(_rank() < rank, and_(_rank() == rank, ChatConversation.id > after_id))


def _decision_filter(decision: str | None) -> list[ColumnElement[bool]]:
    if decision in (None, "all"):
        return []
    if decision not in FILTERS:
        raise Invalid("decision", f"must be one of {', '.join(FILTERS)}")
    if decision == "reviewed":
        return [ChatConversation.decision != "unreviewed"]
    return [ChatConversation.decision == decision]


def summaries(
    session: Session, conversations: Sequence[ChatConversation], threshold: float
) -> list[QueueItem]:
    """Queue rows for these conversations (their case references and reviewers looked up once)."""
    case_ids = {c.case_id for c in conversations}
    cases = (
        dict(session.execute(select(Case.id, Case.reference).where(Case.id.in_(case_ids))).all())
        if case_ids
        else {}
    )
    reviewer_ids = {c.reviewed_by_user_id for c in conversations if c.reviewed_by_user_id}
    reviewers = (
        dict(session.execute(select(User.id, User.email).where(User.id.in_(reviewer_ids))).all())
        if reviewer_ids
        else {}
    )
    return [
        service.queue_item(
            c,
            case_reference=cases.get(c.case_id, ""),
            reviewer=reviewers.get(c.reviewed_by_user_id) if c.reviewed_by_user_id else None,
            threshold=threshold,
        )
        for c in conversations
    ]


def queue(
    session: Session,
    caller: Caller,
    *,
    threshold: float,
    case_id: uuid.UUID | None = None,
    decision: str | None = "unreviewed",
    limit: int = 50,
    after: str | None = None,
) -> QueuePage:
    """One page of the agency's conversations, riskiest first, with the given decision
    (`unreviewed` by default; `reviewed`, a decision, or `all`), of one case or every case."""
    caller.require(Permission.REVIEW_CHATS)
    if not 1 <= limit <= 500:
        raise Invalid("limit", "must be 1 to 500")
    scope: list[ColumnElement[bool]] = [sharing.owned_by(ChatConversation.owner_agency_id, caller)]
    if case_id is not None:
        service.own_case(session, caller, case_id)
        scope.append(ChatConversation.case_id == case_id)
    where = [*scope, *_decision_filter(decision)]
    if after:
        where.append(_after(after))
    rows = list(
        session.scalars(
            select(ChatConversation)
            .where(*where)
            .order_by(_rank().desc(), ChatConversation.id)
            .limit(limit + 1)
        )
    )
    items = summaries(session, rows[:limit], threshold)
    counts = dict(
        session.execute(
            select(ChatConversation.decision, func.count())
            .where(*scope)
            .group_by(ChatConversation.decision)
        ).all()
    )
    return QueuePage(
        items=items,
        next=cursor(items[-1]) if len(rows) > limit else None,
        decision=None if decision in (None, "all") else decision,
        case_id=case_id,
        threshold=threshold,
        counts={name: int(counts.get(name, 0)) for name in ("unreviewed", *service.DECISIONS)},
    )


def _checked_note(decision: str, note: str, flagged: bool) -> str:
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise Invalid("note", f"at most {NOTE_MAX:,} characters")
    if not note:
        if decision == "concern":
            raise Invalid("note", "say what the concern is: the investigator acts on it")
        if decision == "unclear":
            raise Invalid("note", "say what is unclear: the next reviewer starts from it")
        if flagged:
            raise Invalid(
                "note", "say why there is no concern: the tagger flagged this conversation"
            )
    return note


def decide(
    session: Session,
    caller: Caller,
    conversation_id: uuid.UUID,
    *,
    decision: str,
    note: str,
    threshold: float,
    now: datetime | None = None,
) -> ChatReview:
    """Record a reviewer's decision on one of the agency's conversations (audited
    `chats.review` with the decision, the risk and the model the reviewer saw)."""
    conversation = service.own_conversation(session, caller, conversation_id)
    decision = decision.strip()
    if decision not in service.DECISIONS:
        raise Invalid("decision", f"must be one of {', '.join(service.DECISIONS)}")
    flagged = conversation.is_flagged(threshold)
    note = _checked_note(decision, note, flagged)
    now = now or utcnow()
    review = ChatReview(
        conversation_id=conversation.id,
        owner_agency_id=conversation.owner_agency_id,
        reviewer_user_id=caller.user_id,
        actor_label=caller.label,
        at=now,
        decision=decision,
        note=note,
        risk=conversation.risk,
        model_version=conversation.model_version,
    )
    session.add(review)
    previous = conversation.decision
    conversation.decision = decision
    conversation.reviewed_by_user_id = caller.user_id
    conversation.reviewed_at = now
    session.flush()
    audit.record(
        session,
        caller,
        action="chats.review",
        operation=Operation.ALTERATION,
        subject_type="chat_conversation",
        subject_id=conversation.id,
        subject_agency_id=conversation.owner_agency_id,
        detail={
            "decision": decision,
            "previous": previous,
            "risk": conversation.risk,
            "flagged": flagged,
            "model_version": conversation.model_version,
            "note": bool(note),
        },
    )
    if decision == "concern" and previous != "concern":
        _tell_concern(session, caller, conversation, now)
    return review


def _tell_concern(
    session: Session, caller: Caller, conversation: ChatConversation, now: datetime
) -> None:
    """A concern goes to the investigator: a notice in the agency's inbox (the agency's own:
    chats never leave it) with the case, the conversation's title and a link, never a
    message or the note, which the conversation's page shows to whoever opens it."""
    reference = session.scalar(select(Case.reference).where(Case.id == conversation.case_id))
    risk = "" if conversation.risk is None else f" (risk {conversation.risk:.2f})"
    inbox.post(
        session,
        conversation.owner_agency_id,
        kind="chats.concern",
        title=f"Chat of concern in {reference}: {conversation.title or 'untitled'}"[:300],
        body=f"{caller.label} reviewed it and recorded a concern{risk}: read the "
        "conversation and the reviewer's note, then act on it.",
        link=f"/ui/chats/conversations/{conversation.id}#review",
        now=now,
    )


def case_chats(
    session: Session, caller: Caller, case_id: uuid.UUID, *, threshold: float
) -> CaseChats:
    """A case's conversations (riskiest first, every decision) and its imports, newest first."""
    case = service.own_case(session, caller, case_id)
    rows = list(
        session.scalars(
            select(ChatConversation)
            .where(
                ChatConversation.case_id == case.id,
                sharing.owned_by(ChatConversation.owner_agency_id, caller),
            )
            .order_by(_rank().desc(), ChatConversation.id)
            .limit(CASE_CONVERSATIONS_SHOWN)
        )
    )
    imports = session.scalars(
        select(ChatImport)
        .where(ChatImport.case_id == case.id, sharing.owned_by(ChatImport.owner_agency_id, caller))
        .order_by(ChatImport.started_at.desc(), ChatImport.id)
        .limit(100)
    )
    return CaseChats(
        case_id=case.id,
        case_reference=case.reference,
        case_title=case.title,
        case_open=case.status == "open",
        threshold=threshold,
        conversations=summaries(session, rows, threshold),
        imports=[ImportBrief.model_validate(i, from_attributes=True) for i in imports],
    )
