"""Reading clue notices: one notice as its reader may see it (clues, ranked answers, tips,
timeline), the list of notices, and the notice inbox.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import NotFound
from taskforce.core.settings import Settings
from taskforce.notices import regions
from taskforce.notices.models import (
    Clue,
    ClueAnswer,
    ClueImage,
    ClueNotice,
    NoticeEvent,
    NoticeNotification,
    PublicTip,
)
from taskforce.notices.schemas import (
    CLUE_LABELS,
    CONFIDENCE_WEIGHT,
    AnswerRead,
    ClueKind,
    ClueRead,
    Confidence,
    ContactRead,
    ImageRead,
    NoticeNotificationRead,
    NoticeRead,
    NoticeStatus,
    NoticeSummary,
    Outcome,
    RankedCountry,
    TimelineEntry,
    TipRead,
    VictimStatusRead,
)
from taskforce.notices.service import owned, reach_clause, recipients, visible
from taskforce.series.models import Series, Victim

# --- reading ---------------------------------------------------------------------------------


def get_notice(session: Session, caller: Caller, notice_id: uuid.UUID) -> ClueNotice:
    """A notice that reaches the caller's agency; audited as a consultation (refusals too)."""
    notice = visible(session, caller, notice_id, "notice.read")
    audit.record(
        session,
        caller,
        action="notice.read",
        operation=Operation.CONSULTATION,
        subject_type="clue_notice",
        subject_id=notice.id,
        subject_agency_id=notice.owner_agency_id,
    )
    return notice


def read_image(
    session: Session, caller: Caller, notice_id: uuid.UUID, image_id: uuid.UUID
) -> ClueImage:
    notice = visible(session, caller, notice_id, "notice.image.read")
    image = session.get(ClueImage, image_id)
    clue = session.get(Clue, image.clue_id) if image else None
    if image is None or clue is None or clue.notice_id != notice.id:
        raise NotFound("image")
    audit.record(
        session,
        caller,
        action="notice.image.read",
        operation=Operation.CONSULTATION,
        subject_type="clue_image",
        subject_id=image.id,
        subject_agency_id=notice.owner_agency_id,
    )
    return image


def rank(answers: Sequence[ClueAnswer]) -> tuple[list[RankedCountry], set[uuid.UUID]]:
    """Candidate countries, best first, and the ids of the answers that counted.

    Each agency's latest answer per clue counts (a revised answer replaces the earlier one);
    it gives w(confidence) / n to each of the n countries it names (w: low 1, medium 2,
    high 3). Ties go to the country more clues point to, then the one more agencies
    name, then to the code."""
    latest: dict[tuple[uuid.UUID, uuid.UUID], ClueAnswer] = {}
    for answer in sorted(answers, key=lambda a: a.created_at):
        latest[(answer.clue_id, answer.agency_id)] = answer
    score: dict[str, float] = defaultdict(float)
    clues: dict[str, set[uuid.UUID]] = defaultdict(set)
    agencies: dict[str, set[uuid.UUID]] = defaultdict(set)
    for answer in latest.values():
        named = list(dict.fromkeys(answer.countries))
        if not named:
            continue
        share = CONFIDENCE_WEIGHT[answer.confidence] / len(named)
        for country in named:
            score[country] += share
            clues[country].add(answer.clue_id)
            agencies[country].add(answer.agency_id)
    top = max(score.values(), default=0.0)
    ranked = [
        RankedCountry(
            country=c,
            name=regions.country_name(c),
            score=round(s, 2),
            clues=len(clues[c]),
            agencies=len(agencies[c]),
            share=round(s / top, 3) if top else 0.0,
        )
        for c, s in score.items()
    ]
    ranked.sort(key=lambda r: (-r.score, -r.clues, -r.agencies, r.country))
    return ranked, {a.id for a in latest.values()}


