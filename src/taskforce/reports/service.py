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

import hashlib
import hmac
import ipaddress
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from publicsuffixlist import PublicSuffixList
from sqlalchemy import ColumnElement, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.blocklist import normalise
from taskforce.blocklist import service as blocklist_service
from taskforce.blocklist.models import BlocklistEntry
from taskforce.blocklist.schemas import EntryCreate
from taskforce.cases import additions as case_additions
from taskforce.cases import service as case_service
from taskforce.cases.models import Case
from taskforce.cases.schemas import CaseCreate, SelectorCreate
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Action, Operation
from taskforce.core.caller import Caller, Permission, Role
from taskforce.core.db import insert_new, is_postgres, utcnow
from taskforce.core.errors import Conflict, Forbidden, Invalid, NotFound
from taskforce.core.jobs import runner as jobs
from taskforce.core.resolver import Resolver
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.core.text import unstorable
from taskforce.hashsets.categories import SCHEMES
from taskforce.hosting.models import HostingProvider
from taskforce.reports import routing
from taskforce.reports.models import (
    HotlineCase,
    Report,
    ReportAddition,
    ReportAssessment,
    ReportThrottle,
    RoutingStep,
)
from taskforce.reports.schemas import (
    ADDITION_MAX,
    ASSESSMENT_LABELS,
    Assessment,
    AssessmentCreate,
    Kind,
    ReportCreate,
    ReportInvalid,
    ReportRateLimited,
)
from taskforce.takedown import service as takedown_service
from taskforce.takedown.models import TakedownNotice
from taskforce.watch import service as watch_service

PUBLIC = Caller(role=Role.READ_ONLY, channel="public", email="member of the public")

WINDOW = timedelta(minutes=10)
REPORTS_PER_ADDRESS = 5  # per WINDOW
RECEIPT_TRIES_PER_ADDRESS = 10  # wrong codes per WINDOW, against guessing
ADDITIONS_PER_RECEIPT_HOUR = 5
FORM_TOKEN_AGE = 4 * 3600  # seconds a form may stay open

# No 0/O, 1/I/L: read aloud or copied by hand without mistakes. 31^16 ≈ 7e23 codes.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


# --- form token: CSRF protection without a cookie ---------------------------------------------


def _sign(settings: Settings, text: str) -> str:
    return hmac.new(settings.secret_key.encode(), text.encode(), hashlib.sha256).hexdigest()[:32]


def form_token(settings: Settings, now: float | None = None) -> str:
    """A signed, time-limited token for the hidden field: a page of this site must have been
    fetched (by anyone) within the last hours for a post to count."""
    issued = str(int(now if now is not None else time.time()))
    return f"{issued}.{_sign(settings, 'report-form:' + issued)}"


def check_form_token(settings: Settings, token: str, now: float | None = None) -> None:
    issued, _, signature = (token or "").partition(".")
    current = now if now is not None else time.time()
    valid = (
        issued.isdigit()
        and hmac.compare_digest(signature, _sign(settings, "report-form:" + issued))
        and 0 <= current - int(issued) <= FORM_TOKEN_AGE
    )
    if not valid:
        raise ReportInvalid("form", "err_form")


# --- throttle -------------------------------------------------------------------------------


def _address_key(settings: Settings, scope: str, address: str | None) -> str:
    """A keyed hash of the sender's address: enough to count, useless without the key."""
    return hmac.new(
        settings.secret_key.encode(),
        f"report-{scope}:{address or 'unknown'}".encode(),
        hashlib.sha256,
    ).hexdigest()


_PURGE_EVERY = 60.0  # seconds between purges of expired throttle rows, per process
_last_purge = 0.0


def purge_throttle(session: Session) -> int:
    """Delete throttle rows older than the window (the worker does it every round too)."""
    result = session.execute(delete(ReportThrottle).where(ReportThrottle.at < utcnow() - WINDOW))
    return int(getattr(result, "rowcount", 0) or 0)


def _over_limit(session: Session, key: str, limit: int) -> bool:
    """Whether this sender already used up the window; expired rows are purged at most once a
    minute from the request path (every report paid for a DELETE before)."""
    global _last_purge
    if time.monotonic() - _last_purge > _PURGE_EVERY:
        _last_purge = time.monotonic()
        purge_throttle(session)
    recent = session.scalar(
        select(func.count()).where(
            ReportThrottle.key_hash == key, ReportThrottle.at >= utcnow() - WINDOW
        )
    )
    return (recent or 0) >= limit


# --- receipts -------------------------------------------------------------------------------


def new_receipt_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def receipt_hash(code: str) -> str:
    """Codes are compared without case, spaces or dashes, as people type them back."""
    canonical = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- URL facts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class UrlFacts:
    url_hash: str  # sha256 of the block list's key: the same page however it was written
    host: str  # without port, as resolved for routing
    domain: str | None  # registrable domain (public suffix list), None for an IP literal


@lru_cache(maxsize=1)
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # ICANN and private suffixes: user.blogspot.com is its own domain


def url_facts(url: str) -> UrlFacts | None:
    """What duplicates and routing need of a reported URL; None when it cannot be read."""
    try:
        parts = normalise.split(url if "://" in url else f"http://{url}")
    except Invalid:
        return None
    key = f"{parts.host}{parts.path}?{parts.query}" if parts.query else parts.host + parts.path
    host = parts.host
    if host.startswith("["):
        host = host[1 : host.index("]")]
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    try:
        ipaddress.ip_address(host)
        domain = None
    except ValueError:
        domain = _suffixes().privatesuffix(host) or host
    return UrlFacts(hashlib.sha256(key.encode()).hexdigest(), host, domain)


