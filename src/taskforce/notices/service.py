"""Clue notices: asking member countries where an object or a scene comes from.

A specialist of the agency that owns a series writes a notice: typed clues from a checklist
(sockets, packaging text, vegetation, ...), each with a description and, where useful, a
sanitised picture of the object or background only (`images.sanitise`: re-encoded, metadata
stripped, the uploader's attestation recorded word for word). The notice reaches the member
agencies in the countries of its target regions, or every member when it names none; any
other agency sees a 404 and cannot answer.

Recipients answer per clue with the countries they point to and a confidence. The ranking of
candidate countries (`rank`) counts each agency's latest answer per clue:

    score(country) = Σ over clues, Σ over answering agencies of w(confidence) / n

with w = 1 (low), 2 (medium), 3 (high) and n the number of countries named in that answer, so
"sold only in PL" weighs more than "used in ZA, NA, LS". Public tips are shown beside it but
never scored: anyone can send one.

Closing a notice with the outcome "identified" marks the series' victim identified through the
series service and tells every agency that answered (inbox, e-mail to the people who answered,
webhook). A notice's published images can be shown on a public page (`/trace/{token}`) where
anyone may say where they have seen the object; nothing about the tipster is kept unless they
volunteer a contact, and tips are rate-limited by a keyed hash of the sender's address that
is deleted when its window ends.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, exists, func, or_, select, text
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.auth.models import User
from taskforce.core.caller import Caller, Permission, Role
from taskforce.core.db import insert_new, is_postgres, utcnow
from taskforce.core.errors import Conflict, Forbidden, Invalid, NotFound, RateLimited
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings
from taskforce.notices import images, regions
from taskforce.notices.models import (
    Clue,
    ClueAnswer,
    ClueImage,
    ClueNotice,
    NoticeEvent,
    NoticeNotification,
    NoticeTarget,
    PublicTip,
    TipThrottle,
)
from taskforce.notices.schemas import (
    ATTESTATION,
    CLUE_LABELS,
    CONFIDENCE_WEIGHT,
    AnswerCreate,
    AnswerRead,
    ClueCreate,
    ClueKind,
    ClueRead,
    Confidence,
    ContactRead,
    ImageRead,
    NoticeClose,
    NoticeCreate,
    NoticeNotificationRead,
    NoticeRead,
    NoticeStatus,
    NoticeSummary,
    Outcome,
    PublicImage,
    PublicNotice,
    PublishRequest,
    RankedCountry,
    TimelineEntry,
    TipCreate,
    TipRead,
    VictimStatusRead,
)
from taskforce.series import service as series_service
from taskforce.series.models import Series, Victim
from taskforce.series.schemas import VictimIdentify

MAX_CLUES = 30
MAX_IMAGES_PER_CLUE = 6
TIP_WINDOW = timedelta(minutes=10)
TIPS_PER_ADDRESS = 5  # per TIP_WINDOW, from one address
TIPS_PER_NOTICE_HOUR = 120  # a flood from many addresses still stops here
PUBLIC = Caller(role=Role.READ_ONLY, channel="public", email="member of the public")


# --- who may see a notice ------------------------------------------------------------------


def _reaches(session: Session, notice: ClueNotice, caller: Caller) -> bool:
    """The owner, and agencies in a target country (every agency when there is no target)."""
    if caller.agency_id is None:
        return False
    if sharing.is_owner(notice, caller):
        return True
    targets = set(
        session.scalars(select(NoticeTarget.country).where(NoticeTarget.notice_id == notice.id))
    )
    return not targets or _country_of(session, caller) in targets


def _country_of(session: Session, caller: Caller) -> str | None:
    if caller.country:
        return caller.country
    agency = session.get(Agency, caller.agency_id) if caller.agency_id else None
    return agency.country if agency else None


def _reach_clause(session: Session, caller: Caller) -> Any:
    country = _country_of(session, caller)
    targeted = exists().where(NoticeTarget.notice_id == ClueNotice.id)
    mine = exists().where(NoticeTarget.notice_id == ClueNotice.id, NoticeTarget.country == country)
    return or_(sharing.owned_by(ClueNotice.owner_agency_id, caller), ~targeted, mine)


def _visible(session: Session, caller: Caller, notice_id: uuid.UUID, action: str) -> ClueNotice:
    caller.require(Permission.READ)
    notice = session.get(ClueNotice, notice_id)
    if notice is None or not _reaches(session, notice, caller):
        sharing.refuse(
            session,
            caller,
            action=action,
            subject_type="clue_notice",
            subject_id=notice_id,
            missing="notice",
        )
    return notice


def _owned(session: Session, caller: Caller, notice_id: uuid.UUID, action: str) -> ClueNotice:
    notice = _visible(session, caller, notice_id, action)
    sharing.require_owner(
        notice, caller, Forbidden("only the agency that wrote the notice changes it")
    )
    caller.require(Permission.MANAGE_SERIES)
    return notice


def _require_open(notice: ClueNotice) -> None:
    if notice.status != NoticeStatus.OPEN:
        raise Conflict(f"notice {notice.reference} is closed")


def recipients(session: Session, notice: ClueNotice) -> list[Agency]:
    """Active member agencies the notice reaches, its own agency left out."""
    countries = set(
        session.scalars(select(NoticeTarget.country).where(NoticeTarget.notice_id == notice.id))
    )
    return [
        a
        for a in agency_service.list_agencies(session)
        if not sharing.owns(a.id, notice) and (not countries or a.country in countries)
    ]


# --- writing a notice ---------------------------------------------------------------------


def _next_reference(session: Session, agency: Agency) -> str:
    """`GB-NCA-CN-2026-0003`: readable over the phone, numbered per agency and year."""
    year = utcnow().year
    if is_postgres(session):
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"notice-ref:{agency.code}"}
        )
    prefix = f"{agency.code}-CN-{year}-"
    last = session.scalar(
        select(ClueNotice.reference)
        .where(ClueNotice.reference.startswith(prefix))
        .order_by(ClueNotice.reference.desc())
        .limit(1)
    )
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{number:04d}"


def _event(
    session: Session, caller: Caller, notice: ClueNotice, action: str, **detail: Any
) -> None:
    insert_new(
        session,
        [
            NoticeEvent(
                notice_id=notice.id,
                agency_id=caller.agency_id,
                actor_label=caller.agency_code or caller.label,
                action=action,
                detail=detail,
            )
        ],
    )


def _notify(
    session: Session,
    settings: Settings,
    notice: ClueNotice,
    agencies: Iterable[Agency],
    *,
    kind: str,
    message: str,
    emails: Iterable[str] = (),
) -> None:
    """Inbox entries per agency, webhooks, and e-mails to named people. E-mails and webhooks
    carry only the reference and a link: the hub decides what the reader sees."""
    now = utcnow()
    link = f"{settings.public_url}/ui/notices/{notice.id}"
    for agency in agencies:
        session.add(
            NoticeNotification(
                agency_id=agency.id,
                notice_id=notice.id,
                kind=kind,
                message=message[:300],
                created_at=now,
            )
        )
        if agency.webhook_url:
            session.add(
                OutboxMessage(
                    channel="webhook",
                    recipient=agency.webhook_url,
                    subject=f"notice.{kind}",
                    body=(
                        f'{{"event":"notice.{kind}","notice":"{notice.id}",'
                        f'"reference":"{notice.reference}"}}'
                    ),
                    created_at=now,
                    attempts=0,
                )
            )
    for email in sorted(set(emails)):
        session.add(
            OutboxMessage(
                channel="email",
                recipient=email,
                subject=f"[taskforce] Clue notice {notice.reference}: {kind}",
                body=f"{message}\nOpen the notice in taskforce: {link}\n",
                created_at=now,
                attempts=0,
            )
        )
    session.flush()


def create_notice(
    session: Session, caller: Caller, settings: Settings, data: NoticeCreate
) -> ClueNotice:
    """A notice for a series of the caller's agency, sent to the member agencies it targets."""
    caller.require(Permission.MANAGE_SERIES)
    series = series_service.get_visible(session, caller, data.series_id)
    sharing.require_owner(
        series, caller, Forbidden("only the agency that owns the series writes clue notices for it")
    )
    agency = session.get(Agency, series.owner_agency_id)
    assert agency is not None
    names, countries = regions.resolve(data.targets)
    if data.targets and any(t.strip() for t in data.targets) and not countries:
        raise Invalid("targets", "the chosen regions hold no country")
    notice = ClueNotice(
        reference=_next_reference(session, agency),
        series_id=series.id,
        owner_agency_id=agency.id,
        title=data.title.strip(),
        request=data.request.strip(),
        targets=names,
        status=NoticeStatus.OPEN.value,
        created_by_id=caller.user_id,
    )
    session.add(notice)
    session.flush()
    for country in sorted(countries):
        session.add(NoticeTarget(notice_id=notice.id, country=country))
    session.flush()
    reached = recipients(session, notice)
    _event(
        session,
        caller,
        notice,
        "created",
        targets=names,
        recipients=len(reached),
        title=notice.title,
    )
    for clue in data.clues:
        _add_clue(session, caller, notice, clue)
    audit.record(
        session,
        caller,
        action="notice.create",
        operation=Operation.DISCLOSURE,
        subject_type="clue_notice",
        subject_id=notice.id,
        subject_agency_id=agency.id,
        recipients=[a.code for a in reached],
        detail={"series": str(series.id), "targets": names, "clues": len(data.clues)},
    )
    _notify(
        session,
        settings,
        notice,
        reached,
        kind="new",
        message=f"New clue notice {notice.reference} from {agency.code}: {notice.title}",
    )
    return notice


