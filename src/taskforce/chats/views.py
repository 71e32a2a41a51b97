"""What the conversation page, `GET /api/v1/chats/conversations/{id}` and the console read:
one of the agency's conversations with its header (case, members and whether their identifiers
became selectors, risk and its reasons, where it was flagged), the tactic timeline grouped by
the stages of the grooming models, one page of messages with the rule spans marked, the
attachments (names and hashes, never bytes) and every review.

Each read is audited `chats.conversation.read` (a consultation, with the messages shown);
another agency's id is the service's audited 'not found'. Texts are returned as they were
imported: the pages escape them (autoescape), the API sends them as JSON strings.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.cases.models import Case
from taskforce.chats import service, tagging
from taskforce.chats.kinds import Tags
from taskforce.chats.models import (
    ChatAttachment,
    ChatConversation,
    ChatMember,
    ChatMention,
    ChatMessage,
    ChatParticipant,
    ChatReview,
)
from taskforce.chats.risk import ScoredMessage
from taskforce.chats.schemas import (
    AttachmentRead,
    ContributionRead,
    ConversationRead,
    ConversationView,
    ExplanationRead,
    FeatureWeight,
    MemberRead,
    MessagePage,
    MessageRead,
    ReviewRead,
    RuleSpan,
    RuleWhy,
    Segment,
    StageRead,
    TacticTag,
    TacticWhy,
    TimelineEntry,
)
from taskforce.chats.tactics import STAGE_LABELS, TACTICS, Stage, from_bits
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.auth.models import User
from taskforce.core.caller import Caller
from taskforce.core.errors import Invalid, NotFound

PAGE = 100  # messages a page
CONTEXT = 5  # messages shown before the flagged one when the page jumps to it
TIMELINE_MOST = 2000  # tactic entries on the timeline (the first ones: how it began)
REASONS_MOST = 20_000  # messages read again for a risk's reasons on each view (~0.5 s at 20k)


def stored_tags(tags: dict[str, Any] | None) -> Tags:
    """A message's stored tags (`tagging.tags_from_json`); a malformed record reads as none."""
    try:
        return tagging.tags_from_json(tags)
    except (TypeError, ValueError, IndexError, KeyError):
        return Tags()


def rule_spans(tags: dict[str, Any] | None, text: str) -> list[RuleSpan]:
    """The rules stored with a message that lie inside its text, in order."""
    spans = [
        RuleSpan(tactic=hit.tactic.value, rule=hit.rule, start=hit.start, end=hit.end)
        for hit in stored_tags(tags).rules
        if 0 <= hit.start < hit.end <= len(text)
    ]
    return sorted(spans, key=lambda s: (s.start, -s.end))


def segments(text: str, spans: Sequence[RuleSpan]) -> list[Segment]:
    """The text cut at the rule spans (overlaps: the earlier, longer span wins), so a page
    marks them without ever inserting markup into the text itself."""
    cut: list[Segment] = []
    at = 0
    for span in spans:
        if span.start < at:
            continue
        if span.start > at:
            cut.append(Segment(text=text[at : span.start]))
        cut.append(Segment(text=text[span.start : span.end], tactic=span.tactic, rule=span.rule))
        at = span.end
    if at < len(text) or not cut:
        cut.append(Segment(text=text[at:]))
    return cut


def tactic_tags(bits: int, tags: dict[str, Any] | None) -> list[TacticTag]:
    """The tactics the tagger shows on a message (with their probability), then those it
    considered below their threshold."""
    probabilities = stored_tags(tags).probabilities
    shown = from_bits(bits)
    found = [
        TacticTag(
            tactic=t.value,
            label=TACTICS[t].label,
            stage=TACTICS[t].stage.value,
            probability=probabilities.get(t),
            shown=True,
        )
        for t in shown
    ]
    for t, p in sorted(probabilities.items(), key=lambda kv: (-kv[1], kv[0].value)):
        if t not in shown:
            info = TACTICS[t]
            found.append(
                TacticTag(
                    tactic=t.value,
                    label=info.label,
                    stage=info.stage.value,
                    probability=p,
                    shown=False,
                )
            )
    return found


