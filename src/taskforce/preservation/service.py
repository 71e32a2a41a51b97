"""Preservation requests: a 24/7 desk asks a provider to keep an account's data until a formal
request arrives (Budapest Convention Art. 29 and 30; Second Protocol Art. 9), and taskforce
tracks the request until the data is safe or lost.

The life of a request: **sent** (recorded, with its expiry: sent + `preservation_days`, 90 by
default) → **confirmed** (the provider's reference) → **extended** (once, by another term, as
Art. 29(7) allows; a second extension is refused) → **followed up** by a formal request (MLA,
production order) | **expired** (recorded by the reminder job at `expires_at`) | **withdrawn**.
Every step is a `PreservationEvent` and audited.

Decisions a reader would otherwise get wrong:

* The identifiers are selectors of a RED case of the requesting agency — a case the request
  names, else a new one, "Preservation <reference>" — added through the cases domain's one
  deconfliction path, so another agency asking about the same account meets them as a hit,
  and their validation and normalisation are the cases domain's (never copied here). Every
  identifier is checked before anything is written.
* A desk's people act for their agency. The network admin at the coordinator's desk keeps the
  watch but opens no cases in general; recording a preservation opens its own agency's RED case
  on its behalf (`recording._desk`), and nothing else.
* Only the requesting agency sees a request (another agency's gets 404, audited); the
  coordinator (OVERSEE_NETWORK) sees network-wide counts, never identifiers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from taskforce.agencies.models import Agency
from taskforce.cases.models import Case, Hit
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import Forbidden, Invalid, NotFound
from taskforce.core.settings import Settings
from taskforce.preservation.models import PreservationEvent, PreservationRequest
from taskforce.preservation.recording import (
    SOON,
    SUBJECT,
    next_check,
    parse_identifier,
    record,
    record_event,
    reminders_passed,
)
from taskforce.preservation.schemas import (
    ACTIVE,
    STATUS_LABELS,
    Confirm,
    Extend,
    FollowUp,
    IdentifierRead,
    PendingPreservation,
    PreservationRead,
    PreservationStatus,
    Withdraw,
)

__all__ = ["PendingPreservation", "parse_identifier", "pending_for", "record"]


# --- reading ------------------------------------------------------------------------------------


def _own(
    session: Session, caller: Caller, request_id: uuid.UUID, *, action: str
) -> PreservationRequest:
    """The request if it is the caller's agency's; otherwise NotFound, audited, exactly as for
    one that does not exist."""
    caller.require(Permission.KEEP_WATCH)
    request = session.get(PreservationRequest, request_id)
    if request is None or caller.agency_id is None or request.agency_id != caller.agency_id:
        sharing.refuse(
            session,
            caller,
            action=action,
            subject_type=SUBJECT,
            subject_id=request_id,
            missing="preservation request",
        )
    return request


def find(session: Session, caller: Caller, ref: str) -> PreservationRequest:
    """A request by its id or its reference (the CLI's argument); NotFound as `_own`."""
    try:
        return _own(session, caller, uuid.UUID(ref.strip()), action="preservation.read")
    except ValueError:
        pass
    caller.require(Permission.KEEP_WATCH)
    found = session.scalar(
        select(PreservationRequest).where(
            PreservationRequest.reference == ref.strip().upper(),
            PreservationRequest.agency_id == caller.agency_id,
        )
    )
    if found is None:
        raise NotFound("preservation request")
    return found


def require_desk(caller: Caller) -> None:
    """Only a member agency's 24/7 desk records requests (the record form asks first)."""
    caller.require(Permission.KEEP_WATCH)
    if caller.agency_id is None:
        raise Forbidden("only a member agency's 24/7 desk records preservation requests")


def own_case_id(session: Session, caller: Caller, ref: str) -> uuid.UUID:
    """A case of the caller's agency by its id or reference (`GB-NCA-2026-0007`), for the
    forms and the CLI; anything else is refused the same way, naming the field."""
    ref = ref.strip()
    try:
        condition = Case.id == uuid.UUID(ref)
    except ValueError:
        condition = Case.reference == ref.upper()
    case_id = session.scalar(
        select(Case.id).where(condition, sharing.owned_by(Case.owner_agency_id, caller))
    )
    if case_id is None or caller.agency_id is None:
        raise Invalid("case_id", "must be the id or reference of a case of your agency")
    return case_id


def describe(session: Session, request: PreservationRequest) -> PreservationRead:
    agency = session.get(Agency, request.agency_id)
    return PreservationRead(
        id=request.id,
        reference=request.reference,
        agency=agency.code if agency else "",
        case_id=request.case_id,
        requesting_country=request.requesting_country,
        provider=request.provider,
        provider_country=request.provider_country,
        provider_reference=request.provider_reference,
        identifiers=[
            IdentifierRead(
                type=str(i.get("type", "")),
                value=str(i.get("value", "")),
                platform=i.get("platform"),
                normalised=str(i.get("normalised", i.get("value", ""))),
            )
            for i in request.identifiers or []
        ],
        legal_basis=request.legal_basis,
        status=request.status,
        sent_at=request.sent_at,
        confirmed_at=request.confirmed_at,
        expires_at=request.expires_at,
        extended_at=request.extended_at,
        followed_up_at=request.followed_up_at,
        formal_reference=request.formal_reference,
        notes=request.notes,
        created_at=request.created_at,
    )


@dataclass
class PreservationView:
    request: PreservationRequest
    read: PreservationRead
    case_reference: str | None
    hits: int
    events: list[PreservationEvent]


def get(session: Session, caller: Caller, request_id: uuid.UUID) -> PreservationView:
    """One request with its timeline and its case; audited as a consultation."""
    request = _own(session, caller, request_id, action="preservation.read")
    audit.record(
        session,
        caller,
        action="preservation.read",
        operation=Operation.CONSULTATION,
        subject_type=SUBJECT,
        subject_id=request.id,
        subject_agency_id=request.agency_id,
    )
    case = session.get(Case, request.case_id) if request.case_id else None
    hits = 0
    if case is not None:
        hits = int(
            session.scalar(
                select(func.count())
                .select_from(Hit)
                .where(or_(Hit.a_case_id == case.id, Hit.b_case_id == case.id))
            )
            or 0
        )
    events = list(
        session.scalars(
            select(PreservationEvent)
            .where(PreservationEvent.request_id == request.id)
            .order_by(PreservationEvent.at, PreservationEvent.id)
        )
    )
    return PreservationView(
        request=request,
        read=describe(session, request),
        case_reference=case.reference if case else None,
        hits=hits,
        events=events,
    )


FILTERS = ("active", "expiring", "all", *(s.value for s in PreservationStatus))


def list_requests(
    session: Session,
    caller: Caller,
    *,
    status: str = "active",
    provider: str = "",
    limit: int = 100,
    offset: int = 0,
    now: datetime | None = None,
) -> tuple[list[PreservationRequest], int]:
    """The agency's requests: `active` (default, the soonest expiry first), `expiring` (within
    14 days), `all`, or one status; `provider` filters by name. Audited."""
    caller.require(Permission.KEEP_WATCH)
    now = now or utcnow()
    if status not in FILTERS:
        raise Invalid("status", f"one of: {', '.join(FILTERS)}")
    if caller.agency_id is None:
        return [], 0
    query = select(PreservationRequest).where(PreservationRequest.agency_id == caller.agency_id)
    active = [s.value for s in ACTIVE]
    if status in ("active", "expiring"):
        query = query.where(PreservationRequest.status.in_(active))
    elif status != "all":
        query = query.where(PreservationRequest.status == status)
    if status == "expiring":
        query = query.where(PreservationRequest.expires_at < now + SOON)
    if provider.strip():
        query = query.where(PreservationRequest.provider.ilike(f"%{provider.strip()[:100]}%"))
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    order = (
        (PreservationRequest.expires_at, PreservationRequest.reference)
        if status in ("active", "expiring", *active)
        else (PreservationRequest.created_at.desc(), PreservationRequest.reference)
    )
    rows = list(session.scalars(query.order_by(*order).limit(min(limit, 500)).offset(offset)))
    audit.record(
        session,
        caller,
        action="preservation.list",
        operation=Operation.CONSULTATION,
        detail={"status": status, "provider": provider.strip()[:100], "shown": len(rows)},
    )
    return rows, total


def pending_for(
    session: Session, agency_id: uuid.UUID, *, now: datetime | None = None
) -> list[PendingPreservation]:
    """The agency's requests still holding data (sent, confirmed, extended, not yet past their
    expiry), the soonest expiry first: what an outgoing desk hands over. Not audited here: the
    handover that shows them is."""
    now = now or utcnow()
    rows = session.scalars(
        select(PreservationRequest)
        .where(
            PreservationRequest.agency_id == agency_id,
            PreservationRequest.status.in_([s.value for s in ACTIVE]),
            PreservationRequest.expires_at > now,
        )
        .order_by(PreservationRequest.expires_at, PreservationRequest.reference)
    )
    return [
        PendingPreservation(
            id=r.id,
            reference=r.reference,
            provider=r.provider,
            expires_at=r.expires_at,
            status=r.status,
        )
        for r in rows
    ]


# --- the steps of a request ---------------------------------------------------------------------


def _change(
    session: Session,
    caller: Caller,
    request: PreservationRequest,
    kind: str,
    detail: str,
    now: datetime,
    *,
    justification: str | None = None,
) -> PreservationRequest:
    request.updated_at = now
    record_event(session, request, kind, detail, at=now, actor=caller.label)
    audit.record(
        session,
        caller,
        action=f"preservation.{kind}",
        operation=Operation.ALTERATION,
        subject_type=SUBJECT,
        subject_id=request.id,
        subject_agency_id=request.agency_id,
        justification=justification,
        detail={"reference": request.reference, "status": request.status},
    )
    session.flush()
    return request


def _refuse_closed(request: PreservationRequest, step: str) -> None:
    if request.status not in ACTIVE:
        raise Invalid(
            "status",
            f"the request is {STATUS_LABELS[request.status].lower()}; only a sent, confirmed or "
            f"extended request can be {step}",
        )


def _note(note: str) -> str:
    note = " ".join(note.split())
    return f": {note}" if note else ""


def confirm(
    session: Session,
    caller: Caller,
    request_id: uuid.UUID,
    data: Confirm,
    *,
    now: datetime | None = None,
) -> PreservationRequest:
    """The provider confirmed it keeps the data, under its reference."""
    now = now or utcnow()
    request = _own(session, caller, request_id, action="preservation.confirm")
    if request.status != PreservationStatus.SENT:
        raise Invalid(
            "status",
            f"only a sent request can be confirmed; this one is "
            f"{STATUS_LABELS[request.status].lower()}",
        )
    reference = data.provider_reference.strip() or request.provider_reference
    if not reference:
        raise Invalid("provider_reference", "give the provider's reference for the preservation")
    request.provider_reference = reference
    request.status = PreservationStatus.CONFIRMED.value
    request.confirmed_at = now
    return _change(
        session,
        caller,
        request,
        "confirmed",
        f"{request.provider} confirmed, reference {reference}{_note(data.note)}",
        now,
    )


def extend(
    session: Session,
    caller: Caller,
    settings: Settings,
    request_id: uuid.UUID,
    data: Extend,
    *,
    now: datetime | None = None,
) -> PreservationRequest:
    """Keep the data another term (`preservation_days`) from the current expiry; once only."""
    now = now or utcnow()
    request = _own(session, caller, request_id, action="preservation.extend")
    if request.extended_at is not None:
        raise Invalid(
            "extension",
            "a preservation is extended once only (Budapest Convention Art. 29(7)); this one "
            f"was extended on {request.extended_at:%Y-%m-%d}: follow it up with a formal request",
        )
    _refuse_closed(request, "extended")
    if request.expires_at <= now:
        raise Invalid("expires_at", "the preservation has already expired; it cannot be extended")
    old = request.expires_at
    request.expires_at = old + timedelta(days=settings.preservation_days)
    request.extended_at = now
    request.status = PreservationStatus.EXTENDED.value
    request.reminders_sent = reminders_passed(request, settings, now)
    request.check_at = next_check(request, settings)
    return _change(
        session,
        caller,
        request,
        "extended",
        f"extended by {settings.preservation_days} days: expires "
        f"{request.expires_at:%Y-%m-%d %H:%M} UTC (was {old:%Y-%m-%d %H:%M}){_note(data.note)}",
        now,
    )


def follow_up(
    session: Session,
    caller: Caller,
    request_id: uuid.UUID,
    data: FollowUp,
    *,
    now: datetime | None = None,
) -> PreservationRequest:
    """A formal request (MLA, production order) took over: the preservation has done its job."""
    now = now or utcnow()
    request = _own(session, caller, request_id, action="preservation.follow_up")
    _refuse_closed(request, "followed up")
    reference = " ".join(data.formal_reference.split())
    if not reference:
        raise Invalid("formal_reference", "give the formal request's reference")
    request.formal_reference = reference
    request.followed_up_at = now
    request.status = PreservationStatus.FOLLOWED_UP.value
    request.check_at = None
    return _change(
        session,
        caller,
        request,
        "followed_up",
        f"followed up by formal request {reference}{_note(data.note)}",
        now,
    )


def withdraw(
    session: Session,
    caller: Caller,
    request_id: uuid.UUID,
    data: Withdraw,
    *,
    now: datetime | None = None,
) -> PreservationRequest:
    """The data is no longer needed (the provider should be told by the desk)."""
    now = now or utcnow()
    request = _own(session, caller, request_id, action="preservation.withdraw")
    _refuse_closed(request, "withdrawn")
    reason = " ".join(data.reason.split())
    if len(reason) < 3:
        raise Invalid("reason", "say why the request is withdrawn (at least 3 characters)")
    request.status = PreservationStatus.WITHDRAWN.value
    request.check_at = None
    return _change(
        session, caller, request, "withdrawn", f"withdrawn: {reason}", now, justification=reason
    )
