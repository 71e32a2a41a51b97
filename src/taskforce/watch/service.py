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
from collections.abc import Sequence, Set
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.agencies.schemas import AgencyKind
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission, Role
from taskforce.core.db import is_postgres, utcnow
from taskforce.core.errors import Conflict, Invalid, NotFound
from taskforce.core.outbox import service as outbox
from taskforce.core.settings import Settings
from taskforce.rota import engine as rota_engine
from taskforce.rota import service as rota_service
from taskforce.rota.models import DutyDesk
from taskforce.watch.messages import (
    NO_CONTENT,
    add_step,
    checked_country,
    desk_label,
    lead_reference,
    lead_targets,
    local_time,
    minutes,
    report_facts,
    send_alert,
    utc_time,
)
from taskforce.watch.models import UrgentLead, UrgentLeadTarget
from taskforce.watch.schemas import (
    NOTE_MAX,
    StepKind,
    TargetReason,
    kind_label,
)

# The watch acts for nobody in particular: its audit entries say "24/7 watch", channel "job".
WATCH = Caller(role=Role.NETWORK_ADMIN, channel="job", email="24/7 watch")

CLAIM_LEASE = timedelta(minutes=2)  # how long a claimed lead is left to the worker that took it
UNREACHABLE_RETRY = timedelta(minutes=1)  # a lead nobody could be told of: look for a coordinator

# Steps written in one transaction share one time; this order keeps them readable.
STEP_ORDER: dict[str, int] = {
    StepKind.CREATED: 0,
    StepKind.TO_COORDINATOR: 1,
    StepKind.UNREACHABLE: 1,
    StepKind.TO_DUTY_DESK: 1,
    StepKind.ESCALATED: 2,
    StepKind.NO_COORDINATOR: 2,
    StepKind.REMINDER: 2,
    StepKind.NO_DUTY_DESK: 2,
    StepKind.TO_NEXT_DESK: 2,
    StepKind.NOTIFIED: 3,
    StepKind.ACKNOWLEDGED: 4,
    StepKind.ACK_NOTIFIED: 5,
}


# --- the network's rota: who is on duty ------------------------------------------------------


@dataclass(frozen=True)
class DutyAgency:
    """A desk the rota puts on duty, with its agency (whose 24/7 address is alerted)."""

    agency: Agency
    desk_id: uuid.UUID
    time_zone: str  # the desk's own clock
    starts_at: datetime  # the shift (clipped to a day either side of the moment asked)
    ends_at: datetime


ROTA_REACH = timedelta(days=8)  # the engine looks a week ahead for the next desk on duty


def network_rota(session: Session, around: datetime) -> rota_engine.Rota | None:
    """The rota for the days around `around`, or None when the network has no active desk
    (the watch then works as it did before the rota: the coordinator takes what no member
    covers)."""
    rota = rota_service.load(session, start=around - ROTA_REACH, end=around + ROTA_REACH)
    return rota if rota.desks else None


def _duty_agencies(
    session: Session, rota: rota_engine.Rota, found: Sequence[rota_engine.Shift]
) -> list[DutyAgency]:
    """The shifts' desks as agencies, one per agency, in the shifts' order."""
    zones = {d.id: d.time_zone for d in rota.desks}
    ids = {s.desk_id for s in found}
    agencies: dict[uuid.UUID, Agency] = {}
    if ids:
        rows = session.execute(
            select(DutyDesk.id, Agency)
            .join(Agency, Agency.id == DutyDesk.agency_id)
            .where(DutyDesk.id.in_(ids), Agency.is_active.is_(True))
        ).all()
        for desk_id, row_agency in rows:
            agencies[desk_id] = row_agency
    chosen: dict[uuid.UUID, DutyAgency] = {}
    for shift in found:
        agency = agencies.get(shift.desk_id)
        if agency is not None and agency.id not in chosen:
            chosen[agency.id] = DutyAgency(
                agency, shift.desk_id, zones[shift.desk_id], shift.starts_at, shift.ends_at
            )
    return list(chosen.values())


def on_duty_now(
    session: Session, rota: rota_engine.Rota, at: datetime, *, exclude: Set[uuid.UUID] = frozenset()
) -> list[DutyAgency]:
    """Every desk on duty for the network at `at`, but those of the agencies in `exclude`."""
    found = _duty_agencies(session, rota, rota_engine.on_duty(rota, at))
    return [d for d in found if d.agency.id not in exclude]


def next_desk(
    session: Session,
    rota: rota_engine.Rota,
    *,
    since: datetime,
    now: datetime,
    alerted: Set[uuid.UUID],
) -> DutyAgency | None:
    """Where an unanswered lead goes next: the first desk not yet alerted to come on duty after
    `since` (the last alert); if that desk is not on duty yet, rather one that is on duty now
    and was not alerted, else that one. None when nobody comes within the engine's horizon."""
    alerted_desks = (
        frozenset(session.scalars(select(DutyDesk.id).where(DutyDesk.agency_id.in_(alerted))))
        if alerted
        else frozenset()
    )
    since = max(since, now - ROTA_REACH + timedelta(days=1))  # inside what was loaded
    coming = rota_engine.next_on_duty(rota, since, exclude=alerted_desks)
    if coming is not None and coming.ends_at <= now:  # came and went while the lead waited
        coming = rota_engine.next_on_duty(rota, now, exclude=alerted_desks)
    if coming is not None and coming.starts_at <= now:
        found = _duty_agencies(session, rota, [coming])
        if found and found[0].agency.id not in alerted:
            return found[0]
    awake = on_duty_now(session, rota, now, exclude=alerted)
    if awake:
        return awake[0]
    found = _duty_agencies(session, rota, [coming]) if coming is not None else []
    return next((d for d in found if d.agency.id not in alerted), None)


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