def _add_clue(session: Session, caller: Caller, notice: ClueNotice, data: ClueCreate) -> Clue:
    count = session.scalar(select(func.count()).where(Clue.notice_id == notice.id)) or 0
    if count >= MAX_CLUES:
        raise Invalid("clues", f"a notice holds at most {MAX_CLUES} clues")
    description = data.description.strip()
    if len(description) < 3:
        raise Invalid("description", "at least 3 characters")
    clue = Clue(
        notice_id=notice.id,
        number=count + 1,
        kind=ClueKind(data.kind).value,
        description=description,
    )
    session.add(clue)
    session.flush()
    _event(session, caller, notice, "clue", number=clue.number, kind=clue.kind)
    return clue


def add_clue(session: Session, caller: Caller, notice_id: uuid.UUID, data: ClueCreate) -> Clue:
    notice = _owned(session, caller, notice_id, "notice.clue.add")
    _require_open(notice)
    clue = _add_clue(session, caller, notice, data)
    audit.record(
        session,
        caller,
        action="notice.clue.add",
        operation=Operation.COLLECTION,
        subject_type="clue_notice",
        subject_id=notice.id,
        subject_agency_id=notice.owner_agency_id,
        detail={"clue": clue.number},
    )
    return clue


def _clue_of(session: Session, notice: ClueNotice, clue_id: uuid.UUID) -> Clue:
    clue = session.get(Clue, clue_id)
    if clue is None or clue.notice_id != notice.id:
        raise NotFound("clue")
    return clue