def _summary(action: str, d: dict[str, Any]) -> str:
    """One timeline line in words, from what the event recorded."""
    if action == "created":
        targets = ", ".join(d.get("targets") or []) or "all members"
        return f"Notice sent to {d.get('recipients', 0)} agencies ({targets})"
    if action == "clue":
        return f"Clue {d.get('number')} added: {CLUE_LABELS.get(d.get('kind', ''), 'Other')}"
    if action == "image":
        removed = f" (removed: {', '.join(d['removed'])})" if d.get("removed") else ""
        return f"Sanitised image added to clue {d.get('clue')}{removed}"
    if action == "answer":
        countries = ", ".join(d.get("countries") or [])
        return f"Clue {d.get('clue')}: {countries} ({d.get('confidence')} confidence)"
    if action == "tip":
        on = f" on clue {d['clue']}" if d.get("clue") else ""
        seen = f", seen in {d['country']}" if d.get("country") else ""
        return f"Public tip{on}{seen}"
    if action == "published":
        return f"{d.get('images')} image(s) published on the public page"
    if action == "withdrawn":
        return "Public page withdrawn"
    if action == "closed":
        if d.get("outcome") == Outcome.IDENTIFIED:
            return f"Closed: child identified in {d.get('country')}"
        return "Closed: withdrawn"
    return action


def _timeline(events: Sequence[NoticeEvent], *, owner: bool) -> list[TimelineEntry]:
    """Public tips are the owner's business: other readers do not see them arrive."""
    return [
        TimelineEntry(
            at=e.at,
            action=e.action,
            actor=e.actor_label,
            summary=_summary(e.action, e.detail or {}),
        )
        for e in events
        if owner or e.action != "tip"
    ]


def _summaries(
    session: Session, caller: Caller, notices: Sequence[ClueNotice]
) -> list[NoticeSummary]:
    if not notices:
        return []
    ids = [n.id for n in notices]
    clue_counts = dict(
        session.execute(
            select(Clue.notice_id, func.count())
            .where(Clue.notice_id.in_(ids))
            .group_by(Clue.notice_id)
        ).all()
    )
    answer_counts = dict(
        session.execute(
            select(ClueAnswer.notice_id, func.count())
            .where(ClueAnswer.notice_id.in_(ids))
            .group_by(ClueAnswer.notice_id)
        ).all()
    )
    answered = set(
        session.scalars(
            select(ClueAnswer.notice_id).where(
                ClueAnswer.notice_id.in_(ids), ClueAnswer.agency_id == caller.agency_id
            )
        )
    )
    agencies = agency_service.agencies_by_id(session, {n.owner_agency_id for n in notices})
    return [
        NoticeSummary(
            id=n.id,
            reference=n.reference,
            title=n.title,
            agency=agencies[n.owner_agency_id].code,
            status=NoticeStatus(n.status),
            outcome=Outcome(n.outcome) if n.outcome else None,
            targets=list(n.targets or []),
            clue_count=clue_counts.get(n.id, 0),
            answer_count=answer_counts.get(n.id, 0),
            created_at=n.created_at,
            closed_at=n.closed_at,
            is_owner=sharing.is_owner(n, caller),
            answered=n.id in answered,
        )
        for n in notices
    ]


