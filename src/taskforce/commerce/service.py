"""Sites and crawls: a site is opened from a confirmed report or a case of the caller's agency,
and a crawl of it is asked for (by an analyst, or by the recrawl schedule). The one access rule
of the domain lives here: an agency sees its own sites and crawls, and any other id is answered
as missing (audited), so another agency's site reveals nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from taskforce.agencies.models import Agency
from taskforce.cases import service as case_service
from taskforce.cases.models import Case
from taskforce.cases.selectors import SelectorKind, normalise
from taskforce.commerce.fetcher import registrable_domain
from taskforce.commerce.models import (
    CommerceCrawl,
    CommerceGroup,
    CommerceIndicator,
    CommerceSite,
    PaymentNotice,
    WalletWatch,
)
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import Invalid
from taskforce.core.settings import Settings
from taskforce.reports import assessment as report_assessment
from taskforce.reports.models import Report, ReportAssessment
from taskforce.reports.schemas import Assessment

MAX_DEPTH = 5  # links followed from the landing page
MAX_PATHWAY = 10  # gateway hops an analyst may record before the landing page
MAX_RECRAWL_DAYS = 365
ACTIVE = ("queued", "running")

Row = TypeVar(
    "Row", CommerceSite, CommerceCrawl, CommerceIndicator, CommerceGroup, PaymentNotice, WalletWatch
)


@dataclass(frozen=True)
class PathwayHop:
    """One recorded hop before the landing page: the page fetched and the referrer it is
    fetched with (None: the previous hop's URL, or no referrer for the first)."""

    url: str
    referrer: str | None = None


# --- access ---------------------------------------------------------------------------------


def own_site(session: Session, caller: Caller, site_id: uuid.UUID) -> CommerceSite:
    """A site of the caller's agency; anything else is the same audited 'not found'."""
    return _own(session, caller, CommerceSite, site_id, "site")


def own_crawl(session: Session, caller: Caller, crawl_id: uuid.UUID) -> CommerceCrawl:
    return _own(session, caller, CommerceCrawl, crawl_id, "crawl")


def own_indicator(session: Session, caller: Caller, indicator_id: uuid.UUID) -> CommerceIndicator:
    return _own(session, caller, CommerceIndicator, indicator_id, "indicator")


def refuse_indicator(session: Session, caller: Caller, indicator_id: uuid.UUID) -> NoReturn:
    """An indicator id the caller may not see (another agency's, or none), audited."""
    sharing.refuse(
        session,
        caller,
        action="commerce.indicator.read",
        subject_type="commerce_indicator",
        subject_id=indicator_id,
        missing="indicator",
    )


def own_row(
    session: Session,
    caller: Caller,
    model: type[Row],
    record_id: uuid.UUID,
    *,
    action: str,
    subject_type: str,
    missing: str,
    where: Sequence[ColumnElement[bool]] = (),
) -> Row:
    """One rule for the domain's rows: the caller (who investigates sites) reads a row its
    agency owns (and that meets `where`); any other id is missing, the refusal audited as
    `action` on `subject_type`."""
    return sharing.owned_or_404(
        session,
        caller,
        model,
        record_id,
        permission=Permission.INVESTIGATE_SITES,
        action=action,
        subject_type=subject_type,
        missing=missing,
        where=where,
    )


def _own(
    session: Session, caller: Caller, model: type[Row], record_id: uuid.UUID, noun: str
) -> Row:
    """A site, crawl or indicator: refused as `commerce.<noun>.read` on `commerce_<noun>`."""
    return own_row(
        session,
        caller,
        model,
        record_id,
        action=f"commerce.{noun}.read",
        subject_type=f"commerce_{noun}",
        missing=noun,
    )


# --- opening a site -------------------------------------------------------------------------


def web_url(raw: str, field: str = "url") -> str:
    """An http(s) URL as the cases domain normalises it; the field named in the refusal."""
    try:
        value = normalise(SelectorKind.URL, raw).value
    except Invalid as exc:
        raise Invalid(field, exc.rule) from None
    if not value.startswith(("http://", "https://")):
        raise Invalid(field, "must be an http or https URL")
    return value


def host_of(url: str) -> str:
    rest = url.split("://", 1)[1]
    host = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _confirmed_report(session: Session, caller: Caller, report_id: uuid.UUID) -> Report:
    """A URL report the caller's agency received whose latest verdict is illegal material."""
    report = session.get(Report, report_id)
    refusal = Invalid("report", "must be a URL report your agency confirmed as illegal material")
    if report is None or report.receiving_agency_id != caller.agency_id or report.kind != "url":
        raise refusal
    latest = session.scalar(
        select(ReportAssessment.assessment)
        .where(ReportAssessment.report_id == report.id)
        .order_by(ReportAssessment.created_at.desc())
        .limit(1)
    )
    if latest != Assessment.ILLEGAL_MATERIAL.value:
        raise refusal
    return report


def confirmed_report_url(session: Session, caller: Caller, report_id: uuid.UUID) -> str:
    """The URL a report of the caller's agency confirmed as illegal is about, to open its site
    from without typing it again (read audited, as the report's page is)."""
    report = _confirmed_report(session, caller, report_id)
    audit.record(
        session,
        caller,
        action="report.read",
        operation=Operation.CONSULTATION,
        subject_type="public_report",
        subject_id=report.id,
        detail={"for": "commerce.site"},
    )
    return str((report.details or {}).get("url", ""))


def check_recrawl_days(days: int | None) -> None:
    if days is not None and not 1 <= days <= MAX_RECRAWL_DAYS:
        raise Invalid(
            "recrawl_days", f"must be 1 to {MAX_RECRAWL_DAYS} days, or empty for no recrawl"
        )


def _pathway(hops: list[PathwayHop]) -> list[dict[str, Any]]:
    if len(hops) > MAX_PATHWAY:
        raise Invalid("pathway", f"at most {MAX_PATHWAY} hops before the landing page")
    recorded = []
    for number, hop in enumerate(hops, 1):
        referrer = hop.referrer.strip() if hop.referrer else None
        recorded.append(
            {
                "url": web_url(hop.url, f"pathway hop {number}"),
                "referrer": web_url(referrer, f"pathway hop {number} referrer")
                if referrer
                else None,
            }
        )
    return recorded


def add_site(
    session: Session,
    caller: Caller,
    settings: Settings,
    *,
    url: str,
    label: str = "",
    report_id: uuid.UUID | None = None,
    case_id: uuid.UUID | None = None,
    depth: int = 2,
    page_limit: int = 50,
    pathway: list[PathwayHop] | None = None,
    recrawl_days: int | None = None,
    now: datetime | None = None,
) -> tuple[CommerceSite, bool]:
    """Open a site from a confirmed report (its selectors go to the hotline's case) or a case
    of the caller's agency; returns the site and whether it is new (the same URL again is the
    site already open, unchanged)."""
    caller.require(Permission.INVESTIGATE_SITES)
    if caller.agency_id is None:
        raise Invalid("agency", "only a member agency's staff open sites")
    now = now or utcnow()
    start = web_url(url)
    if not 0 <= depth <= MAX_DEPTH:
        raise Invalid("depth", f"must be 0 to {MAX_DEPTH}")
    if not 1 <= page_limit <= settings.commerce_max_pages:
        raise Invalid("page_limit", f"must be 1 to {settings.commerce_max_pages}")
    check_recrawl_days(recrawl_days)
    label = label.strip()
    if len(label) > 200:
        raise Invalid("label", "at most 200 characters")
    hops = _pathway(pathway or [])
    if (report_id is None) == (case_id is None):
        raise Invalid("report", "start from one confirmed report or one case of your agency")
    case: Case
    if report_id is not None:
        _confirmed_report(session, caller, report_id)
        agency = session.get(Agency, caller.agency_id)
        assert agency is not None
        case = report_assessment.hotline_case(session, agency)
    else:
        assert case_id is not None
        case = case_service.owned_case(session, caller, case_id, Permission.ADD_SELECTOR)
    existing = session.scalar(
        select(CommerceSite).where(
            sharing.owned_by(CommerceSite.owner_agency_id, caller), CommerceSite.url == start
        )
    )
    if existing is not None:
        return existing, False
    host = host_of(start)
    site = CommerceSite(
        owner_agency_id=caller.agency_id,
        url=start,
        host=host,
        registrable_domain=registrable_domain(host),
        label=label,
        report_id=report_id,
        case_id=case.id,
        created_at=now,
        created_by_user_id=caller.user_id,
        depth=depth,
        page_limit=page_limit,
        pathway=hops,
        recrawl_days=recrawl_days,
    )
    session.add(site)
    session.flush()
    audit.record(
        session,
        caller,
        action="commerce.site.add",
        operation=Operation.COLLECTION,
        subject_type="commerce_site",
        subject_id=site.id,
        subject_agency_id=caller.agency_id,
        detail={"host": host, "report": str(report_id) if report_id else None},
    )
    return site, True


# --- asking for a crawl ---------------------------------------------------------------------


def first_frontier(site: CommerceSite) -> list[dict[str, Any]]:
    """Where a crawl starts: the recorded pathway hops in order (each with its referrer, or
    the previous hop's URL), then the landing page with the last hop as its referrer."""
    frontier: list[dict[str, Any]] = []
    previous: str | None = None
    for hop in site.pathway:
        referrer = hop.get("referrer") or previous
        frontier.append({"url": hop["url"], "depth": 0, "referrer": referrer, "pathway": True})
        previous = hop["url"]
    frontier.append({"url": site.url, "depth": 0, "referrer": previous, "pathway": False})
    return frontier


def queue_crawl(
    session: Session,
    caller: Caller,
    site: CommerceSite,
    *,
    reason: str = "manual",
    now: datetime | None = None,
) -> CommerceCrawl:
    """A crawl of the site, due now; the one already queued or running if there is one."""
    now = now or utcnow()
    running = session.scalar(
        select(CommerceCrawl).where(
            CommerceCrawl.site_id == site.id, CommerceCrawl.status.in_(ACTIVE)
        )
    )
    if running is not None:
        return running
    crawl = CommerceCrawl(
        site_id=site.id,
        owner_agency_id=site.owner_agency_id,
        requested_by_user_id=caller.user_id,
        actor_label=caller.label,
        reason=reason,
        requested_at=now,
        status="queued",
        next_step_at=now,
        depth=site.depth,
        page_limit=site.page_limit,
        pathway=list(site.pathway),
        frontier=first_frontier(site),
        visited=[],
    )
    session.add(crawl)
    session.flush()
    audit.record(
        session,
        caller,
        action="commerce.crawl.queue",
        operation=Operation.COLLECTION,
        subject_type="commerce_site",
        subject_id=site.id,
        subject_agency_id=site.owner_agency_id,
        detail={"crawl": str(crawl.id), "reason": reason},
    )
    return crawl