def add_image(
    session: Session,
    caller: Caller,
    notice_id: uuid.UUID,
    clue_id: uuid.UUID,
    raw: bytes,
    *,
    attested: bool,
) -> ClueImage:
    """Store a sanitised picture of an object or background for a clue.

    The uploader must attest that it shows no child and no abuse; the attestation (who, when,
    the exact text) is kept with the picture. The stored file is re-encoded from the pixels
    alone, so no EXIF, GPS position or other metadata of the upload survives."""
    notice = _owned(session, caller, notice_id, "notice.image.add")
    _require_open(notice)
    clue = _clue_of(session, notice, clue_id)
    if not attested:
        raise Invalid(
            "attest", "the uploader must attest that the image shows no child and no abuse"
        )
    held = session.scalar(select(func.count()).where(ClueImage.clue_id == clue.id)) or 0
    if held >= MAX_IMAGES_PER_CLUE:
        raise Invalid("image", f"a clue holds at most {MAX_IMAGES_PER_CLUE} images")
    clean = images.sanitise(raw)
    image = ClueImage(
        clue_id=clue.id,
        content=clean.content,
        media_type=clean.media_type,
        sha256=clean.sha256,
        original_sha256=clean.original_sha256,
        byte_size=len(clean.content),
        width=clean.width,
        height=clean.height,
        removed=list(clean.removed),
        attested_by_id=caller.user_id,
        attested_by_label=caller.label,
        attested_at=utcnow(),
        attestation=ATTESTATION,
        published=False,
        public_caption="",
    )
    session.add(image)
    session.flush()
    _event(session, caller, notice, "image", clue=clue.number, removed=list(clean.removed))
    audit.record(
        session,
        caller,
        action="notice.image.add",
        operation=Operation.COLLECTION,
        subject_type="clue_image",
        subject_id=image.id,
        subject_agency_id=notice.owner_agency_id,
        detail={
            "notice": notice.reference,
            "clue": clue.number,
            "sha256": clean.sha256,
            "attestation": ATTESTATION,
            "removed": list(clean.removed),
        },
    )
    return image


# --- reading ---------------------------------------------------------------------------------


