"""Posting to an agency's inbox; read and marked read from the inbox page."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.core.db import utcnow
from taskforce.core.inbox.models import InboxNotice


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
