"""The hotline queue: who may see a report (the receiving agency, the coordinator), the queue's
views with their counts, and one report as an analyst reads it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.blocklist import service as blocklist_service
from taskforce.blocklist.models import BlocklistEntry
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.errors import Invalid
from taskforce.hosting.models import HostingProvider
from taskforce.reports import routing
from taskforce.reports.models import (
    HotlineCase,
    Report,
    ReportAddition,
    ReportAssessment,
    RoutingStep,
)
from taskforce.reports.service import CONFIRMED, visible_report
from taskforce.takedown import service as takedown_service
from taskforce.takedown.models import TakedownNotice
from taskforce.watch import reading as watch_reading

# --- the hotline queue ----------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    report: Report
    same_url: int  # other reports of the same URL
    same_domain: int  # other reports on the same registrable domain
    original_id: uuid.UUID | None
    lead_taken_by: str | None = None  # the desk that acknowledged the report's urgent lead


QUEUE_VIEWS = ("new", "assessed", "duplicate", "all")


def _queue_filter(caller: Caller, coordinator_id: uuid.UUID | None) -> ColumnElement[bool]:
    if caller.agency_id is None:  # the console's network admin holds no queue
        return false()
    mine = Report.receiving_agency_id == caller.agency_id
    if coordinator_id is not None and coordinator_id == caller.agency_id:
        return or_(mine, Report.receiving_agency_id.is_(None))
    return mine


def queue(
    session: Session, caller: Caller, *, view: str = "new", limit: int = 200
) -> list[QueueRow]:
    """The agency's reports: new ones urgent first, then the longest waiting; other views
    newest first. Each row says how many other reports name the same URL and domain."""
    caller.require(Permission.HANDLE_REPORTS)
    if view not in QUEUE_VIEWS:
        raise Invalid("view", f"one of: {', '.join(QUEUE_VIEWS)}")
    coordinator = agency_service.coordinator(session)
    query = select(Report).where(_queue_filter(caller, coordinator.id if coordinator else None))
    if view == "new":
        # urgent first while its lead waits for a desk; once a desk took it, by age like others
        waiting = and_(Report.urgent, ~watch_reading.lead_taken(Report.id))
        query = query.where(Report.status == "new").order_by(
            case((waiting, 0), else_=1), Report.created_at, Report.id
        )
    else:
        if view != "all":
            query = query.where(Report.status == view)
        query = query.order_by(Report.created_at.desc(), Report.id)
    reports = list(session.scalars(query.limit(limit)))
    rows = _with_counts(session, reports)
    audit.record(
        session,
        caller,
        action="report.queue.read",
        operation=Operation.CONSULTATION,
        detail={"view": view, "shown": len(reports)},
    )
    return rows


def _with_counts(session: Session, reports: Sequence[Report]) -> list[QueueRow]:
    taken = watch_reading.taken_by(session, [r.id for r in reports if r.urgent])
    hashes = {r.url_hash for r in reports if r.url_hash}
    domains = {r.domain for r in reports if r.domain}
    by_url: dict[str, int] = {}
    by_domain: dict[str, int] = {}
    if hashes:
        by_url = dict(
            session.execute(  # type: ignore[arg-type]
                select(Report.url_hash, func.count())
                .where(Report.url_hash.in_(hashes))
                .group_by(Report.url_hash)
            ).all()
        )
    if domains:
        by_domain = dict(
            session.execute(  # type: ignore[arg-type]
                select(Report.domain, func.count())
                .where(Report.domain.in_(domains))
                .group_by(Report.domain)
            ).all()
        )
    return [
        QueueRow(
            report=r,
            same_url=max(by_url.get(r.url_hash or "", 1) - 1, 0),
            same_domain=max(by_domain.get(r.domain or "", 1) - 1, 0),
            original_id=r.duplicate_of_id,
            lead_taken_by=taken.get(r.id),
        )
        for r in reports
    ]


@dataclass(frozen=True)
class Waiting:
    """New reports waiting at one receiving agency (None: no member took it, the coordinator
    holds it), and since when the oldest waits."""

    agency_code: str | None
    agency_name: str | None
    reports: int
    urgent: int
    oldest: datetime


def waiting_per_agency(session: Session, caller: Caller) -> list[Waiting]:
    """The coordinator's view: reports waiting ("new") per hotline, the longest wait first
    (counts only, no report content)."""
    caller.require(Permission.OVERSEE_NETWORK)
    rows = session.execute(
        select(
            Report.receiving_agency_id,
            func.count(),
            # urgent while no desk took its lead, as the queue sorts them
            func.sum(case((and_(Report.urgent, ~watch_reading.lead_taken(Report.id)), 1), else_=0)),
            func.min(Report.created_at),
        )
        .where(Report.status == "new")
        .group_by(Report.receiving_agency_id)
    ).all()
    agencies = agency_service.agencies_by_id(session, {a for a, *_ in rows if a is not None})
    out = [
        Waiting(
            agency_code=agencies[a].code if a in agencies else None,
            agency_name=agencies[a].name if a in agencies else None,
            reports=int(n),
            urgent=int(urgent or 0),
            oldest=oldest,
        )
        for a, n, urgent, oldest in rows
    ]
    return sorted(out, key=lambda w: w.oldest)


@dataclass
class ReportView:
    """A report as its page shows it, with what it is linked to and what followed from it."""

    report: Report
    additions: list[ReportAddition]
    assessments: list[ReportAssessment]
    steps: list[RoutingStep]
    receiving_agency: Agency | None
    provider_name: str | None
    same_url: list[Report]
    same_domain: list[Report]
    notices: list[TakedownNotice]
    blocklist: list[BlocklistEntry]
    hotline_case_id: uuid.UUID | None  # when this report fed the hotline case
    handled_here: bool
    lead: watch_reading.LeadStatus | None = None
    assessors: dict[uuid.UUID, str] = field(default_factory=dict)


def get_report(
    session: Session, caller: Caller, report_id: uuid.UUID
) -> tuple[Report, list[ReportAddition], list[ReportAssessment]]:
    """One report with what the reporter added and its assessments; every read is audited."""
    view = report_view(session, caller, report_id)
    return view.report, view.additions, view.assessments


def report_view(session: Session, caller: Caller, report_id: uuid.UUID) -> ReportView:
    report = visible_report(session, caller, report_id)
    audit.record(
        session,
        caller,
        action="report.read",
        operation=Operation.CONSULTATION,
        subject_type="public_report",
        subject_id=report.id,
    )
    additions = list(
        session.scalars(
            select(ReportAddition)
            .where(ReportAddition.report_id == report.id)
            .order_by(ReportAddition.created_at)
        )
    )
    assessments = list(
        session.scalars(
            select(ReportAssessment)
            .where(ReportAssessment.report_id == report.id)
            .order_by(ReportAssessment.created_at)
        )
    )
    related: list[Report] = []
    if report.url_hash or report.domain:
        clauses = []
        if report.url_hash:
            clauses.append(Report.url_hash == report.url_hash)
        if report.domain:
            clauses.append(Report.domain == report.domain)
        related = list(
            session.scalars(
                select(Report)
                .where(or_(*clauses), Report.id != report.id)
                .order_by(Report.created_at.desc())
                .limit(50)
            )
        )
    agencies = agency_service.agencies_by_id(
        session, {a.agency_id for a in assessments if a.agency_id}
    )
    provider = (
        session.get(HostingProvider, report.hosting_provider_id)
        if report.hosting_provider_id
        else None
    )
    confirmed = {a.value for a in CONFIRMED}
    fed = any(a.assessment in confirmed and a.agency_id for a in assessments)
    case_id = (
        session.scalar(
            select(HotlineCase.case_id).where(HotlineCase.agency_id == report.receiving_agency_id)
        )
        if report.receiving_agency_id and fed
        else None
    )
    return ReportView(
        report=report,
        additions=additions,
        assessments=assessments,
        steps=routing.steps_of(session, [report.id]),
        receiving_agency=(
            agency_service.get(session, report.receiving_agency_id)
            if report.receiving_agency_id
            else None
        ),
        provider_name=provider.name if provider else None,
        same_url=[r for r in related if report.url_hash and r.url_hash == report.url_hash],
        same_domain=[r for r in related if r.url_hash != report.url_hash],
        notices=takedown_service.notices_of_report(session, report.id),
        blocklist=blocklist_service.entries_from(session, f"report:{report.id}"),
        hotline_case_id=case_id,
        handled_here=report.receiving_agency_id in (None, caller.agency_id),
        lead=watch_reading.lead_status(session, report.id) if report.urgent else None,
        assessors={k: v.code for k, v in agencies.items()},
    )
