"""Telling an agency: one call queues the e-mail to its desk and posts the inbox notice, both in
the caller's transaction, so a change that is rolled back tells nobody."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from builders import make_agency
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.core.inbox import service as inbox
from taskforce.core.inbox.models import InboxNotice
from taskforce.core.outbox.models import OutboxMessage

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
REFERENCE = "inbox-test:1"


def _tell(session: Session, agency_id: uuid.UUID, **extra: str) -> InboxNotice:
    return inbox.tell(
        session,
        agency_id=agency_id,
        email="desk@gb-nca.example.com",
        kind="test.told",
        title="Something to act on",
        body="The whole story, for the desk at 3 a.m.",
        summary="The short of it.",
        link="/ui/somewhere",
        reference=REFERENCE,
        now=NOW,
        **extra,
    )


def _counts(session: Session) -> tuple[int, int]:
    mails = session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.reference == REFERENCE)
    )
    notices = session.scalar(
        select(func.count()).select_from(InboxNotice).where(InboxNotice.kind == "test.told")
    )
    return int(mails or 0), int(notices or 0)


def test_one_call_gives_one_email_and_one_notice(session: Session) -> None:
    agency = make_agency(session)
    session.commit()
    notice = _tell(session, agency.id)
    session.commit()
    assert _counts(session) == (1, 1)
    mail = session.scalars(select(OutboxMessage).where(OutboxMessage.reference == REFERENCE)).one()
    assert (mail.channel, mail.recipient) == ("email", "desk@gb-nca.example.com")
    assert mail.subject == "Something to act on"
    assert mail.body == "The whole story, for the desk at 3 a.m."
    assert mail.sent_at is None
    assert mail.created_at == NOW
    stored = session.get(InboxNotice, notice.id)
    assert stored is not None
    assert (stored.agency_id, stored.kind, stored.title) == (
        agency.id,
        "test.told",
        "Something to act on",
    )
    assert (stored.body, stored.link, stored.created_at) == (
        "The short of it.",
        "/ui/somewhere",
        NOW,
    )
    assert inbox.unread_count(session, agency.id) == 1


def test_the_email_may_say_more_in_its_subject(session: Session) -> None:
    agency = make_agency(session)
    notice = _tell(session, agency.id, subject="ESCALATED Something to act on")
    session.flush()
    mail = session.scalars(select(OutboxMessage).where(OutboxMessage.reference == REFERENCE)).one()
    assert mail.subject == "ESCALATED Something to act on"
    assert notice.title == "Something to act on"


def test_a_rolled_back_change_tells_nobody(session: Session) -> None:
    agency = make_agency(session)
    session.commit()
    _tell(session, agency.id)
    session.flush()
    assert _counts(session) == (1, 1)
    session.rollback()
    assert _counts(session) == (0, 0)
    assert inbox.unread_count(session, agency.id) == 0
