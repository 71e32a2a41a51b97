"""Posting to an agency's inbox (and telling its desk by e-mail too, `tell`); read and marked
read from the inbox page."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import NotFound
from taskforce.core.inbox.models import InboxNotice
from taskforce.core.outbox import service as outbox


def post(
    session: Session,
    agency_id: uuid.UUID,
    *,
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    now: datetime | None = None,
) -> InboxNotice:
    """Adds a notice in the caller's transaction (it appears when that commits)."""
    notice = InboxNotice(
        agency_id=agency_id,
        kind=kind,
        title=title,
        body=body,
        link=link,
        created_at=now or utcnow(),
    )
    session.add(notice)
    return notice


def tell(
    session: Session,
    *,
    agency_id: uuid.UUID,
    email: str,
    kind: str,
    title: str,
    body: str,
    summary: str = "",
    link: str = "",
    reference: str,
    subject: str | None = None,
    now: datetime | None = None,
) -> InboxNotice:
    """Tells an agency something by e-mail to its 24/7 address and by a notice in its inbox,
    both in the caller's transaction (neither goes out unless the change commits).

    The two go together because each misses what the other gives: a desk reads its mail at
    3 a.m., when nobody is signed in; the inbox is the record in the app, read and marked read
    by name. The e-mail's subject is `title` (or `subject`, where the mail must say more, e.g.
    "ESCALATED"), its text `body`; the notice shows `title`, `summary` and `link`. Core knows no
    agencies: the caller passes the agency's id and address.
    """
    now = now or utcnow()
    outbox.enqueue_email(
        session,
        recipient=email,
        subject=title if subject is None else subject,
        body=body,
        reference=reference,
        now=now,
    )
    return post(session, agency_id, kind=kind, title=title[:300], body=summary, link=link, now=now)


def unread_count(session: Session, agency_id: uuid.UUID) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(InboxNotice)
            .where(InboxNotice.agency_id == agency_id, InboxNotice.read_at.is_(None))
        )
        or 0
    )


def notices(session: Session, agency_id: uuid.UUID, *, limit: int = 100) -> list[InboxNotice]:
    return list(
        session.scalars(
            select(InboxNotice)
            .where(InboxNotice.agency_id == agency_id)
            .order_by(InboxNotice.created_at.desc())
            .limit(limit)
        )
    )


# --- the inbox page (the hits inbox lists the agency's notices above its hits) ----------------


def unread_for(session: Session, caller: Caller) -> int:
    """The header's count of the caller's agency's unread notices (counts only)."""
    if caller.agency_id is None or not caller.can(Permission.READ):
        return 0
    return unread_count(session, caller.agency_id)


def notices_for(session: Session, caller: Caller, *, limit: int = 50) -> list[InboxNotice]:
    """The caller's agency's notices, newest first; none for a caller of no agency."""
    if caller.agency_id is None or not caller.can(Permission.READ):
        return []
    return notices(session, caller.agency_id, limit=limit)


def mark_read(
    session: Session, caller: Caller, notice_id: uuid.UUID, *, now: datetime | None = None
) -> InboxNotice:
    """Marks a notice of the caller's agency read (once: the first reader stays named);
    another agency's notice is NotFound, like a missing one."""
    caller.require(Permission.READ)
    notice = session.get(InboxNotice, notice_id)
    if notice is None or caller.agency_id is None or notice.agency_id != caller.agency_id:
        raise NotFound("notice")
    if notice.read_at is None:
        notice.read_at = now or utcnow()
        notice.read_by = caller.label[:320]
        audit.record(
            session,
            caller,
            action="inbox.notice.read",
            operation=Operation.ALTERATION,
            subject_type="inbox_notice",
            subject_id=notice.id,
            subject_agency_id=notice.agency_id,
            detail={"kind": notice.kind},
        )
        session.flush()
    return notice
