"""Publishing a clue notice to the public page, taking it down, closing it, and the public
page itself: the published clues and images, and tips from the public under a throttle.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.auth.models import User
from taskforce.core.caller import Caller, Role
from taskforce.core.db import insert_new, utcnow
from taskforce.core.errors import Conflict, Invalid, NotFound, RateLimited
from taskforce.core.settings import Settings
from taskforce.notices import regions
from taskforce.notices.models import (
    Clue,
    ClueAnswer,
    ClueImage,
    ClueNotice,
    NoticeEvent,
    PublicTip,
    TipThrottle,
)
from taskforce.notices.schemas import (
    NoticeClose,
    NoticeStatus,
    Outcome,
    PublicImage,
    PublicNotice,
    PublishRequest,
    TipCreate,
)
from taskforce.notices.service import notify, owned, record_event, require_open
from taskforce.series import service as series_service
from taskforce.series.models import Victim
from taskforce.series.schemas import VictimIdentify

TIP_WINDOW = timedelta(minutes=10)
TIPS_PER_ADDRESS = 5  # per TIP_WINDOW, from one address
TIPS_PER_NOTICE_HOUR = 120  # a flood from many addresses still stops here
PUBLIC = Caller(role=Role.READ_ONLY, channel="public", email="member of the public")
# --- publishing and closing -----------------------------------------------------------------


def publish(
    session: Session, caller: Caller, notice_id: uuid.UUID, data: PublishRequest
) -> ClueNotice:
    """Show the chosen images, each with a caption written for the public, on the notice's
    public page. Images not chosen are taken off it; the address stays while published."""
    notice = owned(session, caller, notice_id, "notice.publish")
    require_open(notice)
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
    record_event(session, caller, notice, "published", images=len(chosen))
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
    notice = owned(session, caller, notice_id, "notice.unpublish")
    if notice.public_token is None:
        return notice
    _take_down(notice, session)
    notice.public_token = None
    session.flush()
    record_event(session, caller, notice, "withdrawn")
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
    notice = owned(session, caller, notice_id, "notice.close")
    require_open(notice)
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
    record_event(session, caller, notice, "closed", outcome=notice.outcome, country=country)
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
    notify(
        session,
        settings,
        notice,
        agencies.values(),
        kind="closed",
        emails=emails,
        message=f"Clue notice {notice.reference} is closed: {outcome}",
    )
    return notice


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
    notify(
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