def get_notice(session: Session, caller: Caller, notice_id: uuid.UUID) -> ClueNotice:
    """A notice that reaches the caller's agency; audited as a consultation (refusals too)."""
    notice = _visible(session, caller, notice_id, "notice.read")
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
    notice = _visible(session, caller, notice_id, "notice.image.read")
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
    notice = _owned(session, caller, notice_id, "notice.tips.read")
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
    stmt = select(ClueNotice).where(_reach_clause(session, caller))
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
        .where(ClueNotice.series_id == series_id, _reach_clause(session, caller))
        .order_by(ClueNotice.created_at.desc())
    ).all()
    return _summaries(session, caller, notices)


# --- answering -------------------------------------------------------------------------------


def answer_clue(
    session: Session,
    caller: Caller,
    settings: Settings,
    notice_id: uuid.UUID,
    clue_id: uuid.UUID,
    data: AnswerCreate,
) -> ClueAnswer:
    """A recipient's answer to one clue. Agencies the notice does not reach get 404, exactly
    as for a notice that does not exist; a later answer of the same agency replaces its
    earlier one in the ranking (both stay in the timeline)."""
    notice = _visible(session, caller, notice_id, "notice.answer")
    if sharing.is_owner(notice, caller):
        raise Forbidden("the agency that wrote the notice does not answer it")
    caller.require(Permission.MANAGE_SERIES)
    _require_open(notice)
    clue = _clue_of(session, notice, clue_id)
    countries = list(dict.fromkeys(regions.parse_country(c, "countries") for c in data.countries))
    assert caller.agency_id is not None
    answer = ClueAnswer(
        notice_id=notice.id,
        clue_id=clue.id,
        agency_id=caller.agency_id,
        user_id=caller.user_id,
        actor_label=caller.label,
        countries=countries,
        confidence=Confidence(data.confidence).value,
        note=data.note.strip(),
        created_at=utcnow(),
    )
    session.add(answer)
    session.flush()
    _event(
        session,
        caller,
        notice,
        "answer",
        clue=clue.number,
        countries=countries,
        confidence=answer.confidence,
    )
    audit.record(
        session,
        caller,
        action="notice.answer",
        operation=Operation.COLLECTION,
        subject_type="clue_notice",
        subject_id=notice.id,
        subject_agency_id=notice.owner_agency_id,
        detail={"clue": clue.number, "countries": countries, "confidence": answer.confidence},
    )
    owner = session.get(Agency, notice.owner_agency_id)
    assert owner is not None
    _notify(
        session,
        settings,
        notice,
        [owner],
        kind="answer",
        message=(
            f"{caller.agency_code} answered clue {clue.number} of {notice.reference}: "
            f"{', '.join(countries)} ({answer.confidence})"
        ),
    )
    return answer


# --- publishing and closing -----------------------------------------------------------------


def publish(
    session: Session, caller: Caller, notice_id: uuid.UUID, data: PublishRequest
) -> ClueNotice:
    """Show the chosen images, each with a caption written for the public, on the notice's
    public page. Images not chosen are taken off it; the address stays while published."""
    notice = _owned(session, caller, notice_id, "notice.publish")
    _require_open(notice)
    chosen = {i.id: i.caption.strip() for i in data.images}
    held = {
        i.id: i
        for i in session.scalars(
            select(ClueImage)
            .join(Clue, Clue.id == ClueImage.clue_id)
            .where(Clue.notice_id == notice.id)
        )
    }
    unknown = set(chosen) - set(held)
    if unknown:
        raise Invalid("images", "each must be an image of this notice")
    for caption in chosen.values():
        if len(caption) < 3:
            raise Invalid("caption", "at least 3 characters: the public sees no clue text")
    for image in held.values():
        image.published = image.id in chosen
        image.public_caption = chosen.get(image.id, image.public_caption)
    if notice.public_token is None:
        notice.public_token = secrets.token_urlsafe(24)
    session.flush()
    _event(session, caller, notice, "published", images=len(chosen))
    audit.record(
        session,
        caller,
        action="notice.publish",
        operation=Operation.DISCLOSURE,
        subject_type="clue_notice",
        subject_id=notice.id,
        subject_agency_id=notice.owner_agency_id,
        recipients=["public"],
        detail={"images": sorted(str(i) for i in chosen)},
    )
    return notice


def _take_down(notice: ClueNotice, session: Session) -> int:
    shown = list(
        session.scalars(
            select(ClueImage)
            .join(Clue, Clue.id == ClueImage.clue_id)
            .where(Clue.notice_id == notice.id, ClueImage.published)
        )
    )
    for image in shown:
        image.published = False
    return len(shown)