# --- reporting ------------------------------------------------------------------------------


def submit_report(
    session: Session, settings: Settings, data: ReportCreate, *, address: str | None
) -> tuple[Report, str]:
    """Store a report and return it with its receipt code (the only time the code exists in
    clear). The caller commits at once, then calls `after_report`. The report is due for
    routing from the start, so a worker routes it even if `after_report` never runs."""
    key = _address_key(settings, "report", address)
    if _over_limit(session, key, REPORTS_PER_ADDRESS):
        raise ReportRateLimited("err_rate", minutes=WINDOW.seconds // 60)
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
        _link_duplicate(session, report)
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
    if not report.urgent or watch_service.lead_of(session, report.id) is not None:
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
    key = _address_key(settings, "receipt", address)
    if _over_limit(session, key, RECEIPT_TRIES_PER_ADDRESS):
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


def _close_as_duplicate(
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


def _link_duplicate(session: Session, report: Report) -> None:
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
        _close_as_duplicate(
            session,
            report,
            original,
            f"URL under takedown notice since {notice.created_at:%Y-%m-%d %H:%M} UTC",
        )
        return
    verdict = _latest_assessment(session, original.id)
    if verdict is not None and verdict.assessment != Assessment.DUPLICATE.value:
        label = ASSESSMENT_LABELS[Assessment(verdict.assessment)]
        _close_as_duplicate(
            session,
            report,
            original,
            f"same URL as report {short_id(original.id)}, already assessed: {label}",
        )


def short_id(report_id: uuid.UUID) -> str:
    """How people name a report on the phone: the first eight hex digits of its id."""
    return report_id.hex[:8].upper()


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
        _link_duplicate(session, report)  # the original may have been assessed meanwhile
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
    report = _handled(session, caller, report_id)
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


def _may_see(session: Session, caller: Caller, report: Report) -> bool:
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
    if report.urgent and watch_service.is_target(session, caller, report.id):
        return True
    assessed = session.scalar(
        select(ReportAssessment.id)
        .where(
            ReportAssessment.report_id == report.id, ReportAssessment.agency_id == caller.agency_id
        )
        .limit(1)
    )
    return assessed is not None


def _visible(session: Session, caller: Caller, report_id: uuid.UUID) -> Report:
    caller.require(Permission.HANDLE_REPORTS)
    report = session.get(Report, report_id)
    if report is None or not _may_see(session, caller, report):
        sharing.refuse(
            session,
            caller,
            action="report.read",
            subject_type="public_report",
            subject_id=report_id,
            missing="report",
        )
    return report


def _handled(session: Session, caller: Caller, report_id: uuid.UUID) -> Report:
    """A report the caller's agency handles now (assess, re-route)."""
    report = _visible(session, caller, report_id)
    if report.receiving_agency_id is None:
        return report  # the coordinator, holding an unroutable report
    if report.receiving_agency_id != caller.agency_id:
        raise Forbidden("only the agency the report is routed to handles it")
    return report


# --- the hotline queue ----------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    report: Report
    same_url: int  # other reports of the same URL
    same_domain: int  # other reports on the same registrable domain
    original_id: uuid.UUID | None


QUEUE_VIEWS = ("new", "assessed", "duplicate", "all")


def _queue_filter(caller: Caller, coordinator_id: uuid.UUID | None) -> ColumnElement[bool]:
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
        query = query.where(Report.status == "new").order_by(
            Report.urgent.desc(), Report.created_at, Report.id
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
        )
        for r in reports
    ]


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
    lead: watch_service.LeadStatus | None = None
    assessors: dict[uuid.UUID, str] = field(default_factory=dict)


def get_report(
    session: Session, caller: Caller, report_id: uuid.UUID
) -> tuple[Report, list[ReportAddition], list[ReportAssessment]]:
    """One report with what the reporter added and its assessments; every read is audited."""
    view = report_view(session, caller, report_id)
    return view.report, view.additions, view.assessments


def report_view(session: Session, caller: Caller, report_id: uuid.UUID) -> ReportView:
    report = _visible(session, caller, report_id)
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
        lead=watch_service.lead_status(session, report.id) if report.urgent else None,
        assessors={k: v.code for k, v in agencies.items()},
    )


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
    report = _handled(session, caller, report_id)
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
        original = _visible(session, caller, data.duplicate_of)
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


CONFIRMED = (Assessment.ILLEGAL_MATERIAL, Assessment.ILLEGAL_ELSEWHERE)


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
        _close_as_duplicate(
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


def _hotline_case(session: Session, agency: Agency) -> Case:
    """The agency's case for selectors of confirmed public reports, opened on first use (RED:
    other agencies learn of a match and whom to call, not the report)."""
    case_id = session.scalar(select(HotlineCase.case_id).where(HotlineCase.agency_id == agency.id))
    if case_id is not None:
        case = session.get(Case, case_id)
        if case is not None:
            return case
    opener = Caller(
        role=Role.AGENCY_ADMIN,
        channel="job",
        agency_id=agency.id,
        agency_code=agency.code,
        country=agency.country,
        email="hotline intake",
    )
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
    case = _hotline_case(session, agency)
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
