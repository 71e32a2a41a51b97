"""Duplicate reports: the same URL, or the same registrable domain under an open notice, is
linked to the report it repeats, and closed with that report's verdict once there is one.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.core.db import utcnow
from taskforce.reports.models import (
    Report,
    ReportAssessment,
)
from taskforce.reports.schemas import (
    ASSESSMENT_LABELS,
    Assessment,
)
from taskforce.takedown import service as takedown_service

# --- duplicates -----------------------------------------------------------------------------


def _original_of(session: Session, report: Report) -> Report | None:
    """The first report of the same URL (itself not a duplicate). Asked for its id first: for
    most reports there is none, and a column query costs a fraction of loading a report."""
    if report.url_hash is None:
        return None
    original_id = session.scalar(
        select(Report.id)
        .where(
            Report.url_hash == report.url_hash,
            Report.id != report.id,
            Report.duplicate_of_id.is_(None),
            Report.created_at <= report.created_at,
        )
        .order_by(Report.created_at, Report.id)
        .limit(1)
    )
    return session.get(Report, original_id) if original_id is not None else None


def _latest_assessment(session: Session, report_id: uuid.UUID) -> ReportAssessment | None:
    return session.scalar(
        select(ReportAssessment)
        .where(ReportAssessment.report_id == report_id)
        .order_by(ReportAssessment.created_at.desc(), ReportAssessment.id.desc())
        .limit(1)
    )


def close_as_duplicate(
    session: Session, report: Report, original: Report | None, note: str
) -> None:
    """Nobody needs to look at the same URL twice (less exposure for analysts): the report is
    assessed as a duplicate by the hub and handled by whoever handles the original."""
    session.add(
        ReportAssessment(
            report_id=report.id,
            assessment=Assessment.DUPLICATE.value,
            category=None,
            note=note,
            agency_id=None,
            user_id=None,
            created_at=utcnow(),
        )
    )
    report.status = "duplicate"
    if original is not None and original.receiving_agency_id is not None:
        report.receiving_agency_id = original.receiving_agency_id
        report.hosting_ip = original.hosting_ip
        report.hosting_country = original.hosting_country
        report.hosting_provider_id = original.hosting_provider_id
        report.routed_at = utcnow()
        report.route_due_at = None


def link_duplicate(session: Session, report: Report) -> None:
    """Same normalised URL: linked to the first report of it; closed at once when that one is
    already assessed, or when the URL is under a takedown notice."""
    if report.url_hash is None:
        return
    original = _original_of(session, report)
    if original is None:
        return  # the first report of this URL (a notice always comes from an earlier report)
    report.duplicate_of_id = original.id
    notice = takedown_service.open_notice_for(session, report.url_hash)
    if notice is not None:
        close_as_duplicate(
            session,
            report,
            original,
            f"URL under takedown notice since {notice.created_at:%Y-%m-%d %H:%M} UTC",
        )
        return
    verdict = _latest_assessment(session, original.id)
    if verdict is not None and verdict.assessment != Assessment.DUPLICATE.value:
        label = ASSESSMENT_LABELS[Assessment(verdict.assessment)]
        close_as_duplicate(
            session,
            report,
            original,
            f"same URL as report {short_id(original.id)}, already assessed: {label}",
        )


def short_id(report_id: uuid.UUID) -> str:
    """How people name a report on the phone: the first eight hex digits of its id."""
    return report_id.hex[:8].upper()
