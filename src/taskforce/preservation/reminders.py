"""Reminders before a preservation expires, and its expiry, as a background job (`core.jobs`).

A request's `check_at` is when the job must look at it next: the next reminder (by default 14,
then 3 days before `expires_at`, setting `preservation_reminder_days`), else the expiry. It is
also the lease: a worker claims due requests by pushing `check_at` to the end of a short lease,
then records each in its own transaction after the runner checked the lease is still its own;
a worker that dies leaves the lease to run out and the next round resumes the request.

A reminder goes to the agency's 24/7 address (outbox e-mail) and its inbox; reminders whose
day has passed (a worker that was down, a request recorded late) go as one. At `expires_at` a
request still sent, confirmed or extended is recorded as expired, and the desk told. Messages
name the request, the provider and the dates, never an identifier: the desk reads those in
taskforce, behind login and the audit log.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.inbox import service as inbox
from taskforce.core.jobs import runner as jobs
from taskforce.core.settings import Settings
from taskforce.preservation.models import PreservationRequest
from taskforce.preservation.recording import (
    SUBJECT,
    next_check,
    record_event,
    reminders_passed,
)
from taskforce.preservation.schemas import ACTIVE, LEGAL_BASIS_LABELS, PreservationStatus

LEASE = timedelta(minutes=5)  # a claimed request is left this long to the worker that took it
ACTOR = "preservation reminders"


def message_ref(request_id: uuid.UUID) -> str:
    return f"preservation_request:{request_id}"


def reminder_job(settings: Settings) -> jobs.Job[PreservationRequest, uuid.UUID, None]:
    """Open requests whose `check_at` has come: remind, or record the expiry."""
    return jobs.Job(
        name="preservation.reminders",
        model=PreservationRequest,
        lease_column=PreservationRequest.check_at,
        lease=LEASE,
        due=lambda now: [
            PreservationRequest.status.in_([s.value for s in ACTIVE]),
            PreservationRequest.check_at.is_not(None),
            PreservationRequest.check_at <= now,
        ],
        order=(PreservationRequest.check_at, PreservationRequest.id),
        take=lambda request: request.id,
        work=lambda _request_id: None,  # nothing slow: the e-mail goes through the outbox
        record=lambda session, request_id, _none, now: follow(session, settings, request_id, now),
    )


def follow(session: Session, settings: Settings, request_id: uuid.UUID, now: datetime) -> bool:
    """Send the reminder that is due or record the expiry; True when something was done."""
    request = session.get(PreservationRequest, request_id)
    if request is None:
        return False
    if request.status not in ACTIVE:
        request.check_at = None
        return False
    agency = session.get(Agency, request.agency_id)
    assert agency is not None
    if now >= request.expires_at:
        _expire(session, settings, request, agency, now)
        return True
    passed = reminders_passed(request, settings, now)
    done = passed > request.reminders_sent
    if done:
        _remind(session, settings, request, agency, now)
        request.reminders_sent = passed
    request.check_at = next_check(request, settings)
    session.flush()
    return done


def _when(at: datetime, agency: Agency) -> str:
    local = at.astimezone(ZoneInfo(agency.timezone))
    return f"{at:%Y-%m-%d %H:%M} UTC ({local:%Y-%m-%d %H:%M} {agency.timezone})"


def _days(delta: timedelta) -> str:
    days = delta.days
    if days >= 1:
        return f"{days} day{'' if days == 1 else 's'}"
    hours = max(int(delta.total_seconds() // 3600), 0)
    return f"{hours} hour{'' if hours == 1 else 's'}"


def _facts(request: PreservationRequest, agency: Agency) -> list[str]:
    return [
        f"  Request:   {request.reference} ({request.status.replace('_', ' ')})",
        f"  Provider:  {request.provider}"
        + (f" ({request.provider_country})" if request.provider_country else "")
        + (f", their reference {request.provider_reference}" if request.provider_reference else ""),
        f"  Basis:     {LEGAL_BASIS_LABELS.get(request.legal_basis, request.legal_basis)}",
        f"  Sent:      {_when(request.sent_at, agency)}",
        f"  Expires:   {_when(request.expires_at, agency)}",
    ]


def _remind(
    session: Session,
    settings: Settings,
    request: PreservationRequest,
    agency: Agency,
    now: datetime,
) -> None:
    left = _days(request.expires_at - now)
    link = f"/ui/preservations/{request.id}"
    can_extend = request.extended_at is None
    todo = (
        "Send the formal request (MLA, production order) and record it, or extend the "
        "preservation once (Art. 29(7)) if the formal request needs more time."
        if can_extend
        else "This preservation was extended already and cannot be extended again: send the "
        "formal request (MLA, production order) before it expires and record it."
    )
    title = f"Preservation {request.reference} at {request.provider} expires in {left}"
    body = "\n".join(
        [
            f"A preservation request of {agency.code} expires in {left}; the provider may delete "
            "the data after that.",
            "",
            *_facts(request, agency),
            "",
            todo,
            "",
            f"The request and its identifiers: {settings.public_url}{link}",
            "(This message names no identifier: read them in taskforce.)",
            "",
        ]
    )
    inbox.tell(
        session,
        agency_id=agency.id,
        email=agency.contact_email,
        kind="preservation.expiring",
        title=title,
        body=body,
        summary=todo,
        link=link,
        reference=message_ref(request.id),
        now=now,
    )
    record_event(
        session,
        request,
        "reminded",
        f"expires in {left}: {agency.contact_email} and the inbox reminded",
        at=now,
        actor=ACTOR,
    )
    audit.record(
        session,
        agency_service.job_caller(agency, ACTOR),
        action="preservation.remind",
        operation=Operation.DISCLOSURE,
        subject_type=SUBJECT,
        subject_id=request.id,
        subject_agency_id=agency.id,
        recipients=[agency.contact_email],
        detail={"reference": request.reference, "expires_in": left},
    )


def _expire(
    session: Session,
    settings: Settings,
    request: PreservationRequest,
    agency: Agency,
    now: datetime,
) -> None:
    request.status = PreservationStatus.EXPIRED.value
    request.check_at = None
    request.updated_at = now
    link = f"/ui/preservations/{request.id}"
    title = f"Preservation {request.reference} at {request.provider} expired"
    body = "\n".join(
        [
            f"A preservation request of {agency.code} expired with no formal request recorded; "
            "the provider may delete the data now.",
            "",
            *_facts(request, agency),
            "",
            f"The request: {settings.public_url}{link}",
            "",
        ]
    )
    inbox.tell(
        session,
        agency_id=agency.id,
        email=agency.contact_email,
        kind="preservation.expired",
        title=title,
        body=body,
        summary="No formal request was recorded before the expiry.",
        link=link,
        reference=message_ref(request.id),
        now=now,
    )
    record_event(
        session,
        request,
        "expired",
        f"expired at {request.expires_at:%Y-%m-%d %H:%M} UTC with no formal request recorded",
        at=now,
        actor=ACTOR,
    )
    audit.record(
        session,
        agency_service.job_caller(agency, ACTOR),
        action="preservation.expire",
        operation=Operation.ALTERATION,
        subject_type=SUBJECT,
        subject_id=request.id,
        subject_agency_id=agency.id,
        recipients=[agency.contact_email],
        detail={"reference": request.reference},
    )
    session.flush()