def attachment_read(row: ChatAttachment) -> AttachmentRead:
    return AttachmentRead.model_validate(row, from_attributes=True)


def _authors(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = session.scalars(select(ChatParticipant).where(ChatParticipant.id.in_(ids)))
    named = {}
    for p in rows:
        name = p.names[0] if p.names else ""
        named[p.id] = f"{name} ({p.handle})" if name and name != p.handle else p.handle
    return named


def messages(
    session: Session,
    conversation: ChatConversation,
    *,
    start: int,
    limit: int,
) -> MessagePage:
    """Messages `start`… in sequence order, with their tactics, rule spans and attachments."""
    rows = list(
        session.scalars(
            select(ChatMessage)
            .where(ChatMessage.conversation_id == conversation.id, ChatMessage.seq >= start)
            .order_by(ChatMessage.seq, ChatMessage.id)
            .limit(limit)
        )
    )
    authors = _authors(session, {m.participant_id for m in rows if m.participant_id})
    carried: dict[uuid.UUID, list[AttachmentRead]] = defaultdict(list)
    with_files = [m.id for m in rows if m.attachment_count]
    if with_files:
        for row in session.scalars(
            select(ChatAttachment)
            .where(ChatAttachment.message_id.in_(with_files))
            .order_by(ChatAttachment.name)
        ):
            if row.message_id is not None:
                carried[row.message_id].append(attachment_read(row))
    items = []
    for m in rows:
        tags = m.tags
        spans = rule_spans(tags, m.text)
        items.append(
            MessageRead(
                id=m.id,
                seq=m.seq,
                line=m.line,
                sent_at=m.sent_at,
                time_text=m.time_text,
                participant_id=m.participant_id,
                author=authors.get(m.participant_id, "") if m.participant_id else "",
                text=m.text,
                tactics=tactic_tags(m.tactics, tags),
                rules=spans,
                segments=segments(m.text, spans),
                score=m.score,
                flagged_here=conversation.flagged_seq == m.seq,
                attachments=carried.get(m.id, []),
            )
        )
    return MessagePage(items=items, start=start, limit=limit, total=conversation.message_count)


def timeline(session: Session, conversation: ChatConversation) -> list[StageRead]:
    """The messages where tactics show, grouped by stage (in the models' order; within a
    stage, in the conversation's order): where the grooming pattern appears, not a claim
    that it followed the stages one after another."""
    rows = session.execute(
        select(ChatMessage.seq, ChatMessage.id, ChatMessage.tactics, ChatMessage.tags)
        .where(ChatMessage.conversation_id == conversation.id, ChatMessage.tactics != 0)
        .order_by(ChatMessage.seq)
        .limit(TIMELINE_MOST)
    )
    by_stage: dict[Stage, list[TimelineEntry]] = defaultdict(list)
    for seq, message_id, bits, tags in rows:
        probabilities = stored_tags(tags).probabilities
        for tactic in from_bits(bits):
            info = TACTICS[tactic]
            p = probabilities.get(tactic)
            by_stage[info.stage].append(
                TimelineEntry(
                    seq=seq,
                    message_id=message_id,
                    tactic=tactic.value,
                    label=info.label,
                    probability=float(p) if p is not None else None,
                )
            )
    return [
        StageRead(stage=stage.value, label=STAGE_LABELS[stage], entries=by_stage[stage])
        for stage in Stage
        if by_stage.get(stage)
    ]


def members(session: Session, conversation: ChatConversation) -> list[MemberRead]:
    """Who wrote in the conversation, most active first, with their identifiers' status
    (proposed, confirmed as selectors, dismissed)."""
    rows = list(
        session.execute(
            select(ChatMember, ChatParticipant)
            .join(ChatParticipant, ChatParticipant.id == ChatMember.participant_id)
            .where(ChatMember.conversation_id == conversation.id)
            .order_by(ChatMember.message_count.desc(), ChatMember.first_seq)
        ).all()
    )
    mentions: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    ids = [p.id for _m, p in rows]
    if ids:
        for participant_id, status, n in session.execute(
            select(ChatMention.participant_id, ChatMention.status, func.count())
            .where(ChatMention.participant_id.in_(ids))
            .group_by(ChatMention.participant_id, ChatMention.status)
        ):
            if participant_id is not None:
                mentions[participant_id][status] = n
    return [
        MemberRead(
            participant_id=p.id,
            platform=p.platform,
            handle=p.handle,
            names=list(p.names or []),
            message_count=m.message_count,
            first_seq=m.first_seq,
            mentions=mentions.get(p.id, {}),
        )
        for m, p in rows
    ]


def header(
    session: Session,
    conversation: ChatConversation,
    *,
    threshold: float,
    contributions: Sequence[ContributionRead] = (),
    reasons_missing: str = "",
) -> ConversationRead:
    case = session.get(Case, conversation.case_id)
    reviewer = (
        session.scalar(select(User.email).where(User.id == conversation.reviewed_by_user_id))
        if conversation.reviewed_by_user_id
        else None
    )
    row = service.queue_item(
        conversation,
        case_reference=case.reference if case else "",
        reviewer=reviewer,
        threshold=threshold,
    )
    return ConversationRead(
        **dict(row),
        case_title=case.title if case else "",
        key=conversation.key,
        source=conversation.source,
        threshold=threshold,
        scored_at=conversation.scored_at,
        model_version=conversation.model_version,
        contributions=list(contributions),
        reasons_missing=reasons_missing,
    )


def review_read(review: ChatReview) -> ReviewRead:
    return ReviewRead(
        id=review.id,
        conversation_id=review.conversation_id,
        at=review.at,
        decision=review.decision,
        decision_label=service.decision_label(review.decision),
        note=review.note,
        reviewer=review.actor_label,
        risk=review.risk,
        model_version=review.model_version,
    )


def history(session: Session, conversation_id: uuid.UUID) -> list[ReviewRead]:
    """Every decision on a conversation, oldest first (the caller's access already checked)."""
    rows = session.scalars(
        select(ChatReview)
        .where(ChatReview.conversation_id == conversation_id)
        .order_by(ChatReview.at, ChatReview.id)
    )
    return [review_read(r) for r in rows]


def reasons_missing(conversation: ChatConversation, tagger_version: str) -> str:
    """Why a scored conversation's page gives its risk without its reasons ("" if it does)."""
    if conversation.risk is None:
        return ""
    if conversation.model_version != tagger_version:
        return "scored by another model version than the shipped tagger's"
    if conversation.message_count > REASONS_MOST:
        return f"over {REASONS_MOST:,} messages: not read again on every view"
    return ""


def contributions(session: Session, conversation: ChatConversation) -> list[ContributionRead]:
    """The reasons of the stored risk: the risk model's features and weights, recomputed from
    the stored tags with the tagger that scored it (none when another model scored it, when it
    is not scored, or when it is too long to read again on every view)."""
    tagger = tagging.shipped()
    if conversation.risk is None or reasons_missing(conversation, tagger.version):
        return []
    rows = session.execute(
        select(ChatMessage.seq, ChatMessage.participant_id, ChatMessage.tactics, ChatMessage.tags)
        .where(ChatMessage.conversation_id == conversation.id)
        .order_by(ChatMessage.seq)
    )
    scored = [
        ScoredMessage(
            seq,
            str(author) if author else None,
            frozenset(from_bits(bits or 0)),
            stored_tags(tags).probabilities,
        )
        for seq, author, bits, tags in rows
    ]
    assessment = tagger.assess(scored, 1.0)
    return [
        ContributionRead(
            feature=f.label or f.feature,
            value=f.value,
            weight=f.weight,
            contribution=f.contribution,
        )
        for f in assessment.contributions
    ]


def explain(
    session: Session, caller: Caller, conversation_id: uuid.UUID, message_id: uuid.UUID
) -> ExplanationRead:
    """Why a message of the agency's conversation got its tags, from the shipped tagger: the
    rules with their reasons and the n-grams that weigh most (audited read of the message)."""
    found = service.own_conversation(session, caller, conversation_id)
    message = session.scalar(
        select(ChatMessage).where(
            ChatMessage.id == message_id, ChatMessage.conversation_id == found.id
        )
    )
    if message is None:
        raise NotFound("message")
    tagger = tagging.shipped()
    why = tagger.explain(message.text)
    audit.record(
        session,
        caller,
        action="chats.message.explain",
        operation=Operation.CONSULTATION,
        subject_type="chat_conversation",
        subject_id=found.id,
        subject_agency_id=found.owner_agency_id,
        detail={"message_id": str(message.id), "seq": message.seq},
    )
    return ExplanationRead(
        message_id=message.id,
        seq=message.seq,
        model_version=tagger.version,
        same_model=found.model_version == tagger.version,
        tactics=[
            TacticWhy(
                tactic=row.tactic.value,
                label=TACTICS[row.tactic].label,
                stage=TACTICS[row.tactic].stage.value,
                probability=row.probability,
                threshold=row.threshold,
                shown=row.shown,
                rules=[
                    RuleWhy(
                        rule=rule.id,
                        language=rule.language,
                        why=rule.why,
                        words=message.text[hit.start : hit.end],
                        start=hit.start,
                        end=hit.end,
                    )
                    for hit, rule in row.rules
                ],
                features=[
                    FeatureWeight(
                        feature=f.feature,
                        value=f.value,
                        weight=f.weight,
                        contribution=f.contribution,
                    )
                    for f in row.features
                ],
            )
            for row in why.tactics
        ],
    )


def page_start(conversation: ChatConversation, start: int | None, at_flagged: bool) -> int:
    """Where the shown page begins: asked for, or a few messages before the flagged one."""
    if at_flagged and conversation.flagged_seq is not None:
        return max(0, conversation.flagged_seq - CONTEXT)
    return max(0, start or 0)


def _audit_read(
    session: Session, caller: Caller, found: ChatConversation, page: MessagePage
) -> None:
    audit.record(
        session,
        caller,
        action="chats.conversation.read",
        operation=Operation.CONSULTATION,
        subject_type="chat_conversation",
        subject_id=found.id,
        subject_agency_id=found.owner_agency_id,
        detail={
            "case_id": str(found.case_id),
            "first_seq": page.items[0].seq if page.items else None,
            "last_seq": page.items[-1].seq if page.items else None,
            "messages": len(page.items),
        },
    )


def _limit(limit: int) -> None:
    if not 1 <= limit <= 1000:
        raise Invalid("limit", "must be 1 to 1,000")


def message_page(
    session: Session,
    caller: Caller,
    conversation_id: uuid.UUID,
    *,
    start: int = 0,
    limit: int = PAGE,
) -> MessagePage:
    """One page of a conversation's messages alone (audited read, as the whole page)."""
    _limit(limit)
    found = service.own_conversation(session, caller, conversation_id)
    page = messages(session, found, start=max(0, start), limit=limit)
    _audit_read(session, caller, found, page)
    return page


def conversation(
    session: Session,
    caller: Caller,
    conversation_id: uuid.UUID,
    *,
    threshold: float,
    start: int | None = None,
    limit: int = PAGE,
    at_flagged: bool = False,
) -> ConversationView:
    """One of the agency's conversations as its page shows it (audited read)."""
    _limit(limit)
    found = service.own_conversation(session, caller, conversation_id)
    first = page_start(found, start, at_flagged)
    page = messages(session, found, start=first, limit=limit)
    attachments = [
        attachment_read(a)
        for a in session.scalars(
            select(ChatAttachment)
            .where(ChatAttachment.conversation_id == found.id)
            .order_by(ChatAttachment.known.desc(), ChatAttachment.name)
            .limit(500)
        )
    ]
    _audit_read(session, caller, found, page)
    return ConversationView(
        conversation=header(
            session,
            found,
            threshold=threshold,
            contributions=contributions(session, found),
            reasons_missing=reasons_missing(found, tagging.shipped().version),
        ),
        members=members(session, found),
        stages=timeline(session, found),
        messages=page,
        attachments=attachments,
        reviews=history(session, found.id),
    )
