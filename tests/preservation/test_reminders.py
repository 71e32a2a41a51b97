"""The reminder job with a given clock: reminders 14 and 3 days before expiry to the desk's 24/7
address and inbox, the expiry recorded at `expires_at`, an extension starting them again, and
an interrupted run resumed once its lease ran out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from preservation_builders import Desks, record
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.core.inbox import service as inbox
from taskforce.core.jobs import runner as jobs
from taskforce.core.outbox import service as outbox
from taskforce.core.settings import Settings
from taskforce.preservation import reminders, service
from taskforce.preservation.models import PreservationEvent, PreservationRequest
from taskforce.preservation.schemas import Extend

EXPIRES = datetime(2026, 5, 30, 14, 30, tzinfo=UTC)  # sent 2026-03-01 14:30 + 90 days


def _run(session: Session, settings: Settings, now: datetime) -> jobs.Run:
    return jobs.run_here(session, reminders.reminder_job(settings), limit=10, now=now)


def _subjects(session: Session, request: PreservationRequest) -> list[str]:
    return [m.subject for m in outbox.messages_for(session, [reminders.message_ref(request.id)])]


def test_reminded_14_and_3_days_before_then_expired(
    session: Session, settings: Settings, desks: Desks
) -> None:
    request = record(session, settings, desks.gb)
    assert request.expires_at == EXPIRES
    assert request.check_at == EXPIRES - timedelta(days=14)
    assert _run(session, settings, EXPIRES - timedelta(days=15)).claimed == 0

    assert _run(session, settings, EXPIRES - timedelta(days=14)).done == 1
    assert _subjects(session, request) == [
        f"Preservation {request.reference} at Fictional Mail Ltd expires in 14 days"
    ]
    [message] = outbox.messages_for(session, [reminders.message_ref(request.id)])
    assert message.recipient == "desk@gb-nca.example.com"
    assert "night.fox" not in message.body.lower()  # never an identifier in a message
    assert f"/ui/preservations/{request.id}" in message.body
    [notice] = inbox.notices(session, desks.gb.caller.agency_id)  # type: ignore[arg-type]
    assert notice.kind == "preservation.expiring"
    assert notice.link == f"/ui/preservations/{request.id}"
    assert request.check_at == EXPIRES - timedelta(days=3)
    assert _run(session, settings, EXPIRES - timedelta(days=13)).claimed == 0

    assert _run(session, settings, EXPIRES - timedelta(days=2, hours=12)).done == 1
    assert _subjects(session, request)[-1].endswith("expires in 2 days")
    assert request.check_at == EXPIRES

    assert _run(session, settings, EXPIRES).done == 1
    expired = session.get(PreservationRequest, request.id, populate_existing=True)
    assert expired is not None
    assert (expired.status, expired.check_at) == ("expired", None)
    assert _subjects(session, request)[-1] == (
        f"Preservation {request.reference} at Fictional Mail Ltd expired"
    )
    kinds = session.scalars(
        select(PreservationEvent.kind)
        .where(PreservationEvent.request_id == request.id)
        .order_by(PreservationEvent.at)
    ).all()
    assert kinds == ["recorded", "case", "reminded", "reminded", "expired"]
    assert _run(session, settings, EXPIRES + timedelta(days=30)).claimed == 0
    assert service.pending_for(session, request.agency_id, now=EXPIRES) == []


def test_a_late_worker_sends_one_reminder_for_the_days_it_missed(
    session: Session, settings: Settings, desks: Desks
) -> None:
    request = record(session, settings, desks.gb)
    assert _run(session, settings, EXPIRES - timedelta(days=1)).done == 1
    assert _subjects(session, request) == [
        f"Preservation {request.reference} at Fictional Mail Ltd expires in 1 day"
    ]
    assert request.check_at == EXPIRES


def test_an_extension_starts_the_reminders_again_and_a_followed_up_request_has_none(
    session: Session, settings: Settings, desks: Desks
) -> None:
    request = record(session, settings, desks.gb)
    _run(session, settings, EXPIRES - timedelta(days=10))
    service.extend(
        session, desks.gb.caller, settings, request.id, Extend(), now=EXPIRES - timedelta(days=9)
    )
    assert request.expires_at == EXPIRES + timedelta(days=90)
    assert request.check_at == EXPIRES + timedelta(days=76)
    assert _run(session, settings, EXPIRES).claimed == 0  # the old expiry passes quietly
    assert _run(session, settings, EXPIRES + timedelta(days=76)).done == 1
    assert _subjects(session, request)[-1].endswith("expires in 14 days")
    assert (
        "cannot be extended again"
        in outbox.messages_for(session, [reminders.message_ref(request.id)])[-1].body
    )


def test_an_interrupted_run_resumes_once_its_lease_runs_out(
    session: Session, settings: Settings, desks: Desks
) -> None:
    request = record(session, settings, desks.gb)
    due = EXPIRES - timedelta(days=14)
    job = reminders.reminder_job(settings)
    [claimed] = jobs.claim(session, job, limit=10, now=due)  # a worker that then died
    assert claimed.item_id == request.id
    assert _run(session, settings, due + timedelta(minutes=1)).claimed == 0  # leased
    resumed = _run(session, settings, due + reminders.LEASE + timedelta(seconds=1))
    assert (resumed.claimed, resumed.done) == (1, 1)
    assert len(_subjects(session, request)) == 1


def test_the_reminder_days_are_a_setting(
    session: Session, settings: Settings, desks: Desks
) -> None:
    assert Settings(
        allow_insecure_defaults=True, preservation_reminder_days=[3, 30, 3]
    ).preservation_reminder_days == [30, 3]
    with pytest.raises(ValidationError, match="preservation_reminder_days"):
        Settings(allow_insecure_defaults=True, preservation_reminder_days=[0])
    monthly = settings.model_copy(update={"preservation_reminder_days": [30]})
    request = record(session, monthly, desks.gb)
    assert request.check_at == EXPIRES - timedelta(days=30)
    assert _run(session, monthly, EXPIRES - timedelta(days=30)).done == 1
    assert request.check_at == EXPIRES
