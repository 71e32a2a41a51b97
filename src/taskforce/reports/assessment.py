"""An analyst's assessment of a report, and what follows from it: duplicates closed with it, the
block list, a takedown notice to the host, and the report's selectors in the hotline's case.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.blocklist import service as blocklist_service
from taskforce.blocklist.schemas import EntryCreate
from taskforce.cases import additions as case_additions
from taskforce.cases import service as case_service
from taskforce.cases.models import Case
from taskforce.cases.schemas import CaseCreate, SelectorCreate
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller
from taskforce.core.db import utcnow
from taskforce.core.errors import Conflict, Forbidden, Invalid
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.hashsets.categories import SCHEMES
from taskforce.reports.duplicates import close_as_duplicate, short_id
from taskforce.reports.models import (
    HotlineCase,
    Report,
    ReportAssessment,
)
from taskforce.reports.schemas import (
    ASSESSMENT_LABELS,
    Assessment,
    AssessmentCreate,
    Kind,
)
from taskforce.reports.service import CONFIRMED, handled_report, visible_report
from taskforce.takedown import service as takedown_service

# --- assessment, and what follows from it ---------------------------------------------------


def assess(
    session: Session,
    caller: Caller,
    report_id: uuid.UUID,
    data: AssessmentCreate,
    settings: Settings | None = None,
) -> ReportAssessment:
    """Record a verdict; illegal material needs a category of the taskforce scheme.

    What follows (in the same transaction): a confirmed URL (illegal material) goes on the
    block list and gets a takedown notice to its host; the URL, its domain, the hosting
    address and a groomer's username become selectors of the agency's hotline case (illegal
    material and illegal elsewhere), so deconfliction links them to investigations; reports of
    the same URL waiting in the queue are closed as its duplicates."""
    report = handled_report(session, caller, report_id)
    category = (data.category or "").strip() or None
    if data.assessment == Assessment.ILLEGAL_MATERIAL and report.kind == Kind.URL.value:
        if category is None or category not in SCHEMES["taskforce"]:
            raise Invalid("category", "choose a category of the taskforce scheme")
        if not SCHEMES["taskforce"][category].illegal:
            raise Invalid("category", "choose a category of illegal material")
    elif category is not None and category not in SCHEMES["taskforce"]:
        raise Invalid("category", "choose a category of the taskforce scheme")
    elif data.assessment != Assessment.ILLEGAL_MATERIAL:
        category = None
    note = data.note.strip()
    if len(note) > 2000:
        raise Invalid("note", "at most 2000 characters")
    original: Report | None = None
    if data.duplicate_of is not None:
        if data.assessment != Assessment.DUPLICATE:
            raise Invalid("duplicate_of", "only a duplicate names the report it repeats")
        original = visible_report(session, caller, data.duplicate_of)
        if original.id == report.id:
            raise Invalid("duplicate_of", "a report cannot duplicate itself")
    row = ReportAssessment(
        report_id=report.id,
        assessment=data.assessment.value,
        category=category,
        note=note,
        agency_id=caller.agency_id,
        user_id=caller.user_id,
        created_at=utcnow(),
    )
    session.add(row)
    report.status = "duplicate" if data.assessment == Assessment.DUPLICATE else "assessed"
    if original is not None:
        report.duplicate_of_id = original.id
    if report.receiving_agency_id is None and caller.agency_id is not None:
        report.receiving_agency_id = caller.agency_id  # the coordinator took it on
        report.route_due_at = None
    session.flush()
    follow_up: list[str] = []
    if settings is not None and data.assessment in CONFIRMED:
        follow_up = _follow_up(session, caller, settings, report, data.assessment, category)
    closed = _close_waiting_duplicates(session, report, data.assessment)
    audit.record(
        session,
        caller,
        action="report.assess",
        operation=Operation.ALTERATION,
        subject_type="public_report",
        subject_id=report.id,
        detail={
            "assessment": data.assessment.value,
            "category": category,
            "follow_up": follow_up,
            "duplicates_closed": closed,
        },
    )
    return row


def _close_waiting_duplicates(session: Session, report: Report, verdict: Assessment) -> int:
    if report.url_hash is None or verdict == Assessment.DUPLICATE:
        return 0
    waiting = list(
        session.scalars(
            select(Report).where(
                Report.url_hash == report.url_hash,
                Report.id != report.id,
                Report.status == "new",
                Report.receiving_agency_id == report.receiving_agency_id,
            )
        )
    )
    label = ASSESSMENT_LABELS[verdict]
    for other in waiting:
        other.duplicate_of_id = other.duplicate_of_id or report.id
        close_as_duplicate(
            session,
            other,
            report,
            f"same URL as report {short_id(report.id)}, assessed: {label}",
        )
    session.flush()
    return len(waiting)


def _follow_up(
    session: Session,
    caller: Caller,
    settings: Settings,
    report: Report,
    verdict: Assessment,
    category: str | None,
) -> list[str]:
    """Block list, takedown notice and selectors; each step says what it did."""
    done: list[str] = []
    url = (report.details or {}).get("url")
    agency = (
        agency_service.get(session, report.receiving_agency_id)
        if report.receiving_agency_id
        else None
    )
    if verdict == Assessment.ILLEGAL_MATERIAL and report.kind == Kind.URL.value and url and agency:
        normal = url if "://" in url else f"http://{url}"
        try:
            entry = blocklist_service.add_entry(
                session,
                caller,
                EntryCreate(
                    url=normal,
                    match="exact",
                    category=category or "",
                    reason=f"confirmed by {agency.code} from a public report",
                    source=f"report:{report.id}",
                ),
            )
            done.append(f"block list: added as version {entry.added_version}")
        except Conflict:
            done.append("block list: already listed")
        except Invalid as exc:
            done.append(f"block list: not added ({exc.message})")
        if report.url_hash and report.host:
            notice = takedown_service.issue(
                session,
                caller,
                settings,
                agency=agency,
                url=normal,
                url_hash=report.url_hash,
                host=report.host,
                category=category,
                report_id=report.id,
                hosting_ip=report.hosting_ip,
                hosting_country=report.hosting_country,
                provider_id=report.hosting_provider_id,
            )
            done.append(
                f"takedown notice {short_id(notice.id)} to {notice.recipient}"
                if notice.recipient
                else f"takedown notice {short_id(notice.id)} waits for an abuse contact"
            )
    if agency is not None:
        done.extend(_feed_hub(session, caller, settings, report, agency))
    return done


def hotline_case(session: Session, agency: Agency) -> Case:
    """The agency's case for selectors of confirmed public reports, opened on first use (RED:
    other agencies learn of a match and whom to call, not the report)."""
    case_id = session.scalar(select(HotlineCase.case_id).where(HotlineCase.agency_id == agency.id))
    if case_id is not None:
        case = session.get(Case, case_id)
        if case is not None:
            return case
    opener = agency_service.job_caller(agency, "hotline intake")
    case = case_service.open_case(
        session,
        opener,
        CaseCreate(
            title=f"Public reports confirmed by {agency.code}",
            summary="Selectors from public reports this agency confirmed: reported URLs, "
            "their domains, hosting addresses and groomers' usernames. Kept by taskforce.",
            sharing=SharingLevel.RED,
            offence_types=["distribution", "grooming"],
        ),
    )
    session.add(HotlineCase(agency_id=agency.id, case_id=case.id))
    session.flush()
    return case


def _feed_hub(
    session: Session, caller: Caller, settings: Settings, report: Report, agency: Agency
) -> list[str]:
    """URLs, domains, hosting addresses and usernames of a confirmed report become selectors
    of the hotline case; each is deconflicted at once like any other selector."""
    details = report.details or {}
    wanted: list[SelectorCreate] = []
    if report.kind == Kind.URL.value and details.get("url"):
        wanted.append(SelectorCreate(type="url", value=details["url"]))
        if report.domain:
            wanted.append(SelectorCreate(type="domain", value=report.domain))
        if report.hosting_ip:
            wanted.append(
                SelectorCreate(type="ip", value=report.hosting_ip, observed_at=report.routed_at)
            )
    if report.kind == Kind.GROOMING.value and details.get("adult_username"):
        wanted.append(
            SelectorCreate(
                type="username",
                value=details["adult_username"][:2048],
                platform=(details.get("platform") or "")[:100] or None,
            )
        )
    if not wanted:
        return []
    case = hotline_case(session, agency)
    note = f"public report {short_id(report.id)}"
    added = hits = 0
    skipped: list[str] = []
    for selector in wanted:
        selector.note = note
        try:
            with session.begin_nested():
                result = case_additions.add_selector(
                    session, caller, settings, case_id=case.id, data=selector
                )
        except (Invalid, Forbidden) as exc:
            skipped.append(f"{selector.type} not added ({exc.message})")
            continue
        added += int(result.created)
        hits += len(result.hits)
    return [f"hotline case {case.reference}: {added} selector(s) added, {hits} hit(s)", *skipped]