def unpublish(session: Session, caller: Caller, notice_id: uuid.UUID) -> ClueNotice:
    """Take the public page down: its address stops working at once."""
    notice = _owned(session, caller, notice_id, "notice.unpublish")
    if notice.public_token is None:
        return notice
    _take_down(notice, session)
    notice.public_token = None
    session.flush()
    _event(session, caller, notice, "withdrawn")
    audit.record(
        session,
        caller,
        action="notice.unpublish",
        operation=Operation.ALTERATION,
        subject_type="clue_notice",
        subject_id=notice.id,
        subject_agency_id=notice.owner_agency_id,
    )
    return notice


def close_notice(
    session: Session,
    caller: Caller,
    settings: Settings,
    notice_id: uuid.UUID,
    data: NoticeClose,
) -> ClueNotice:
    """Close a notice. "identified" marks the series' victim identified (through the series
    service, which audits it) and tells every agency that answered; the public page then says
    the appeal has ended and shows no image."""
    notice = _owned(session, caller, notice_id, "notice.close")
    _require_open(notice)
    country: str | None = None
    if data.outcome == Outcome.IDENTIFIED:
        if data.victim_id is None:
            raise Invalid("victim_id", "name the victim who was identified")
        victim = session.get(Victim, data.victim_id)
        if victim is None or victim.series_id != notice.series_id:
            raise Invalid("victim_id", "must be a victim of the notice's series")
        if not data.country:
            raise Invalid("country", "say in which country the child was identified")
        country = regions.parse_country(data.country, "country")
        series_service.identify_victim(
            session,
            caller,
            victim.id,
            VictimIdentify(
                status=data.victim_status,
                country=country,
                agency=(data.identified_by or "").strip() or None,
            ),
        )
        notice.victim_id = victim.id
    notice.status = NoticeStatus.CLOSED.value
    notice.outcome = data.outcome.value
    notice.outcome_country = country
    notice.outcome_note = data.note.strip()
    notice.closed_at = utcnow()
    _take_down(notice, session)
    session.flush()
    _event(session, caller, notice, "closed", outcome=notice.outcome, country=country)
    answered = list(
        session.execute(
            select(ClueAnswer.agency_id, ClueAnswer.user_id).where(
                ClueAnswer.notice_id == notice.id
            )
        ).all()
    )
    agencies = agency_service.agencies_by_id(session, {a for a, _ in answered})
    user_ids = {u for _, u in answered if u is not None}
    emails = (
        session.scalars(select(User.email).where(User.id.in_(user_ids), User.is_active)).all()
        if user_ids
        else []
    )
    audit.record(
        session,
        caller,
        action="notice.close",
        operation=Operation.ALTERATION,
        subject_type="clue_notice",
        subject_id=notice.id,
        subject_agency_id=notice.owner_agency_id,
        recipients=sorted(a.code for a in agencies.values()),
        detail={"outcome": notice.outcome, "country": country},
    )
    outcome = (
        f"the child was identified in {regions.country_name(country)}. Thank you for your answers."
        if country
        else "it was withdrawn."
    )
    _notify(
        session,
        settings,
        notice,
        agencies.values(),
        kind="closed",
        emails=emails,
        message=f"Clue notice {notice.reference} is closed: {outcome}",
    )
    return notice


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


# --- the public page -------------------------------------------------------------------------


def _published(session: Session, token: str) -> ClueNotice:
    if not token or len(token) > 64:
        raise NotFound("page")
    notice = session.scalar(select(ClueNotice).where(ClueNotice.public_token == token))
    if notice is None:
        raise NotFound("page")
    return notice


def _shown_images(session: Session, notice: ClueNotice) -> list[ClueImage]:
    if notice.status != NoticeStatus.OPEN:
        return []
    return list(
        session.scalars(
            select(ClueImage)
            .join(Clue, Clue.id == ClueImage.clue_id)
            .where(Clue.notice_id == notice.id, ClueImage.published)
            .order_by(Clue.number, ClueImage.attested_at)
        )
    )


