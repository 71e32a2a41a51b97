"""Public reports: stored first, then linked, routed and assessed; receipts; rate limits.

A report is committed before anything else is attempted (duplicate links, routing, the urgent
lead, the audit entry), so nothing that fails afterwards can lose it: it is due for routing
from the moment it is stored, and the worker that routes it also makes sure an urgent report
has its lead. Hotline analysts see the reports routed to their agency (`reports.routing`); a
confirmed URL goes on the block list, gets a takedown notice and feeds the hub.

The reporter's address is never stored: floods are counted by a keyed hash of it, deleted when
the window ends. The receipt code is shown once and only its SHA-256 is kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Action, Operation
from taskforce.core.caller import Caller, Permission, Role
from taskforce.core.db import insert_new, is_postgres, utcnow
from taskforce.core.errors import Forbidden, Invalid, NotFound
from taskforce.core.jobs import runner as jobs
from taskforce.core.resolver import Resolver
from taskforce.core.settings import Settings
from taskforce.core.text import unstorable
from taskforce.reports import routing
from taskforce.reports.duplicates import link_duplicate
from taskforce.reports.intake import (
    ADDITIONS_PER_RECEIPT_HOUR,
    RECEIPT_TRIES_PER_ADDRESS,
    REPORTS_PER_ADDRESS,
    WINDOW,
    address_key,
    new_receipt_code,
    over_limit,
    receipt_hash,
    url_facts,
)
from taskforce.reports.models import (
    Report,
    ReportAddition,
    ReportAssessment,
    ReportThrottle,
)
from taskforce.reports.schemas import (
    ADDITION_MAX,
    Assessment,
    Kind,
    ReportCreate,
    ReportInvalid,
    ReportRateLimited,
)
from taskforce.watch import reading as watch_reading
from taskforce.watch import service as watch_service

PUBLIC = Caller(role=Role.READ_ONLY, channel="public", email="member of the public")

CONFIRMED = (Assessment.ILLEGAL_MATERIAL, Assessment.ILLEGAL_ELSEWHERE)

# --- reporting ------------------------------------------------------------------------------


def refuse_over_limit(session: Session, settings: Settings, address: str | None) -> str:
    """Refuse a sender who used up the window (before a report is stored, and before the form
    checks a URL for them); returns the sender's throttle key."""
    key = address_key(settings, "report", address)
    if over_limit(session, key, REPORTS_PER_ADDRESS):
        raise ReportRateLimited("err_rate", minutes=WINDOW.seconds // 60)
    return key


def submit_report(
    session: Session, settings: Settings, data: ReportCreate, *, address: str | None
) -> tuple[Report, str]:
    """Store a report and return it with its receipt code (the only time the code exists in
    clear). The caller commits at once, then calls `after_report`. The report is due for
    routing from the start, so a worker routes it even if `after_report` never runs."""
    key = refuse_over_limit(session, settings, address)
    code = new_receipt_code()
    urgent = data.kind == Kind.DANGER or (data.kind == Kind.GROOMING and data.meeting)
    details = dict(data.details)
    if data.kind == Kind.GROOMING:
        details["meeting"] = "yes" if data.meeting else "no"
        if data.suspect_country:
            details["adult_country"] = data.suspect_country
    now = utcnow()
    facts = url_facts(details["url"]) if data.kind == Kind.URL and "url" in details else None
    report = Report(
        kind=data.kind.value,
        details=details,
        country=data.country,
        language=data.language,
        status="new",
        urgent=urgent,
        receipt_hash=receipt_hash(code),
        created_at=now,
        url_hash=facts.url_hash if facts else None,
        host=facts.host if facts else None,
        domain=facts.domain if facts else None,
        route_due_at=now,
        route_attempts=0,
    )
    insert_new(session, [report])  # Core inserts: the hot path of the public form
    session.execute(insert(ReportThrottle).values(key_hash=key, at=now))
    return report, code


def after_report(session: Session, settings: Settings, report_id: uuid.UUID) -> bool:
    """What follows a stored report: duplicate links, routing of reports that need no network
    step, the urgent lead. True when a worker still has to route it. The report's arrival is
    audited by the worker (`log_arrivals`), in batches: a report that is not urgent takes no lock
    (every audited transaction queues on the chain's lock, and the public form must take
    hundreds of reports a second)."""
    report = session.get(Report, report_id)
    if report is None:
        return False
    if report.kind == Kind.URL.value:
        link_duplicate(session, report)
    else:
        routing.apply(session, report, None)
    _ensure_lead(session, settings, report)
    session.flush()
    return report.route_due_at is not None


LOG_BATCH = 500


def log_arrivals(session: Session, *, limit: int = LOG_BATCH) -> int:
    """The worker's batch job (`core.jobs.once`): the arrivals of reports not yet in the audit
    log, oldest first, in one append for up to `limit` reports. Each entry says when the report
    came in; the entry's own time is when it was logged, seconds later."""
    query = (
        select(Report)
        .where(Report.logged_at.is_(None))
        .order_by(Report.created_at, Report.id)
        .limit(limit)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    reports = list(session.scalars(query))
    if not reports:
        return 0
    audit.record_many(
        session,
        PUBLIC,
        [
            Action(
                action="report.public.create",
                operation=Operation.COLLECTION,
                subject_type="public_report",
                subject_id=r.id,
                detail={
                    "kind": r.kind,
                    "urgent": r.urgent,
                    "country": r.country,
                    "received_at": r.created_at.isoformat(timespec="microseconds"),
                },
            )
            for r in reports
        ],
    )
    now = utcnow()
    for report in reports:
        report.logged_at = now
    session.flush()
    return len(reports)


def _ensure_lead(session: Session, settings: Settings, report: Report) -> None:
    """An urgent report has exactly one lead, whoever gets there first (the request or the
    worker that routes a report whose follow-up failed)."""
    if not report.urgent or watch_reading.lead_of(session, report.id) is not None:
        return
    reason = (
        "a child in immediate danger"
        if report.kind == Kind.DANGER.value
        else "grooming with a meeting planned"
    )
    watch_service.open_lead(
        session,
        settings,
        report_id=report.id,
        kind=report.kind,
        reason=reason,
        reporter_country=report.country,
        suspect_country=(report.details or {}).get("adult_country"),
        received_at=report.created_at,
    )


def add_to_report(
    session: Session, settings: Settings, code: str, text: str, *, address: str | None
) -> ReportAddition:
    """More information from the reporter, found by the hash of their receipt code. Wrong codes
    count against the address (guessing); additions count against the receipt."""
    key = address_key(settings, "receipt", address)
    if over_limit(session, key, RECEIPT_TRIES_PER_ADDRESS):
        raise ReportRateLimited("err_rate", minutes=WINDOW.seconds // 60)
    text = text.strip()
    if not text:
        raise ReportInvalid("more", "err_required")
    if len(text) > ADDITION_MAX:
        raise ReportInvalid("more", "err_too_long", max=ADDITION_MAX)
    if unstorable(text):
        raise ReportInvalid("more", "err_characters")
    report = session.scalar(select(Report).where(Report.receipt_hash == receipt_hash(code)))
    if report is None:
        session.add(ReportThrottle(key_hash=key, at=utcnow()))
        raise ReportInvalid("receipt", "err_receipt")
    recent = session.scalar(
        select(func.count()).where(
            ReportAddition.report_id == report.id,
            ReportAddition.created_at >= utcnow() - timedelta(hours=1),
        )
    )
    if (recent or 0) >= ADDITIONS_PER_RECEIPT_HOUR:
        raise ReportRateLimited("err_rate_receipt")
    addition = ReportAddition(report_id=report.id, text=text, created_at=utcnow())
    session.add(addition)
    session.flush()
    audit.record(
        session,
        PUBLIC,
        action="report.public.add",
        operation=Operation.COLLECTION,
        subject_type="public_report",
        subject_id=report.id,
    )
    return addition


# --- routing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    report_id: uuid.UUID
    kind: str
    host: str | None


def route_claimed(
    session: Session, settings: Settings, claim: Claim, resolution: routing.Resolution | None
) -> None:
    """Record one routing attempt for a claimed report (resolution done outside)."""
    report = session.get(Report, claim.report_id)
    if report is None or report.route_due_at is None:
        return
    if report.kind == Kind.URL.value and report.status == "new":
        link_duplicate(session, report)  # the original may have been assessed meanwhile
    if report.route_due_at is not None:  # a duplicate of a routed report needs no routing
        routing.apply(session, report, resolution)
    _ensure_lead(session, settings, report)


def routing_job(
    settings: Settings, resolver: Resolver
) -> jobs.Job[Report, Claim, routing.Resolution | None]:
    """Routing as a background job (`core.jobs`): reports due for routing are claimed with a
    lease, a URL's host is resolved without a transaction and each attempt is recorded in its
    own (`route_claimed`)."""

    def record(
        session: Session, claim: Claim, resolution: routing.Resolution | None, _now: datetime
    ) -> bool:
        route_claimed(session, settings, claim, resolution)
        return True

    return jobs.Job(
        name="report.route",
        model=Report,
        lease_column=Report.route_due_at,
        lease=routing.LEASE,
        due=lambda now: [Report.route_due_at.is_not(None), Report.route_due_at <= now],
        order=(Report.route_due_at, Report.id),
        take=lambda report: Claim(report.id, report.kind, report.host),
        work=lambda claim: (
            routing.resolve(resolver, claim.host)
            if claim.kind == Kind.URL.value and claim.host
            else None
        ),
        record=record,
    )


def reroute(
    session: Session, caller: Caller, report_id: uuid.UUID, *, agency_code: str, reason: str
) -> Report:
    """Send a report to another member (the host moved, the routing was wrong)."""
    report = handled_report(session, caller, report_id)
    reason = reason.strip()
    if not reason:
        raise Invalid("reason", "say why the report goes elsewhere")
    if len(reason) > 500:
        raise Invalid("reason", "at most 500 characters")
    try:
        agency = agency_service.get_by_code(session, agency_code)
    except NotFound:
        raise Invalid("agency", "no member agency has this code") from None
    if not agency.is_active:
        raise Invalid("agency", f"{agency.code} is not an active member")
    if agency.id == report.receiving_agency_id:
        raise Invalid("agency", f"the report is already with {agency.code}")
    routing.reroute(session, report, agency, by=caller.label, reason=reason)
    audit.record(
        session,
        caller,
        action="report.reroute",
        operation=Operation.DISCLOSURE,
        subject_type="public_report",
        subject_id=report.id,
        recipients=[agency.code],
        justification=reason,
    )
    return report


# --- who may see a report -------------------------------------------------------------------


def may_see(session: Session, caller: Caller, report: Report) -> bool:
    """The receiving agency; the coordinator while nobody else has it; a desk the urgent lead
    went to; an agency that assessed it before it was re-routed."""
    if caller.agency_id is None:
        return False
    if report.receiving_agency_id == caller.agency_id:
        return True
    if report.receiving_agency_id is None:
        coordinator = agency_service.coordinator(session)
        if coordinator is not None and coordinator.id == caller.agency_id:
            return True
    if report.urgent and watch_reading.is_target(session, caller, report.id):
        return True
    assessed = session.scalar(
        select(ReportAssessment.id)
        .where(
            ReportAssessment.report_id == report.id, ReportAssessment.agency_id == caller.agency_id
        )
        .limit(1)
    )
    return assessed is not None


def openable(session: Session, caller: Caller, report_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Of these reports, the ones `visible_report` would open for the caller (no audit: a
    link is shown, nothing is read)."""
    if not caller.can(Permission.HANDLE_REPORTS) or not report_ids:
        return set()
    reports = session.scalars(select(Report).where(Report.id.in_(set(report_ids))))
    return {report.id for report in reports if may_see(session, caller, report)}


def visible_report(session: Session, caller: Caller, report_id: uuid.UUID) -> Report:
    caller.require(Permission.HANDLE_REPORTS)
    report = session.get(Report, report_id)
    if report is None or not may_see(session, caller, report):
        sharing.refuse(
            session,
            caller,
            action="report.read",
            subject_type="public_report",
            subject_id=report_id,
            missing="report",
        )
    return report


def handled_report(session: Session, caller: Caller, report_id: uuid.UUID) -> Report:
    """A report the caller's agency handles now (assess, re-route)."""
    report = visible_report(session, caller, report_id)
    if report.receiving_agency_id is None:
        return report  # the coordinator, holding an unroutable report
    if report.receiving_agency_id != caller.agency_id:
        raise Forbidden("only the agency the report is routed to handles it")
    return report