def describe(
    session: Session, caller: Caller, settings: Settings, notice: ClueNotice
) -> NoticeRead:
    """Everything the caller may know of a notice they can read: answers and the ranking for
    every recipient; recipients, public tips and the public address for its owner only."""
    owner = sharing.is_owner(notice, caller)
    agency = session.get(Agency, notice.owner_agency_id)
    assert agency is not None
    clues = list(
        session.scalars(select(Clue).where(Clue.notice_id == notice.id).order_by(Clue.number))
    )
    numbers = {c.id: c.number for c in clues}
    pictures: dict[uuid.UUID, list[ClueImage]] = defaultdict(list)
    if clues:
        for image in session.scalars(
            select(ClueImage).where(ClueImage.clue_id.in_(numbers)).order_by(ClueImage.attested_at)
        ):
            pictures[image.clue_id].append(image)
    answers = list(
        session.scalars(
            select(ClueAnswer)
            .where(ClueAnswer.notice_id == notice.id)
            .order_by(ClueAnswer.created_at)
        )
    )
    ranking, counted = rank(answers)
    codes = agency_service.agencies_by_id(session, {a.agency_id for a in answers})
    by_clue: dict[uuid.UUID, list[AnswerRead]] = defaultdict(list)
    for a in answers:
        by_clue[a.clue_id].append(
            AnswerRead(
                id=a.id,
                clue_id=a.clue_id,
                clue_number=numbers.get(a.clue_id, 0),
                agency=codes[a.agency_id].code,
                countries=list(a.countries),
                confidence=Confidence(a.confidence),
                note=a.note,
                created_at=a.created_at,
                counted=a.id in counted,
            )
        )
    events = session.scalars(
        select(NoticeEvent).where(NoticeEvent.notice_id == notice.id).order_by(NoticeEvent.at)
    ).all()
    series = sharing.get_visible(session, Series, notice.series_id, caller)
    victims = (
        [
            VictimStatusRead(
                id=v.id, label=v.label, status=v.status, identified_country=v.identified_country
            )
            for v in session.scalars(
                select(Victim).where(Victim.series_id == series.id).order_by(Victim.label)
            )
        ]
        if series is not None
        else []
    )
    summary = _summaries(session, caller, [notice])[0]
    return NoticeRead(
        **summary.model_dump(),
        request=notice.request,
        agency_name=agency.name,
        contact=ContactRead(
            desk=agency.contact_desk,
            phone=agency.contact_phone,
            email=agency.contact_email,
            timezone=agency.timezone,
        ),
        series_id=series.id if series else None,
        series_name=series.name if series else None,
        victims=victims,
        recipients=sorted(a.code for a in recipients(session, notice)) if owner else [],
        outcome_country=notice.outcome_country,
        outcome_note=notice.outcome_note,
        can_answer=(
            not owner
            and notice.status == NoticeStatus.OPEN
            and caller.can(Permission.MANAGE_SERIES)
        ),
        can_manage=owner and caller.can(Permission.MANAGE_SERIES),
        clues=[
            ClueRead(
                id=c.id,
                number=c.number,
                kind=ClueKind(c.kind),
                label=CLUE_LABELS[c.kind],
                description=c.description,
                images=[
                    image_read(i) if owner else image_read(i, attested_by=agency.code)
                    for i in pictures.get(c.id, [])
                ],
                answers=by_clue.get(c.id, []),
            )
            for c in clues
        ],
        ranking=ranking,
        timeline=_timeline(events, owner=owner),
        tips=_tips(session, notice, numbers) if owner else [],
        public_url=(
            f"{settings.public_url}/trace/{notice.public_token}"
            if owner and notice.public_token
            else None
        ),
    )


def image_read(i: ClueImage, *, attested_by: str | None = None) -> ImageRead:
    """`attested_by`: what other agencies see instead of the uploader's name (their agency)."""
    return ImageRead(
        id=i.id,
        media_type=i.media_type,
        width=i.width,
        height=i.height,
        byte_size=i.byte_size,
        sha256=i.sha256,
        removed=list(i.removed or []),
        attested_by=attested_by or i.attested_by_label,
        attested_at=i.attested_at,
        attestation=i.attestation,
        published=i.published,
        public_caption=i.public_caption,
    )


def answer_read(session: Session, answer: ClueAnswer) -> AnswerRead:
    clue = session.get(Clue, answer.clue_id)
    agency = session.get(Agency, answer.agency_id)
    assert clue is not None and agency is not None
    return AnswerRead(
        id=answer.id,
        clue_id=clue.id,
        clue_number=clue.number,
        agency=agency.code,
        countries=list(answer.countries),
        confidence=Confidence(answer.confidence),
        note=answer.note,
        created_at=answer.created_at,
        counted=True,
    )


def _tips(session: Session, notice: ClueNotice, numbers: dict[uuid.UUID, int]) -> list[TipRead]:
    clue_of_image: dict[uuid.UUID, uuid.UUID] = dict(
        session.execute(
            select(ClueImage.id, ClueImage.clue_id).where(ClueImage.clue_id.in_(numbers))
        ).all()
    )

    def clue_number(image_id: uuid.UUID | None) -> int | None:
        clue_id = clue_of_image.get(image_id) if image_id else None
        return numbers.get(clue_id) if clue_id else None

    return [
        TipRead(
            id=t.id,
            image_id=t.image_id,
            clue_number=clue_number(t.image_id),
            seen_where=t.seen_where,
            country=t.country,
            message=t.message,
            contact=t.contact,
            created_at=t.created_at,
        )
        for t in session.scalars(
            select(PublicTip)
            .where(PublicTip.notice_id == notice.id)
            .order_by(PublicTip.created_at.desc())
        )
    ]


