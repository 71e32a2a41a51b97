"""Writing a preservation request: its checks (the identifiers through the cases domain's
selector rules), its reference, its RED case and the timeline's events; when the reminder job
must look at it next. `service` reads and moves requests; this module is what they share."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.cases import additions as case_additions
from taskforce.cases import service as case_service
from taskforce.cases.models import Case
from taskforce.cases.schemas import CaseCreate, CaseStatus, SelectorCreate
from taskforce.cases.selectors import NormalisedSelector, normalise, parse_kind
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission, Role
from taskforce.core.db import is_postgres, utcnow
from taskforce.core.errors import Forbidden, Invalid
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.preservation.models import PreservationEvent, PreservationRequest
from taskforce.preservation.schemas import (
    ACTIVE,
    LEGAL_BASIS_LABELS,
    IdentifierIn,
    LegalBasis,
    PreservationCreate,
    PreservationStatus,
)

SOON = timedelta(days=14)  # "expiring soon" in lists and counts
FUTURE_SLACK = timedelta(minutes=5)  # a clock a little ahead is not "sent in the future"
SUBJECT = "preservation_request"


# --- small helpers ------------------------------------------------------------------------------


def record_event(
    session: Session,
    request: PreservationRequest,
    kind: str,
    detail: str,
    *,
    at: datetime,
    actor: str,
) -> None:
    """One line of the timeline. Events of one moment keep the order they were written in (a
    microsecond apart), so "recorded" never sorts after "case"."""
    last: dict[uuid.UUID, datetime] = session.info.setdefault("preservation_event_at", {})
    previous = last.get(request.id)
    if previous is not None and at <= previous < at + timedelta(milliseconds=1):
        at = previous + timedelta(microseconds=1)
    last[request.id] = at
    session.add(
        PreservationEvent(
            id=uuid.uuid4(),
            request_id=request.id,
            at=at,
            kind=kind,
            actor=actor[:320],
            detail=detail[:1000],
        )
    )


def _country(value: str | None, field: str) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return agency_service.normalise_country(value)
    except Invalid as exc:
        raise Invalid(field, exc.rule) from None


def _legal_basis(value: str) -> str:
    name = value.strip().lower()
    if name not in {b.value for b in LegalBasis}:
        raise Invalid("legal_basis", "must be one of: " + ", ".join(b.value for b in LegalBasis))
    return name


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise Invalid(field, "must carry a time zone, e.g. 2026-03-01T09:00:00Z")
    return value


def parse_identifier(text_: str, index: int) -> IdentifierIn:
    """`type:value` as typed on the command line or in the form, `username:platform:handle`
    for usernames (`email:fox@example.com`, `url:https://example.com/a`); refusals name the
    place as the API does (`identifiers.2.type`)."""
    field = f"identifiers.{index}"
    kind, sep, rest = text_.strip().partition(":")
    if not sep or not kind.strip() or not rest.strip():
        raise Invalid(field, "each identifier is type:value, e.g. email:fox@example.com")
    try:
        is_username = parse_kind(kind).value == "username"
    except Invalid as exc:
        raise Invalid(f"{field}.type", exc.rule) from None
    if is_username:
        platform, sep, handle = rest.partition(":")
        if not sep or not platform.strip() or not handle.strip():
            raise Invalid(field, "a username is username:platform:handle, e.g. username:kik:fox")
        return IdentifierIn(type=kind.strip(), value=handle.strip(), platform=platform.strip())
    return IdentifierIn(type=kind.strip(), value=rest.strip())


def _checked_identifiers(
    caller: Caller, items: Sequence[IdentifierIn]
) -> list[tuple[IdentifierIn, NormalisedSelector]]:
    """Each identifier through the cases domain's selector rules; the first bad one refused,
    naming its place (`identifiers.2.value`)."""
    checked: list[tuple[IdentifierIn, NormalisedSelector]] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(items):
        try:
            selector = normalise(
                parse_kind(item.type),
                item.value,
                platform=item.platform,
                default_region=caller.country,
            )
        except Invalid as exc:
            raise Invalid(f"identifiers.{i}.{exc.field}", exc.rule) from None
        if (selector.kind.value, selector.key) in seen:
            continue
        seen.add((selector.kind.value, selector.key))
        checked.append((item, selector))
    return checked


def _desk(caller: Caller) -> Caller:
    """The caller as its agency's desk for the case work a preservation needs (see the module
    docstring): the coordinator's network admin opens its own agency's RED case through it."""
    if caller.can(Permission.OPEN_CASE) and caller.can(Permission.ADD_SELECTOR):
        return caller
    return dataclasses.replace(caller, role=Role.INVESTIGATOR)


def _next_reference(session: Session, country: str, now: datetime) -> str:
    """`PR-NL-2026-0007`: readable over the phone; numbered per requesting country and year."""
    prefix = f"PR-{country}-{now.year}-"
    if is_postgres(session):
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"preservation:{prefix}"}
        )
    last = session.scalar(
        select(PreservationRequest.reference)
        .where(PreservationRequest.reference.startswith(prefix))
        .order_by(PreservationRequest.reference.desc())
        .limit(1)
    )
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{number:04d}"


def next_check(request: PreservationRequest, settings: Settings) -> datetime | None:
    """When the reminder job must look next: the next reminder not yet sent, else the expiry;
    None once the request is closed."""
    if request.status not in ACTIVE:
        return None
    days = settings.preservation_reminder_days
    if request.reminders_sent < len(days):
        return request.expires_at - timedelta(days=days[request.reminders_sent])
    return request.expires_at


def reminders_passed(request: PreservationRequest, settings: Settings, now: datetime) -> int:
    """How many of the reminders fall at or before `now` (they are sent as one, or skipped)."""
    return sum(
        1
        for d in settings.preservation_reminder_days
        if request.expires_at - timedelta(days=d) <= now
    )


def _agency(session: Session, caller: Caller) -> Agency:
    if caller.agency_id is None:
        raise Forbidden("only a member agency's 24/7 desk records preservation requests")
    agency = session.get(Agency, caller.agency_id)
    assert agency is not None
    return agency


# --- recording ----------------------------------------------------------------------------------


def _target_case(
    session: Session, caller: Caller, case_id: uuid.UUID | None, reference: str, provider: str
) -> Case:
    desk = _desk(caller)
    if case_id is None:
        return case_service.open_case(
            session,
            desk,
            CaseCreate(
                title=f"Preservation {reference}",
                summary=f"Identifiers of preservation request {reference} at {provider}.",
                sharing=SharingLevel.RED,
            ),
        )
    case = session.get(Case, case_id)
    if case is None or not sharing.is_owner(case, caller):
        raise Invalid("case_id", "must be a case of your agency")
    if case.sharing != SharingLevel.RED:
        raise Invalid(
            "case_id",
            "must be a RED case: a preservation's identifiers are shared with nobody (leave it "
            "empty to open a new RED case)",
        )
    if case.status == CaseStatus.CLOSED.value:
        raise Invalid("case_id", f"case {case.reference} is closed; reopen it or leave it empty")
    return case


def record(
    session: Session,
    caller: Caller,
    settings: Settings,
    data: PreservationCreate,
    *,
    now: datetime | None = None,
) -> PreservationRequest:
    """Record a request sent to a provider; its identifiers become selectors of a RED case of
    the agency and are deconflicted at once. Everything is checked before anything is
    written; the interfaces roll back a refusal."""
    caller.require(Permission.KEEP_WATCH)
    now = now or utcnow()
    agency = _agency(session, caller)
    provider = " ".join(data.provider.split())
    if not provider:
        raise Invalid("provider", "must not be empty")
    provider_country = _country(data.provider_country, "provider_country")
    requesting = _country(data.requesting_country, "requesting_country") or agency.country
    legal_basis = _legal_basis(data.legal_basis)
    sent_at = _aware(data.sent_at, "sent_at") if data.sent_at else now
    if sent_at > now + FUTURE_SLACK:
        raise Invalid("sent_at", "must not be in the future")
    expires_at = (
        _aware(data.expires_at, "expires_at")
        if data.expires_at
        else sent_at + timedelta(days=settings.preservation_days)
    )
    if expires_at <= sent_at:
        raise Invalid("expires_at", "must be after sent_at, the time the request was sent")
    checked = _checked_identifiers(caller, data.identifiers)

    reference = _next_reference(session, requesting, now)
    case = _target_case(session, caller, data.case_id, reference, provider)
    request = PreservationRequest(
        id=uuid.uuid4(),
        reference=reference,
        agency_id=agency.id,
        case_id=case.id,
        requesting_country=requesting,
        provider=provider,
        provider_country=provider_country,
        provider_reference=data.provider_reference.strip(),
        identifiers=[
            {
                "type": s.kind.value,
                "value": item.value.strip(),
                **({"platform": s.platform} if s.platform else {}),
                "normalised": s.value,
            }
            for item, s in checked
        ],
        legal_basis=legal_basis,
        status=PreservationStatus.SENT.value,
        sent_at=sent_at,
        expires_at=expires_at,
        formal_reference="",
        notes=data.notes.strip(),
        reminders_sent=0,
        created_at=now,
        updated_at=now,
        created_by_id=caller.user_id,
    )
    request.reminders_sent = reminders_passed(request, settings, now)
    request.check_at = next_check(request, settings)
    session.add(request)
    session.flush()
    record_event(
        session,
        request,
        "recorded",
        f"sent to {provider} on {sent_at:%Y-%m-%d %H:%M} UTC under "
        f"{LEGAL_BASIS_LABELS[legal_basis]}; "
        f"expires {expires_at:%Y-%m-%d %H:%M} UTC",
        at=now,
        actor=caller.label,
    )
    hits = 0
    desk = _desk(caller)
    for _, selector in checked:
        added = case_additions.add_selector(
            session,
            desk,
            settings,
            case_id=case.id,
            data=SelectorCreate(
                type=selector.kind.value,
                value=selector.value,
                platform=selector.platform,
                note=f"preservation {reference} at {provider}"[:500],
            ),
        )
        hits += len(added.hits)
    record_event(
        session,
        request,
        "case",
        f"{len(checked)} identifier{'' if len(checked) == 1 else 's'} on case {case.reference}"
        + (f"; {hits} hit{'' if hits == 1 else 's'} with other agencies" if hits else ""),
        at=now,
        actor=caller.label,
    )
    audit.record(
        session,
        caller,
        action="preservation.record",
        operation=Operation.COLLECTION,
        subject_type=SUBJECT,
        subject_id=request.id,
        subject_agency_id=agency.id,
        detail={
            "reference": reference,
            "case": case.reference,
            "identifiers": len(checked),
            "hits": hits,
        },
    )
    session.flush()
    return request