def public_notice(session: Session, token: str) -> PublicNotice:
    """What anyone may see: the published objects, their captions and who is asking."""
    notice = _published(session, token)
    agency = session.get(Agency, notice.owner_agency_id)
    assert agency is not None
    shown = _shown_images(session, notice)
    _purge_throttle(session)
    audit.record(
        session,
        PUBLIC,
        action="notice.public.read",
        operation=Operation.CONSULTATION,
        subject_type="clue_notice",
        subject_id=notice.id,
        subject_agency_id=notice.owner_agency_id,
    )
    return PublicNotice(
        agency_name=agency.name,
        agency_country=regions.country_name(agency.country),
        images=[
            PublicImage(id=i.id, caption=i.public_caption, width=i.width, height=i.height)
            for i in shown
        ],
        open=notice.status == NoticeStatus.OPEN and bool(shown),
    )


def public_image(session: Session, token: str, image_id: uuid.UUID) -> ClueImage:
    notice = _published(session, token)
    image = next((i for i in _shown_images(session, notice) if i.id == image_id), None)
    if image is None:
        raise NotFound("image")
    audit.record(
        session,
        PUBLIC,
        action="notice.public.image",
        operation=Operation.CONSULTATION,
        subject_type="clue_image",
        subject_id=image.id,
        subject_agency_id=notice.owner_agency_id,
    )
    return image


def _address_key(settings: Settings, address: str | None) -> str:
    """A keyed hash of the sender's address: enough to count, useless without the key."""
    return hmac.new(
        settings.secret_key.encode(), f"tip:{address or 'unknown'}".encode(), hashlib.sha256
    ).hexdigest()


def _purge_throttle(session: Session) -> None:
    session.execute(delete(TipThrottle).where(TipThrottle.at < utcnow() - TIP_WINDOW))


def submit_tip(
    session: Session, settings: Settings, token: str, data: TipCreate, *, address: str | None
) -> PublicTip:
    """A public tip. Rate-limited per sender (by a keyed hash of the address, deleted when the
    window ends) and per notice; the address itself is never stored."""
    notice = _published(session, token)
    shown = _shown_images(session, notice)
    if not shown:
        raise Conflict("this appeal has ended")
    if data.image_id is not None and data.image_id not in {i.id for i in shown}:
        raise Invalid("image_id", "must be one of the objects shown on the page")
    seen_where = data.seen_where.strip()
    if len(seen_where) < 3:
        raise Invalid("seen_where", "say where you have seen the object (at least 3 characters)")
    country = regions.parse_country(data.country, "country") if data.country else None
    now = utcnow()
    _purge_throttle(session)
    key = _address_key(settings, address)
    recent = session.scalar(
        select(func.count()).where(TipThrottle.key_hash == key, TipThrottle.at >= now - TIP_WINDOW)
    )
    if (recent or 0) >= TIPS_PER_ADDRESS:
        raise RateLimited(
            f"too many tips from your connection; try again in {TIP_WINDOW.seconds // 60} minutes"
        )
    flood = session.scalar(
        select(func.count()).where(
            PublicTip.notice_id == notice.id, PublicTip.created_at >= now - timedelta(hours=1)
        )
    )
    if (flood or 0) >= TIPS_PER_NOTICE_HOUR:
        raise RateLimited("this appeal is receiving many tips; please try again in an hour")
    session.add(TipThrottle(key_hash=key, at=now))
    tip = PublicTip(
        notice_id=notice.id,
        image_id=data.image_id,
        seen_where=seen_where,
        country=country,
        message=data.message.strip(),
        contact=(data.contact or "").strip() or None,
        created_at=now,
    )
    session.add(tip)
    session.flush()
    clue_number = None
    if data.image_id is not None:
        clue_number = session.scalar(
            select(Clue.number)
            .join(ClueImage, ClueImage.clue_id == Clue.id)
            .where(ClueImage.id == data.image_id)
        )
    insert_new(
        session,
        [
            NoticeEvent(
                notice_id=notice.id,
                agency_id=None,
                actor_label="public",
                action="tip",
                detail={"clue": clue_number, "country": country},
            )
        ],
    )
    audit.record(
        session,
        PUBLIC,
        action="notice.tip",
        operation=Operation.COLLECTION,
        subject_type="clue_notice",
        subject_id=notice.id,
        subject_agency_id=notice.owner_agency_id,
        detail={"tip": str(tip.id), "contact_volunteered": tip.contact is not None},
    )
    owner = session.get(Agency, notice.owner_agency_id)
    assert owner is not None
    _notify(
        session,
        settings,
        notice,
        [owner],
        kind="tip",
        message=f"A public tip arrived for {notice.reference}"
        + (f" (clue {clue_number})" if clue_number else ""),
    )
    return tip


def region_catalogue() -> list[regions.Region]:
    return list(regions.catalogue().values())
