"""Urgent leads: a public report of a child in immediate danger, or of a grooming conversation
with a meeting planned, goes at once to the 24/7 desks of the agencies concerned, must be
acknowledged within `urgent_ack_minutes`, and escalates to the network coordinator if not.

Who is alerted (`open_lead`): for the reporter's country, every active law-enforcement agency
(the first desk to acknowledge takes the lead), else its hotline(s); the same for the suspect's
country when it is known and different. A country with no member agency, or a report naming no
country, goes to the network coordinator at once. With no coordinator either, the lead still
exists, says that nobody could be alerted, and stays due so it escalates the moment one is
registered.

What they are told: e-mail to the desk's 24/7 address and, where the agency has one, a webhook,
both queued in the report's transaction (`core.outbox`). Messages carry the kind, the country,
the times (UTC and the desk's local time) and a link, never report content: the desk reads the
report in taskforce, behind login and the audit log.

Escalation (`escalation_job`) is a job of the background runner (`core.jobs`), possibly in
several processes at once. A lead's `check_at` is its next deadline; a worker claims due leads
by pushing `check_at` to the end of a short lease, then follows each up in its own transaction,
after the runner has locked the row again and checked that the lease is still the one it took.
The first time, the lead escalates to the coordinator; afterwards every target is reminded
every `urgent_ack_minutes` until a desk acknowledges. Acknowledging locks the same row, so a
lead is acknowledged once and never escalated after it was.

Every step is a timestamped `UrgentLeadStep`; creation, escalation, reminders, reads and the
acknowledgement are audited.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.agencies.schemas import AgencyKind
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission, Role
from taskforce.core.db import is_postgres, utcnow
from taskforce.core.errors import Conflict, Invalid, NotFound
from taskforce.core.jobs import runner as jobs
from taskforce.core.outbox import service as outbox
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings
from taskforce.watch.models import UrgentLead, UrgentLeadStep, UrgentLeadTarget
from taskforce.watch.schemas import (
    NOTE_MAX,
    STEP_LABELS,
    LeadMessageRead,
    LeadRead,
    LeadState,
    LeadStepRead,
    LeadSummary,
    LeadTargetRead,
    StepKind,
    TargetReason,
    kind_label,
)

# The watch acts for nobody in particular: its audit entries say "24/7 watch", channel "job".
WATCH = Caller(role=Role.NETWORK_ADMIN, channel="job", email="24/7 watch")

CLAIM_LEASE = timedelta(minutes=2)  # how long a claimed lead is left to the worker that took it
UNREACHABLE_RETRY = timedelta(minutes=1)  # a lead nobody could be told of: look for a coordinator

# Steps written in one transaction share one time; this order keeps them readable.
_STEP_ORDER: dict[str, int] = {
    StepKind.CREATED: 0,
    StepKind.TO_COORDINATOR: 1,
    StepKind.UNREACHABLE: 1,
    StepKind.ESCALATED: 2,
    StepKind.NO_COORDINATOR: 2,
    StepKind.REMINDER: 2,
    StepKind.NOTIFIED: 3,
    StepKind.ACKNOWLEDGED: 4,
    StepKind.ACK_NOTIFIED: 5,
}


# --- times ------------------------------------------------------------------------------------


def utc_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime(fmt) + " UTC"


def local_time(
    value: datetime | None,
    timezone: str | None,
    fmt: str = "%Y-%m-%d %H:%M",
    *,
    zone_name: bool = False,
) -> str:
    """`value` on the clock of an IANA zone, with its abbreviation ("03:58 CET"); with
    `zone_name`, the IANA name too ("03:58 CET, Europe/Paris"), since abbreviations repeat."""
    if value is None:
        return "—"
    try:
        zone = ZoneInfo(timezone) if timezone else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = value.astimezone(zone)
    text = f"{local.strftime(fmt)} {local.tzname()}"
    return f"{text}, {zone.key}" if zone_name else text


def minutes(delta: timedelta) -> int:
    """Whole minutes, rounded down (a deadline 59 seconds away is "0 min left")."""
    return int(delta.total_seconds() // 60)


# --- helpers ----------------------------------------------------------------------------------


def _reference(lead_id: uuid.UUID) -> str:
    return f"urgent_lead:{lead_id}"


def _country(value: str | None, field: str) -> str | None:
    if value is None or not value.strip():
        return None
    code = value.strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise Invalid(field, "an ISO 3166-1 alpha-2 country code, e.g. GB")
    return code


def _step(
    session: Session,
    lead: UrgentLead,
    step: StepKind,
    *,
    at: datetime,
    agency: Agency | None = None,
    detail: str = "",
) -> None:
    session.add(
        UrgentLeadStep(
            lead_id=lead.id,
            at=at,
            step=step.value,
            agency_id=agency.id if agency else None,
            detail=detail[:1000],
        )
    )


def _link(settings: Settings, lead: UrgentLead) -> str:
    return f"{settings.public_url.rstrip('/')}/ui/leads/{lead.id}"


def _targets(session: Session, lead_id: uuid.UUID) -> list[tuple[UrgentLeadTarget, Agency]]:
    rows = session.execute(
        select(UrgentLeadTarget, Agency)
        .join(Agency, Agency.id == UrgentLeadTarget.agency_id)
        .where(UrgentLeadTarget.lead_id == lead_id)
        .order_by(UrgentLeadTarget.added_at, Agency.code)
    ).all()
    return [(t, a) for t, a in rows]


def _report_facts(lead: UrgentLead) -> tuple[str, datetime]:
    """The report's kind and arrival time: the only things of the report the watch knows,
    kept on the lead when it was opened."""
    return lead.kind, lead.received_at


def _uncovered(lead: UrgentLead, targets: Sequence[tuple[UrgentLeadTarget, Agency]]) -> str:
    """Why the coordinator had the lead at once: "no member agency in XX" / "no country"."""
    reasons = {t.reason for t, _ in targets}
    missing = []
    if lead.reporter_country and TargetReason.REPORTER_COUNTRY.value not in reasons:
        missing.append(lead.reporter_country)
    if (
        lead.suspect_country
        and lead.suspect_country != lead.reporter_country
        and TargetReason.SUSPECT_COUNTRY.value not in reasons
    ):
        missing.append(lead.suspect_country)
    if not lead.reporter_country and not lead.suspect_country:
        return "no country given"
    return "no member agency in " + " or ".join(missing) if missing else "no member agency"


def _why(lead: UrgentLead, target: UrgentLeadTarget, uncovered: str) -> str:
    reason = target.reason
    if reason == TargetReason.REPORTER_COUNTRY:
        return f"reporter's country ({lead.reporter_country})"
    if reason == TargetReason.SUSPECT_COUNTRY:
        return f"suspect's country ({lead.suspect_country})"
    if reason == TargetReason.NO_MEMBER_AGENCY:
        return f"network coordinator: {uncovered}"
    return "escalation: not acknowledged in time"


# --- messages ---------------------------------------------------------------------------------


_NO_CONTENT = (
    "This message deliberately carries no report content. Read the report in taskforce,\n"
    "where every read is recorded."
)


def _facts(lead: UrgentLead, agency: Agency, *, kind: str, received_at: datetime) -> list[str]:
    lines = [f"What:            {kind_label(kind)}"]
    lines.append(f"Reported from:   {lead.reporter_country or 'country not given'}")
    if lead.suspect_country:
        lines.append(f"Suspect's country: {lead.suspect_country}")
    lines.append(
        f"Received:        {utc_time(received_at)} = "
        f"{local_time(received_at, agency.timezone, zone_name=True)}"
    )
    lines.append(
        f"Acknowledge by:  {utc_time(lead.ack_due_at)} = "
        f"{local_time(lead.ack_due_at, agency.timezone, zone_name=True)}"
    )
    return lines


def _queue(
    session: Session,
    settings: Settings,
    lead: UrgentLead,
    agency: Agency,
    *,
    event: str,
    subject: str,
    body: str,
    now: datetime,
    kind: str,
    extra: dict[str, Any] | None = None,
) -> str:
    """E-mail to the desk and, where the agency has one, a webhook; returns how it was told."""
    reference = _reference(lead.id)
    outbox.enqueue_email(
        session,
        recipient=agency.contact_email,
        subject=subject,
        body=body,
        reference=reference,
        now=now,
    )
    told = f"e-mail to {agency.contact_email}"
    if agency.webhook_url:
        payload: dict[str, Any] = {
            "event": event,
            "lead": str(lead.id),
            "kind": kind,
            "ack_due_at": lead.ack_due_at.isoformat(timespec="seconds")
            if lead.ack_due_at
            else None,
            "url": _link(settings, lead),
            **(extra or {}),
        }
        outbox.enqueue_webhook(
            session,
            url=agency.webhook_url,
            event=event,
            body=json.dumps(payload, separators=(",", ":")),
            reference=reference,
            now=now,
        )
        told += " and webhook"
    return told


def _alert(
    session: Session,
    settings: Settings,
    lead: UrgentLead,
    agency: Agency,
    *,
    kind: str,
    why: str,
    received_at: datetime,
    coordinator: Agency | None,
    others: Sequence[Agency],
    now: datetime,
) -> str:
    country = lead.reporter_country or "country not given"
    subject = (
        f"URGENT lead: {kind_label(kind)}, reported from {country} "
        f"- acknowledge by {utc_time(lead.ack_due_at, '%H:%M')}"
    )
    lines = [
        f"URGENT LEAD for the 24/7 desk of {agency.code} ({agency.name})",
        "",
        *_facts(lead, agency, kind=kind, received_at=received_at),
        f"Why your desk:   {why}",
        "",
        "Open the lead and acknowledge it (login required):",
        _link(settings, lead),
        "",
    ]
    if others:
        lines.append(
            "Also alerted: "
            + ", ".join(a.code for a in others)
            + ". The first desk to acknowledge takes the lead."
        )
    if coordinator is not None and coordinator.id != agency.id:
        lines.append(
            "If no desk acknowledges it by then, it escalates to the network coordinator "
            f"({coordinator.code})."
        )
    elif coordinator is not None:
        lines.append(
            "If it is not acknowledged by then, reminders follow every "
            f"{settings.urgent_ack_minutes} minutes."
        )
    else:  # no coordinator registered: nobody to escalate to yet
        lines.append(
            "If no desk acknowledges it by then, reminders follow every "
            f"{settings.urgent_ack_minutes} minutes."
        )
    lines += ["", _NO_CONTENT, ""]
    return _queue(
        session,
        settings,
        lead,
        agency,
        event="urgent_lead.created",
        subject=subject,
        body="\n".join(lines),
        now=now,
        kind=kind,
    )


def _desk(agency: Agency) -> str:
    return f"{agency.code} ({agency.contact_desk}, {agency.contact_phone})"


# --- opening a lead ---------------------------------------------------------------------------


def _resolve(
    session: Session, reporter_country: str | None, suspect_country: str | None
) -> tuple[list[tuple[Agency, TargetReason]], list[str]]:
    """The desks to alert with why, and what no member agency covers (countries, or "no
    country given")."""
    chosen: dict[uuid.UUID, tuple[Agency, TargetReason]] = {}
    uncovered: list[str] = []
    countries = [(reporter_country, TargetReason.REPORTER_COUNTRY)]
    if suspect_country and suspect_country != reporter_country:
        countries.append((suspect_country, TargetReason.SUSPECT_COUNTRY))
    if not reporter_country and not suspect_country:
        uncovered.append("no country given")
    for country, reason in countries:
        if not country:
            continue
        agencies = agency_service.of_kind_in(
            session, AgencyKind.LAW_ENFORCEMENT, country
        ) or agency_service.of_kind_in(session, AgencyKind.HOTLINE, country)
        if not agencies:
            uncovered.append(f"no member agency in {country}")
        for agency in agencies:
            chosen.setdefault(agency.id, (agency, reason))
    return list(chosen.values()), uncovered


def open_lead(
    session: Session,
    settings: Settings,
    *,
    report_id: uuid.UUID,
    kind: str,
    reason: str,
    reporter_country: str | None,
    suspect_country: str | None,
    received_at: datetime,
    now: datetime | None = None,
) -> UrgentLead:
    """Open the urgent lead of a stored report and queue the alerts, in the caller's
    transaction (right after the report). A report that already has a lead keeps it.
    ``now`` is the clock (tests and replays pass their own; steps sort by it)."""
    existing = session.scalar(select(UrgentLead).where(UrgentLead.report_id == report_id))
    if existing is not None:
        return existing
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    reporter = _country(reporter_country, "reporter_country")
    suspect = _country(suspect_country, "suspect_country")
    now = now or utcnow()
    ack_due = received_at + timedelta(minutes=settings.urgent_ack_minutes)
    lead = UrgentLead(
        id=uuid.uuid4(),
        report_id=report_id,
        created_at=now,
        kind=kind,
        received_at=received_at,
        reason=reason.strip()[:200],
        reporter_country=reporter,
        suspect_country=suspect,
        ack_due_at=ack_due,
        check_at=ack_due,
        acknowledged_by="",
    )
    session.add(lead)
    session.flush()

    desks, uncovered = _resolve(session, reporter, suspect)
    coordinator = agency_service.coordinator(session)
    countries = f"reporter's country {reporter or 'not given'}"
    if suspect:
        countries += f", suspect's country {suspect}"
    _step(
        session,
        lead,
        StepKind.CREATED,
        at=now,
        detail=f"{kind_label(kind)}{': ' + lead.reason if lead.reason else ''} ({countries}); "
        f"acknowledge by {utc_time(ack_due)}",
    )
    targets: list[tuple[Agency, str]] = []
    for agency, why in desks:
        session.add(
            UrgentLeadTarget(lead_id=lead.id, agency_id=agency.id, reason=why.value, added_at=now)
        )
        label = (
            f"reporter's country ({reporter})"
            if why == TargetReason.REPORTER_COUNTRY
            else f"suspect's country ({suspect})"
        )
        targets.append((agency, label))
    gap = " and ".join(uncovered)
    if uncovered and coordinator is not None:
        session.add(
            UrgentLeadTarget(
                lead_id=lead.id,
                agency_id=coordinator.id,
                reason=TargetReason.NO_MEMBER_AGENCY.value,
                added_at=now,
            )
        )
        _step(
            session,
            lead,
            StepKind.TO_COORDINATOR,
            at=now,
            agency=coordinator,
            detail=f"{gap}: sent to the network coordinator {coordinator.code} at once",
        )
        targets.append((coordinator, f"network coordinator: {gap}"))
    elif uncovered and not targets:
        _step(
            session,
            lead,
            StepKind.UNREACHABLE,
            at=now,
            detail=f"nobody could be alerted: {gap}, and no network coordinator is registered; "
            "the lead escalates as soon as one is",
        )
        lead.check_at = min(received_at, now)  # due at once, and again until someone is told
    elif uncovered:
        _step(
            session,
            lead,
            StepKind.NO_COORDINATOR,
            at=now,
            detail=f"{gap}, and no network coordinator is registered to take it",
        )
    session.flush()

    for agency, label in targets:
        others = [a for a, _ in targets if a.id != agency.id]
        told = _alert(
            session,
            settings,
            lead,
            agency,
            kind=kind,
            why=label,
            received_at=received_at,
            coordinator=coordinator,
            others=others,
            now=now,
        )
        _step(session, lead, StepKind.NOTIFIED, at=now, agency=agency, detail=told)
    audit.record(
        session,
        WATCH,
        action="report.urgent_lead.create",
        operation=Operation.DISCLOSURE,
        subject_type="urgent_lead",
        subject_id=lead.id,
        recipients=[a.code for a, _ in targets],
        detail={
            "report_id": str(report_id),
            "kind": kind,
            "reporter_country": reporter,
            "suspect_country": suspect,
            "uncovered": uncovered,
        },
    )
    session.flush()
    return lead


# --- reading ----------------------------------------------------------------------------------


def lead_of(session: Session, report_id: uuid.UUID) -> UrgentLead | None:
    """The lead of a report, if it has one (a report has at most one)."""
    return session.scalar(select(UrgentLead).where(UrgentLead.report_id == report_id))


@dataclass(frozen=True)
class LeadStatus:
    """What the hotline holding a report may know of its lead: who was told, who took it."""

    lead_id: uuid.UUID
    created_at: datetime
    ack_due_at: datetime | None
    told: tuple[str, ...]  # agency codes, in the order they were told
    acknowledged_at: datetime | None
    acknowledged_by: str | None  # the acknowledging agency's code
    escalated_at: datetime | None


def lead_status(session: Session, report_id: uuid.UUID) -> LeadStatus | None:
    """The lead of a report, for the report's page (the lead page itself is the desks')."""
    lead = lead_of(session, report_id)
    if lead is None:
        return None
    told = tuple(agency.code for _target, agency in _targets(session, lead.id))
    by = (
        agency_service.get(session, lead.acknowledged_by_agency_id)
        if (lead.acknowledged_by_agency_id)
        else None
    )
    return LeadStatus(
        lead_id=lead.id,
        created_at=lead.created_at,
        ack_due_at=lead.ack_due_at,
        told=told,
        acknowledged_at=lead.acknowledged_at,
        acknowledged_by=by.code if by else None,
        escalated_at=lead.escalated_at,
    )


def is_target(session: Session, caller: Caller, report_id: uuid.UUID) -> bool:
    """Whether the caller's agency was sent the lead of this report (so its desk may read the
    report itself)."""
    if caller.agency_id is None:
        return False
    query = select(
        exists().where(
            UrgentLead.report_id == report_id,
            UrgentLeadTarget.lead_id == UrgentLead.id,
            UrgentLeadTarget.agency_id == caller.agency_id,
        )
    )
    return bool(session.scalar(query))


def unacknowledged_count(session: Session, caller: Caller) -> int:
    """Open leads sent to the caller's agency (the navigation badge; not audited)."""
    if caller.agency_id is None or not caller.can(Permission.HANDLE_REPORTS):
        return 0
    query = (
        select(func.count())
        .select_from(UrgentLeadTarget)
        .join(UrgentLead, UrgentLead.id == UrgentLeadTarget.lead_id)
        .where(UrgentLeadTarget.agency_id == caller.agency_id, UrgentLead.acknowledged_at.is_(None))
    )
    return int(session.scalar(query) or 0)


def _summaries(
    session: Session, rows: Sequence[tuple[UrgentLead, str, datetime]]
) -> list[LeadSummary]:
    ids = [lead.id for lead, _, _ in rows]
    codes: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    if ids:
        for lead_id, code in session.execute(
            select(UrgentLeadTarget.lead_id, Agency.code)
            .join(Agency, Agency.id == UrgentLeadTarget.agency_id)
            .where(UrgentLeadTarget.lead_id.in_(ids))
            .order_by(UrgentLeadTarget.added_at, Agency.code)
        ):
            codes[lead_id].append(code)
    acknowledgers = agency_service.agencies_by_id(
        session,
        {lead.acknowledged_by_agency_id for lead, _, _ in rows if lead.acknowledged_by_agency_id},
    )
    out = []
    for lead, kind, received_at in rows:
        ack_agency = lead.acknowledged_by_agency_id
        by = acknowledgers.get(ack_agency) if ack_agency else None
        out.append(
            LeadSummary(
                id=lead.id,
                report_id=lead.report_id,
                kind=kind,
                kind_label=kind_label(kind),
                reason=lead.reason,
                reporter_country=lead.reporter_country,
                suspect_country=lead.suspect_country,
                received_at=received_at,
                created_at=lead.created_at,
                ack_due_at=lead.ack_due_at,
                acknowledged_at=lead.acknowledged_at,
                acknowledged_by=lead.acknowledged_by,
                acknowledged_by_agency=by.code if by else None,
                escalated_at=lead.escalated_at,
                targets=codes[lead.id],
            )
        )
    return out


def list_leads(
    session: Session, caller: Caller, *, state: LeadState | str = LeadState.OPEN, limit: int = 100
) -> list[LeadSummary]:
    """Leads sent to the caller's agency: unacknowledged first, then newest. Audited."""
    caller.require(Permission.HANDLE_REPORTS)
    state = LeadState(state)
    query = (
        select(UrgentLead, UrgentLead.kind, UrgentLead.received_at)
        .join(
            UrgentLeadTarget,
            and_(
                UrgentLeadTarget.lead_id == UrgentLead.id,
                UrgentLeadTarget.agency_id == caller.agency_id,
            ),
        )
        .order_by(
            case((UrgentLead.acknowledged_at.is_(None), 0), else_=1),
            UrgentLead.created_at.desc(),
            UrgentLead.id,
        )
        .limit(max(1, min(limit, 500)))
    )
    if state == LeadState.OPEN:
        query = query.where(UrgentLead.acknowledged_at.is_(None))
    rows = [(lead, str(kind), received) for lead, kind, received in session.execute(query)]
    audit.record(
        session,
        caller,
        action="report.urgent_lead.list",
        operation=Operation.CONSULTATION,
        detail={"state": state.value, "shown": len(rows)},
    )
    return _summaries(session, rows)


def _visible(
    session: Session, caller: Caller, lead_id: uuid.UUID, *, lock: bool = False
) -> UrgentLead:
    """The lead if the caller's agency is one of its targets; otherwise NotFound, exactly as
    for a lead that does not exist."""
    if caller.agency_id is None:
        raise NotFound("urgent lead")
    query = (
        select(UrgentLead)
        .join(UrgentLeadTarget, UrgentLeadTarget.lead_id == UrgentLead.id)
        .where(UrgentLead.id == lead_id, UrgentLeadTarget.agency_id == caller.agency_id)
        .execution_options(populate_existing=True)
    )
    if lock and is_postgres(session):
        query = query.with_for_update(of=UrgentLead)
    lead = session.scalar(query)
    if lead is None:
        raise NotFound("urgent lead")
    return lead


_PURPOSES = (  # (webhook event, e-mail subject prefix, purpose)
    ("urgent_lead.created", "URGENT lead", "alert"),
    ("urgent_lead.escalated", "ESCALATED", "escalation"),
    ("urgent_lead.reminder", "REMINDER", "reminder"),
    ("urgent_lead.acknowledged", "Urgent lead acknowledged", "acknowledged"),
)


def _purpose(message: OutboxMessage) -> str:
    for event, prefix, purpose in _PURPOSES:
        if message.subject == event or message.subject.startswith(prefix):
            return purpose
    return "other"


def _message_status(message: OutboxMessage) -> str:
    if message.sent_at is not None:
        return "sent"
    if message.attempts >= outbox.MAX_ATTEMPTS:
        return "failed"
    return "retrying" if message.attempts else "queued"


def _messages(
    session: Session, caller: Caller, lead: UrgentLead, agencies: Sequence[Agency]
) -> list[LeadMessageRead]:
    """What went out about the lead. Another agency's webhook address may hold a secret: it is
    shown (and left in error texts) only to that agency."""
    by_email: dict[str, Agency] = {}
    by_hook: dict[str, Agency] = {}
    for agency in agencies:
        by_email.setdefault(agency.contact_email, agency)
        if agency.webhook_url:
            by_hook.setdefault(agency.webhook_url, agency)
    out = []
    for m in outbox.messages_for(session, [_reference(lead.id)]):
        to = (by_email if m.channel == "email" else by_hook).get(m.recipient)
        recipient, error = m.recipient, m.last_error
        if m.channel != "email" and (to is None or to.id != caller.agency_id):
            recipient = f"webhook of {to.code}" if to else "webhook"
            if error:
                error = error.replace(m.recipient, "(webhook address)")
        out.append(
            LeadMessageRead(
                channel=m.channel,
                recipient=recipient,
                agency=to.code if to else None,
                purpose=_purpose(m),
                subject=m.subject,
                created_at=m.created_at,
                sent_at=m.sent_at,
                attempts=m.attempts,
                last_error=error,
                status=_message_status(m),
            )
        )
    out.sort(key=lambda m: (m.created_at, m.agency or "", m.channel))
    return out


def _describe(session: Session, caller: Caller, lead: UrgentLead) -> LeadRead:
    kind, received_at = _report_facts(lead)
    [summary] = _summaries(session, [(lead, kind, received_at)])
    targets = _targets(session, lead.id)
    uncovered = _uncovered(lead, targets)
    steps = list(session.scalars(select(UrgentLeadStep).where(UrgentLeadStep.lead_id == lead.id)))
    steps.sort(key=lambda s: (s.at, _STEP_ORDER.get(s.step, 9)))
    codes = agency_service.agencies_by_id(
        session, {s.agency_id for s in steps if s.agency_id} | {a.id for _, a in targets}
    )
    note = next((s.detail for s in reversed(steps) if s.step == StepKind.ACKNOWLEDGED.value), "")
    return LeadRead(
        lead=summary,
        note=note,
        targets=[
            LeadTargetRead(
                agency=a.code,
                name=a.name,
                country=a.country,
                kind=a.kind,
                timezone=a.timezone,
                contact_desk=a.contact_desk,
                contact_phone=a.contact_phone,
                contact_email=a.contact_email,
                reason=TargetReason(t.reason),
                why=_why(lead, t, uncovered),
                added_at=t.added_at,
            )
            for t, a in targets
        ],
        steps=[
            LeadStepRead(
                at=s.at,
                step=s.step,
                label=STEP_LABELS.get(s.step, s.step),
                agency=codes[s.agency_id].code if s.agency_id in codes else None,
                detail=s.detail,
            )
            for s in steps
        ],
        messages=_messages(session, caller, lead, [a for _, a in targets]),
    )


def get_lead(session: Session, caller: Caller, lead_id: uuid.UUID) -> LeadRead:
    """One lead sent to the caller's agency, with its desks, steps and deliveries. Audited."""
    caller.require(Permission.HANDLE_REPORTS)
    lead = _visible(session, caller, lead_id)
    audit.record(
        session,
        caller,
        action="report.urgent_lead.read",
        operation=Operation.CONSULTATION,
        subject_type="urgent_lead",
        subject_id=lead.id,
        detail={"report_id": str(lead.report_id)},
    )
    return _describe(session, caller, lead)


# --- acknowledging ----------------------------------------------------------------------------


def acknowledge(
    session: Session, caller: Caller, lead_id: uuid.UUID, *, note: str = ""
) -> UrgentLead:
    """A desk of a targeted agency takes the lead: nothing escalates after this, and the other
    desks are told who took it. A second acknowledgement is a Conflict naming the first."""
    caller.require(Permission.HANDLE_REPORTS)
    lead = _visible(session, caller, lead_id, lock=True)
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise Invalid("note", f"at most {NOTE_MAX} characters")
    if lead.acknowledged_at is not None:
        raise Conflict(
            f"this urgent lead was already acknowledged by {lead.acknowledged_by} "
            f"at {utc_time(lead.acknowledged_at, '%Y-%m-%d %H:%M:%S')}"
        )
    now = utcnow()
    agency = session.get(Agency, caller.agency_id)
    assert agency is not None
    lead.acknowledged_at = now
    lead.acknowledged_by_agency_id = agency.id
    lead.acknowledged_by_user_id = caller.user_id
    lead.acknowledged_by = caller.label[:320]
    lead.check_at = None
    _step(session, lead, StepKind.ACKNOWLEDGED, at=now, agency=agency, detail=note)
    targets = _targets(session, lead.id)
    kind, received_at = _report_facts(lead)
    others = [a for _, a in targets if a.id != agency.id and a.is_active]
    waited = minutes(now - received_at)
    for other in others:
        subject = (
            f"Urgent lead acknowledged by {agency.code}: {kind_label(kind)}, reported from "
            f"{lead.reporter_country or 'country not given'}"
        )
        body = "\n".join(
            [
                f"The urgent lead sent to your desk ({other.code}) has been taken.",
                "",
                f"Acknowledged by: {lead.acknowledged_by}",
                f"At:              {utc_time(now)} = "
                f"{local_time(now, other.timezone, zone_name=True)}",
                f"                 ({waited} min after the report arrived)",
                f"Their 24/7 desk: {_desk(agency)}",
                f"What:            {kind_label(kind)}",
                f"Received:        {utc_time(received_at)}",
                "",
                "No action is needed from your desk unless they ask for it; the lead stays",
                "in your list of leads in taskforce.",
                "",
                _NO_CONTENT,
                "",
            ]
        )
        outbox.enqueue_email(
            session,
            recipient=other.contact_email,
            subject=subject,
            body=body,
            reference=_reference(lead.id),
            now=now,
        )
    hooks = [a for _, a in targets if a.webhook_url and a.is_active]
    for target in hooks:
        assert target.webhook_url is not None
        payload = {
            "event": "urgent_lead.acknowledged",
            "lead": str(lead.id),
            "kind": kind,
            "acknowledged_at": now.isoformat(timespec="seconds"),
            "acknowledged_by_agency": agency.code,
        }
        outbox.enqueue_webhook(
            session,
            url=target.webhook_url,
            event="urgent_lead.acknowledged",
            body=json.dumps(payload, separators=(",", ":")),
            reference=_reference(lead.id),
            now=now,
        )
    if others:
        _step(
            session,
            lead,
            StepKind.ACK_NOTIFIED,
            at=now,
            agency=agency,
            detail=f"told {', '.join(a.code for a in others)} that {agency.code} took it",
        )
    audit.record(
        session,
        caller,
        action="report.urgent_lead.acknowledge",
        operation=Operation.ALTERATION,
        subject_type="urgent_lead",
        subject_id=lead.id,
        recipients=[a.code for a in others],
        detail={
            "report_id": str(lead.report_id),
            "minutes_after_receipt": waited,
            "note": bool(note),
        },
    )
    session.flush()
    return lead


# --- escalation (the background worker) ------------------------------------------------------


def _escalate(
    session: Session,
    settings: Settings,
    lead: UrgentLead,
    coordinator: Agency,
    targets: Sequence[tuple[UrgentLeadTarget, Agency]],
    *,
    kind: str,
    received_at: datetime,
    now: datetime,
) -> None:
    n = settings.urgent_ack_minutes
    if not any(a.id == coordinator.id for _, a in targets):
        session.add(
            UrgentLeadTarget(
                lead_id=lead.id,
                agency_id=coordinator.id,
                reason=TargetReason.ESCALATION.value,
                added_at=now,
            )
        )
    desks = [a for _, a in targets if a.id != coordinator.id]
    if targets:
        detail = f"not acknowledged within {n} minutes: escalated to {coordinator.code}"
        waited = f"Not acknowledged within {n} minutes by: " + (
            "; ".join(_desk(a) for a in desks) or f"{coordinator.code} (your desk)"
        )
    else:
        detail = (
            f"nobody could be alerted when it arrived: sent to the network coordinator "
            f"{coordinator.code} as soon as one was registered"
        )
        waited = "Nobody could be alerted when it arrived: no desk covered it."
    _step(session, lead, StepKind.ESCALATED, at=now, agency=coordinator, detail=detail)
    subject = (
        f"ESCALATED urgent lead: {kind_label(kind)}, reported from "
        f"{lead.reporter_country or 'country not given'} - not acknowledged"
    )
    body = "\n".join(
        [
            f"ESCALATED URGENT LEAD for the network coordinator's 24/7 desk ({coordinator.code})",
            "",
            waited,
            "",
            *_facts(lead, coordinator, kind=kind, received_at=received_at),
            "",
            "Open the lead and acknowledge it, or make sure a desk does (login required):",
            _link(settings, lead),
            "",
            f"Reminders follow every {n} minutes until a desk acknowledges it.",
            "",
            _NO_CONTENT,
            "",
        ]
    )
    told = _queue(
        session,
        settings,
        lead,
        coordinator,
        event="urgent_lead.escalated",
        subject=subject,
        body=body,
        now=now,
        kind=kind,
    )
    _step(session, lead, StepKind.NOTIFIED, at=now, agency=coordinator, detail=told)
    lead.escalated_at = now
    lead.check_at = now + timedelta(minutes=n)
    audit.record(
        session,
        WATCH,
        action="report.urgent_lead.escalate",
        operation=Operation.DISCLOSURE,
        subject_type="urgent_lead",
        subject_id=lead.id,
        recipients=[coordinator.code],
        detail={
            "report_id": str(lead.report_id),
            "minutes": n,
            "not_acknowledged_by": [a.code for a in desks],
        },
    )


def _remind(
    session: Session,
    settings: Settings,
    lead: UrgentLead,
    targets: Sequence[tuple[UrgentLeadTarget, Agency]],
    *,
    kind: str,
    received_at: datetime,
    now: datetime,
) -> None:
    n = settings.urgent_ack_minutes
    due = lead.ack_due_at or now
    late = minutes(now - due)
    desks = [a for _, a in targets if a.is_active]
    for agency in desks:
        subject = (
            f"REMINDER urgent lead not acknowledged: {kind_label(kind)}, reported from "
            f"{lead.reporter_country or 'country not given'} - overdue by {late} min"
        )
        body = "\n".join(
            [
                f"REMINDER for the 24/7 desk of {agency.code}: this urgent lead is still not "
                f"acknowledged, {late} minutes after its deadline.",
                "",
                *_facts(lead, agency, kind=kind, received_at=received_at),
                "Alerted:         " + ", ".join(a.code for a in desks),
                "",
                "Open the lead and acknowledge it (login required):",
                _link(settings, lead),
                "",
                f"Reminders follow every {n} minutes until a desk acknowledges it.",
                "",
                _NO_CONTENT,
                "",
            ]
        )
        _queue(
            session,
            settings,
            lead,
            agency,
            event="urgent_lead.reminder",
            subject=subject,
            body=body,
            now=now,
            kind=kind,
            extra={"overdue_minutes": late},
        )
    reminded = ", ".join(a.code for a in desks) or "nobody (no active desk)"
    _step(
        session,
        lead,
        StepKind.REMINDER,
        at=now,
        detail=f"not acknowledged, {late} min after the deadline: reminded {reminded}",
    )
    lead.check_at = now + timedelta(minutes=n)
    audit.record(
        session,
        WATCH,
        action="report.urgent_lead.remind",
        operation=Operation.DISCLOSURE,
        subject_type="urgent_lead",
        subject_id=lead.id,
        recipients=[a.code for a in desks],
        detail={"report_id": str(lead.report_id), "overdue_minutes": late},
    )


def _follow_up(session: Session, settings: Settings, lead_id: uuid.UUID, *, now: datetime) -> bool:
    """Escalate or remind one claimed lead (the runner holds its row and checked the lease);
    False when there was nothing left to do."""
    lead = session.get(UrgentLead, lead_id)
    if lead is None:
        return False
    if lead.acknowledged_at is not None:
        lead.check_at = None
        return False
    kind, received_at = _report_facts(lead)
    targets = _targets(session, lead.id)
    if lead.escalated_at is None:
        coordinator = agency_service.coordinator(session)
        if coordinator is not None:
            _escalate(
                session,
                settings,
                lead,
                coordinator,
                targets,
                kind=kind,
                received_at=received_at,
                now=now,
            )
            session.flush()
            return True
        noted = session.scalar(
            select(
                exists().where(
                    UrgentLeadStep.lead_id == lead.id,
                    UrgentLeadStep.step.in_(
                        [StepKind.NO_COORDINATOR.value, StepKind.UNREACHABLE.value]
                    ),
                )
            )
        )
        if not noted:
            _step(
                session,
                lead,
                StepKind.NO_COORDINATOR,
                at=now,
                detail=f"not acknowledged within {settings.urgent_ack_minutes} minutes, and no "
                "network coordinator is registered: the lead escalates as soon as one is",
            )
        if not targets:
            lead.check_at = now + UNREACHABLE_RETRY
            session.flush()
            return True
    _remind(session, settings, lead, targets, kind=kind, received_at=received_at, now=now)
    session.flush()
    return True


def escalation_job(settings: Settings) -> jobs.Job[UrgentLead, uuid.UUID, None]:
    """The worker's job (`core.jobs`): escalate leads past their deadline to the network
    coordinator, then remind every desk each `urgent_ack_minutes` until one acknowledges.
    Claims push `check_at` to the lease's end; each lead is followed up in its own
    transaction, so several workers may run it at once. A run's `done` counts the leads it
    escalated or reminded."""
    return jobs.Job(
        name="urgent_lead.follow_up",
        model=UrgentLead,
        lease_column=UrgentLead.check_at,
        lease=CLAIM_LEASE,
        due=lambda now: [UrgentLead.acknowledged_at.is_(None), UrgentLead.check_at <= now],
        order=(UrgentLead.check_at, UrgentLead.id),
        take=lambda lead: lead.id,
        work=lambda _lead_id: None,
        record=lambda session, lead_id, _, now: _follow_up(session, settings, lead_id, now=now),
    )
