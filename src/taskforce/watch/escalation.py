"""Escalation, run by the background worker through `core.jobs`: a lead nobody acknowledged by
its deadline goes along the network's rota — to the desks on duty now (unless it went to them
at once), then to the next desk on duty — then to the network coordinator; reminders follow,
and every step is recorded. Each desk alerted along the rota has `urgent_ack_minutes` of its
own. Without a rota (no active desk) the lead goes straight to the coordinator, as before.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.jobs import runner as jobs
from taskforce.core.settings import Settings
from taskforce.watch.messages import (
    NO_CONTENT,
    add_step,
    alert_facts,
    desk_label,
    lead_link,
    lead_targets,
    local_time,
    minutes,
    queue_entry,
    report_facts,
    utc_time,
)
from taskforce.watch.models import UrgentLead, UrgentLeadStep, UrgentLeadTarget
from taskforce.watch.schemas import (
    StepKind,
    TargetReason,
    kind_label,
)
from taskforce.watch.service import (
    CLAIM_LEASE,
    UNREACHABLE_RETRY,
    WATCH,
    DutyAgency,
    network_rota,
    next_desk,
    on_duty_now,
)

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
            "; ".join(desk_label(a) for a in desks) or f"{coordinator.code} (your desk)"
        )
    else:
        detail = (
            f"nobody could be alerted when it arrived: sent to the network coordinator "
            f"{coordinator.code} as soon as one was registered"
        )
        waited = "Nobody could be alerted when it arrived: no desk covered it."
    add_step(session, lead, StepKind.ESCALATED, at=now, agency=coordinator, detail=detail)
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
            *alert_facts(lead, coordinator, kind=kind, received_at=received_at),
            "",
            "Open the lead and acknowledge it, or make sure a desk does (login required):",
            lead_link(settings, lead),
            "",
            f"Reminders follow every {n} minutes until a desk acknowledges it.",
            "",
            NO_CONTENT,
            "",
        ]
    )
    told = queue_entry(
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
    add_step(session, lead, StepKind.NOTIFIED, at=now, agency=coordinator, detail=told)
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
                *alert_facts(lead, agency, kind=kind, received_at=received_at),
                "Alerted:         " + ", ".join(a.code for a in desks),
                "",
                "Open the lead and acknowledge it (login required):",
                lead_link(settings, lead),
                "",
                f"Reminders follow every {n} minutes until a desk acknowledges it.",
                "",
                NO_CONTENT,
                "",
            ]
        )
        queue_entry(
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
    add_step(
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


def _pass_on(
    session: Session,
    settings: Settings,
    lead: UrgentLead,
    duties: Sequence[DutyAgency],
    reason: TargetReason,
    *,
    kind: str,
    received_at: datetime,
    now: datetime,
) -> None:
    """Alert desks the rota names (on duty now, or the next one): each gets `urgent_ack_minutes`
    from now before the lead moves on again."""
    n = settings.urgent_ack_minutes
    due = now + timedelta(minutes=n)
    step = StepKind.TO_DUTY_DESK if reason == TargetReason.ON_DUTY_DESK else StepKind.TO_NEXT_DESK
    role = "on duty for the network" if step == StepKind.TO_DUTY_DESK else "the next desk on duty"
    waited = minutes(now - received_at)
    for duty in duties:
        agency = duty.agency
        session.add(
            UrgentLeadTarget(
                lead_id=lead.id, agency_id=agency.id, reason=reason.value, added_at=now
            )
        )
        shift = (
            f"on duty until {utc_time(duty.ends_at)}"
            if duty.starts_at <= now
            else f"on duty from {utc_time(duty.starts_at)}"
        )
        add_step(
            session,
            lead,
            step,
            at=now,
            agency=agency,
            detail=f"not acknowledged within {n} minutes: passed to {agency.code}, {role} "
            f"({local_time(now, duty.time_zone, zone_name=True)} at the desk; {shift})",
        )
        subject = (
            f"URGENT lead passed to your desk: {kind_label(kind)}, reported from "
            f"{lead.reporter_country or 'country not given'} - acknowledge by "
            f"{utc_time(due, '%H:%M')}"
        )
        body = "\n".join(
            [
                f"URGENT LEAD for the 24/7 desk of {agency.code}, {role} ({shift}).",
                f"Nobody has acknowledged it in the {waited} minutes since it arrived.",
                "",
                *alert_facts(lead, agency, kind=kind, received_at=received_at),
                f"Your deadline:   {utc_time(due)} = "
                f"{local_time(due, duty.time_zone, zone_name=True)}",
                "",
                "Open the lead and acknowledge it (login required):",
                lead_link(settings, lead),
                "",
                "If nobody acknowledges it by then, it passes on along the rota, then to the "
                "network coordinator.",
                "",
                NO_CONTENT,
                "",
            ]
        )
        told = queue_entry(
            session,
            settings,
            lead,
            agency,
            event="urgent_lead.passed_on",
            subject=subject,
            body=body,
            now=now,
            kind=kind,
        )
        add_step(session, lead, StepKind.NOTIFIED, at=now, agency=agency, detail=told)
    lead.check_at = due
    audit.record(
        session,
        WATCH,
        action="report.urgent_lead.pass_on",
        operation=Operation.DISCLOSURE,
        subject_type="urgent_lead",
        subject_id=lead.id,
        recipients=[d.agency.code for d in duties],
        detail={"report_id": str(lead.report_id), "minutes": n, "reason": reason.value},
    )


def _along_the_rota(
    session: Session,
    settings: Settings,
    lead: UrgentLead,
    targets: Sequence[tuple[UrgentLeadTarget, Agency]],
    *,
    kind: str,
    received_at: datetime,
    now: datetime,
) -> bool:
    """Before the coordinator, the rota: the desks on duty for the network now (unless the lead
    already went to them), then the next desk on duty. False when the rota has nobody left."""
    rota = network_rota(session, now)
    if rota is None:
        return False
    done = set(
        session.scalars(
            select(UrgentLeadStep.step).where(
                UrgentLeadStep.lead_id == lead.id,
                UrgentLeadStep.step.in_(
                    [
                        StepKind.TO_DUTY_DESK.value,
                        StepKind.TO_NEXT_DESK.value,
                        StepKind.NO_DUTY_DESK.value,
                    ]
                ),
            )
        )
    )
    if StepKind.TO_NEXT_DESK.value in done:
        return False  # the rota had its turn: the coordinator next
    alerted = {a.id for _, a in targets}
    if StepKind.TO_DUTY_DESK.value not in done:
        awake = on_duty_now(session, rota, now, exclude=alerted)
        if awake:
            _pass_on(
                session,
                settings,
                lead,
                awake,
                TargetReason.ON_DUTY_DESK,
                kind=kind,
                received_at=received_at,
                now=now,
            )
            return True
    since = max((t.added_at for t, _ in targets), default=lead.created_at)
    chosen = next_desk(session, rota, since=since, now=now, alerted=alerted)
    if chosen is not None:
        _pass_on(
            session,
            settings,
            lead,
            [chosen],
            TargetReason.NEXT_DESK,
            kind=kind,
            received_at=received_at,
            now=now,
        )
        return True
    if StepKind.NO_DUTY_DESK.value not in done:
        add_step(
            session,
            lead,
            StepKind.NO_DUTY_DESK,
            at=now,
            detail="no other desk is on duty or comes on duty within 7 days: to the coordinator",
        )
    return False


def _follow_up(session: Session, settings: Settings, lead_id: uuid.UUID, *, now: datetime) -> bool:
    """Escalate or remind one claimed lead (the runner holds its row and checked the lease);
    False when there was nothing left to do."""
    lead = session.get(UrgentLead, lead_id)
    if lead is None:
        return False
    if lead.acknowledged_at is not None:
        lead.check_at = None
        return False
    kind, received_at = report_facts(lead)
    targets = lead_targets(session, lead.id)
    if lead.escalated_at is None:
        if _along_the_rota(
            session, settings, lead, targets, kind=kind, received_at=received_at, now=now
        ):
            session.flush()
            return True
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
            add_step(
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