def list_tips(session: Session, caller: Caller, notice_id: uuid.UUID) -> list[TipRead]:
    """Public tips are for the notice's own agency: they may carry a volunteered contact."""
    notice = owned(session, caller, notice_id, "notice.tips.read")
    numbers = dict(
        session.execute(select(Clue.id, Clue.number).where(Clue.notice_id == notice.id)).all()
    )
    audit.record(
        session,
        caller,
        action="notice.tips.read",
        operation=Operation.CONSULTATION,
        subject_type="clue_notice",
        subject_id=notice.id,
        subject_agency_id=notice.owner_agency_id,
    )
    return _tips(session, notice, numbers)


def list_notices(
    session: Session,
    caller: Caller,
    *,
    scope: str = "all",
    status: NoticeStatus | None = None,
    limit: int = 200,
) -> list[NoticeSummary]:
    """Notices the caller's agency wrote ("mine"), received ("received"), or both ("all")."""
    caller.require(Permission.READ)
    if caller.agency_id is None:
        return []
    stmt = select(ClueNotice).where(reach_clause(session, caller))
    if scope == "mine":
        stmt = stmt.where(sharing.owned_by(ClueNotice.owner_agency_id, caller))
    elif scope == "received":
        stmt = stmt.where(~sharing.owned_by(ClueNotice.owner_agency_id, caller))
    if status is not None:
        stmt = stmt.where(ClueNotice.status == status.value)
    notices = session.scalars(
        stmt.order_by(ClueNotice.status.desc(), ClueNotice.created_at.desc()).limit(min(limit, 500))
    ).all()
    audit.record(
        session,
        caller,
        action="notice.list",
        operation=Operation.CONSULTATION,
        detail={
            "scope": scope,
            "status": status.value if status else None,
            "returned": len(notices),
        },
    )
    return _summaries(session, caller, notices)


def notices_for_series(
    session: Session, caller: Caller, series_id: uuid.UUID
) -> list[NoticeSummary]:
    """The notices of one series that reach the caller (for the series page)."""
    caller.require(Permission.READ)
    if caller.agency_id is None:
        return []
    notices = session.scalars(
        select(ClueNotice)
        .where(ClueNotice.series_id == series_id, reach_clause(session, caller))
        .order_by(ClueNotice.created_at.desc())
    ).all()
    return _summaries(session, caller, notices)


# --- the notice inbox ------------------------------------------------------------------------


def inbox(
    session: Session, caller: Caller, *, unread_only: bool = False, limit: int = 100
) -> list[NoticeNotificationRead]:
    """The agency's notice inbox: shared by its people, like a 24/7 desk's."""
    if caller.agency_id is None:
        return []
    stmt = (
        select(NoticeNotification, ClueNotice.reference)
        .join(ClueNotice, ClueNotice.id == NoticeNotification.notice_id)
        .where(NoticeNotification.agency_id == caller.agency_id)
    )
    if unread_only:
        stmt = stmt.where(NoticeNotification.read_at.is_(None))
    rows = session.execute(
        stmt.order_by(NoticeNotification.created_at.desc()).limit(min(limit, 500))
    ).all()
    return [
        NoticeNotificationRead(
            id=n.id,
            notice_id=n.notice_id,
            reference=ref,
            kind=n.kind,
            message=n.message,
            created_at=n.created_at,
            read_at=n.read_at,
        )
        for n, ref in rows
    ]


def unread_count(session: Session, caller: Caller) -> int:
    if caller.agency_id is None:
        return 0
    return (
        session.scalar(
            select(func.count())
            .select_from(NoticeNotification)
            .where(
                NoticeNotification.agency_id == caller.agency_id,
                NoticeNotification.read_at.is_(None),
            )
        )
        or 0
    )


def mark_inbox_read(session: Session, caller: Caller) -> int:
    if caller.agency_id is None:
        return 0
    unread = session.scalars(
        select(NoticeNotification).where(
            NoticeNotification.agency_id == caller.agency_id,
            NoticeNotification.read_at.is_(None),
        )
    ).all()
    now = utcnow()
    for note in unread:
        note.read_at = now
    session.flush()
    return len(unread)
