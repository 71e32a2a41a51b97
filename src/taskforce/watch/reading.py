"""Reading urgent leads: a report's lead and its status, the desks' list, one lead with its
steps and the messages sent for it; a lead reaches only the desks it targets.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, case, exists, func, select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.outbox import service as outbox
from taskforce.core.outbox.models import OutboxMessage
from taskforce.watch.messages import (
    lead_reference,
    lead_targets,
    report_facts,
    uncovered_desks,
    why_targeted,
)
from taskforce.watch.models import UrgentLead, UrgentLeadStep, UrgentLeadTarget
from taskforce.watch.schemas import (
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
from taskforce.watch.service import STEP_ORDER, visible_lead

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
    told = tuple(agency.code for _target, agency in lead_targets(session, lead.id))
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


def lead_taken(report_id: SQLColumnExpression[uuid.UUID]) -> ColumnElement[bool]:
    """Whether the report's urgent lead was acknowledged by a desk, as SQL: the hotline's queue
    no longer puts such a report first as urgent."""
    return exists().where(
        UrgentLead.report_id == report_id, UrgentLead.acknowledged_at.is_not(None)
    )


def taken_by(session: Session, report_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The agency code that acknowledged each report's lead, for the reports whose lead was
    taken (the queue says so instead of "new")."""
    if not report_ids:
        return {}
    rows = session.execute(
        select(UrgentLead.report_id, Agency.code)
        .join(Agency, Agency.id == UrgentLead.acknowledged_by_agency_id)
        .where(UrgentLead.report_id.in_(list(report_ids)), UrgentLead.acknowledged_at.is_not(None))
    )
    return {row.report_id: row.code for row in rows}


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


def open_leads(session: Session, caller: Caller, *, limit: int = 50) -> list[LeadSummary]:
    """The coordinator's view: every lead no desk has acknowledged yet, the longest waiting
    first, with the desks it went to (no report content). Audited."""
    caller.require(Permission.OVERSEE_NETWORK)
    query = (
        select(UrgentLead, UrgentLead.kind, UrgentLead.received_at)
        .where(UrgentLead.acknowledged_at.is_(None))
        .order_by(UrgentLead.received_at, UrgentLead.id)
        .limit(max(1, min(limit, 500)))
    )
    rows = [(lead, str(kind), received) for lead, kind, received in session.execute(query)]
    audit.record(
        session,
        caller,
        action="report.urgent_lead.overview",
        operation=Operation.CONSULTATION,
        detail={"shown": len(rows)},
    )
    return _summaries(session, rows)


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
    for m in outbox.messages_for(session, [lead_reference(lead.id)]):
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
    kind, received_at = report_facts(lead)
    [summary] = _summaries(session, [(lead, kind, received_at)])
    targets = lead_targets(session, lead.id)
    uncovered = uncovered_desks(lead, targets)
    steps = list(session.scalars(select(UrgentLeadStep).where(UrgentLeadStep.lead_id == lead.id)))
    steps.sort(key=lambda s: (s.at, STEP_ORDER.get(s.step, 9)))
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
                why=why_targeted(lead, t, uncovered),
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
    lead = visible_lead(session, caller, lead_id)
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
