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

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import exists, func, or_, select, text
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import insert_new, is_postgres, utcnow
from taskforce.core.errors import Conflict, Forbidden, Invalid, NotFound
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
)
from taskforce.notices.schemas import (
    ATTESTATION,
    AnswerCreate,
    ClueCreate,
    ClueKind,
    Confidence,
    NoticeCreate,
    NoticeStatus,
)
from taskforce.series import service as series_service

MAX_CLUES = 30
MAX_IMAGES_PER_CLUE = 6


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


def reach_clause(session: Session, caller: Caller) -> Any:
    country = _country_of(session, caller)
    targeted = exists().where(NoticeTarget.notice_id == ClueNotice.id)
    mine = exists().where(NoticeTarget.notice_id == ClueNotice.id, NoticeTarget.country == country)
    return or_(sharing.owned_by(ClueNotice.owner_agency_id, caller), ~targeted, mine)


def visible(session: Session, caller: Caller, notice_id: uuid.UUID, action: str) -> ClueNotice:
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


def owned(session: Session, caller: Caller, notice_id: uuid.UUID, action: str) -> ClueNotice:
    notice = visible(session, caller, notice_id, action)
    sharing.require_owner(
        notice, caller, Forbidden("only the agency that wrote the notice changes it")
    )
    caller.require(Permission.MANAGE_SERIES)
    return notice


def require_open(notice: ClueNotice) -> None:
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


def record_event(
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


def notify(
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
    record_event(
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
    notify(
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
    record_event(session, caller, notice, "clue", number=clue.number, kind=clue.kind)
    return clue


def add_clue(session: Session, caller: Caller, notice_id: uuid.UUID, data: ClueCreate) -> Clue:
    notice = owned(session, caller, notice_id, "notice.clue.add")
    require_open(notice)
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
    notice = owned(session, caller, notice_id, "notice.image.add")
    require_open(notice)
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
    record_event(session, caller, notice, "image", clue=clue.number, removed=list(clean.removed))
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
    notice = visible(session, caller, notice_id, "notice.answer")
    if sharing.is_owner(notice, caller):
        raise Forbidden("the agency that wrote the notice does not answer it")
    caller.require(Permission.MANAGE_SERIES)
    require_open(notice)
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
    record_event(
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
    notify(
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
