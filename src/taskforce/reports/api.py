"""The hotline over the API: the agency's reports, one report with its routing and what
followed, assessment and re-routing. The public form itself is a page (`reports/web.py`)."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter

from taskforce.core.http import CallerDep, SessionDep, SettingsDep
from taskforce.reports import assessment as report_assessment
from taskforce.reports import duplicates, queue, service
from taskforce.reports.schemas import (
    AdditionRead,
    AssessBody,
    AssessmentCreate,
    AssessmentRead,
    Kind,
    ReportDetail,
    ReportSummary,
    RerouteBody,
    RoutingStepRead,
)

router = APIRouter(prefix="/reports", tags=["hotline"])


def _summary(row: queue.QueueRow) -> ReportSummary:
    r = row.report
    return ReportSummary(
        id=r.id,
        short_id=duplicates.short_id(r.id),
        kind=Kind(r.kind),
        urgent=r.urgent,
        status=r.status,
        created_at=r.created_at,
        country=r.country,
        language=r.language,
        host=r.host,
        domain=r.domain,
        hosting_country=r.hosting_country,
        duplicate_of=r.duplicate_of_id,
        same_url=row.same_url,
        same_domain=row.same_domain,
    )


def _detail(view: queue.ReportView) -> ReportDetail:
    r = view.report
    row = queue.QueueRow(r, len(view.same_url), len(view.same_domain), r.duplicate_of_id)
    return ReportDetail(
        **_summary(row).model_dump(),
        details={k: str(v) for k, v in (r.details or {}).items()},
        receiving_agency=view.receiving_agency.code if view.receiving_agency else None,
        hosting_ip=r.hosting_ip,
        hosting_provider=view.provider_name,
        additions=[AdditionRead.model_validate(a) for a in view.additions],
        assessments=[
            AssessmentRead(
                assessment=a.assessment,
                category=a.category,
                note=a.note,
                created_at=a.created_at,
                agency=view.assessors.get(a.agency_id) if a.agency_id else None,
            )
            for a in view.assessments
        ],
        routing=[RoutingStepRead.model_validate(s) for s in view.steps],
        takedown_notices=[n.id for n in view.notices],
        blocklist_keys=[e.key for e in view.blocklist],
    )


@router.get("", response_model=list[ReportSummary])
def list_reports(
    session: SessionDep,
    caller: CallerDep,
    view: Literal["new", "assessed", "duplicate", "all"] = "new",
) -> list[ReportSummary]:
    """Reports routed to the caller's agency; new ones urgent first, then the longest waiting."""
    return [_summary(row) for row in queue.queue(session, caller, view=view)]


@router.get("/{report_id}", response_model=ReportDetail)
def get_report(report_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> ReportDetail:
    return _detail(queue.report_view(session, caller, report_id))


@router.post("/{report_id}/assess", response_model=ReportDetail)
def assess(
    report_id: uuid.UUID,
    data: AssessBody,
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
) -> ReportDetail:
    """A verdict and what follows from it: block list, takedown notice, selectors."""
    report_assessment.assess(
        session,
        caller,
        report_id,
        AssessmentCreate(
            assessment=data.assessment,
            category=data.category,
            note=data.note,
            duplicate_of=data.duplicate_of,
        ),
        settings,
    )
    return _detail(queue.report_view(session, caller, report_id))


@router.post("/{report_id}/reroute", response_model=ReportDetail)
def reroute(
    report_id: uuid.UUID, data: RerouteBody, session: SessionDep, caller: CallerDep
) -> ReportDetail:
    """Send the report to another member; the reason is a routing step."""
    service.reroute(session, caller, report_id, agency_code=data.agency, reason=data.reason)
    return _detail(queue.report_view(session, caller, report_id))