def _to_duty_desks(
    session: Session,
    rota: rota_engine.Rota,
    lead: UrgentLead,
    gap: str,
    targets: list[tuple[Agency, str]],
    now: datetime,
) -> bool:
    """What no member covers goes to every desk on duty for the network now (adding them to
    `targets`); False when no desk is on duty (a gap in the rota)."""
    awake = on_duty_now(session, rota, now)
    if not awake:
        return False
    have = {a.id for a, _ in targets}
    for duty in awake:
        if duty.agency.id in have:
            continue
        session.add(
            UrgentLeadTarget(
                lead_id=lead.id,
                agency_id=duty.agency.id,
                reason=TargetReason.ON_DUTY_DESK.value,
                added_at=now,
            )
        )
        add_step(
            session,
            lead,
            StepKind.TO_DUTY_DESK,
            at=now,
            agency=duty.agency,
            detail=f"{gap}: sent to {duty.agency.code}, on duty for the network "
            f"({local_time(now, duty.time_zone, zone_name=True)} at the desk; on duty until "
            f"{utc_time(duty.ends_at)})",
        )
        targets.append((duty.agency, f"on duty for the network: {gap}"))
    if all(d.agency.id in have for d in awake):
        add_step(
            session,
            lead,
            StepKind.TO_DUTY_DESK,
            at=now,
            detail=f"{gap}: the desks on duty for the network "
            f"({', '.join(d.agency.code for d in awake)}) already have it",
        )
    return True


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
    reporter = checked_country(reporter_country, "reporter_country")
    suspect = checked_country(suspect_country, "suspect_country")
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
    add_step(
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
    rota = network_rota(session, now)
    if uncovered and rota is not None and _to_duty_desks(session, rota, lead, gap, targets, now):
        pass  # the desks on duty for the network take what no member covers
    elif uncovered and coordinator is not None:
        if rota is not None:
            gap += ", and no desk is on duty for the network (a gap in the rota)"
        session.add(
            UrgentLeadTarget(
                lead_id=lead.id,
                agency_id=coordinator.id,
                reason=TargetReason.NO_MEMBER_AGENCY.value,
                added_at=now,
            )
        )
        add_step(
            session,
            lead,
            StepKind.TO_COORDINATOR,
            at=now,
            agency=coordinator,
            detail=f"{gap}: sent to the network coordinator {coordinator.code} at once",
        )
        targets.append((coordinator, f"network coordinator: {gap}"))
    elif uncovered and not targets:
        add_step(
            session,
            lead,
            StepKind.UNREACHABLE,
            at=now,
            detail=f"nobody could be alerted: {gap}, and no network coordinator is registered; "
            "the lead escalates as soon as one is",
        )
        lead.check_at = min(received_at, now)  # due at once, and again until someone is told
    elif uncovered:
        add_step(
            session,
            lead,
            StepKind.NO_COORDINATOR,
            at=now,
            detail=f"{gap}, and no network coordinator is registered to take it",
        )
    session.flush()

    for agency, label in targets:
        others = [a for a, _ in targets if a.id != agency.id]
        told = send_alert(
            session,
            settings,
            lead,
            agency,
            kind=kind,
            why=label,
            received_at=received_at,
            coordinator=coordinator,
            others=others,
            rota=rota is not None,
            now=now,
        )
        add_step(session, lead, StepKind.NOTIFIED, at=now, agency=agency, detail=told)
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


def visible_lead(
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


# --- acknowledging ----------------------------------------------------------------------------


def acknowledge(
    session: Session, caller: Caller, lead_id: uuid.UUID, *, note: str = ""
) -> UrgentLead:
    """A desk of a targeted agency takes the lead: nothing escalates after this, and the other
    desks are told who took it. A second acknowledgement is a Conflict naming the first."""
    caller.require(Permission.HANDLE_REPORTS)
    lead = visible_lead(session, caller, lead_id, lock=True)
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
    add_step(session, lead, StepKind.ACKNOWLEDGED, at=now, agency=agency, detail=note)
    targets = lead_targets(session, lead.id)
    kind, received_at = report_facts(lead)
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
                f"Their 24/7 desk: {desk_label(agency)}",
                f"What:            {kind_label(kind)}",
                f"Received:        {utc_time(received_at)}",
                "",
                "No action is needed from your desk unless they ask for it; the lead stays",
                "in your list of leads in taskforce.",
                "",
                NO_CONTENT,
                "",
            ]
        )
        outbox.enqueue_email(
            session,
            recipient=other.contact_email,
            subject=subject,
            body=body,
            reference=lead_reference(lead.id),
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
            reference=lead_reference(lead.id),
            now=now,
        )
    if others:
        add_step(
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
