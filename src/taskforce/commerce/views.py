"""What the commerce pages, API and console read: the agency's sites with their last crawl, one
site with its crawls and indicators (and where each was seen), one crawl with its pages, one
page as evidence, the agency's indicators. Each read goes through the service's access rule
(another agency's id is the same audited 'not found') and is audited as a consultation."""

from __future__ import annotations

import gzip
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from taskforce.cases.models import Case
from taskforce.commerce import service
from taskforce.commerce.models import (
    CommerceCrawl,
    CommerceIndicator,
    CommercePage,
    CommerceSighting,
    CommerceSite,
)
from taskforce.commerce.schemas import (
    CrawlRead,
    CrawlSummary,
    GroupRef,
    IndicatorPage,
    IndicatorRead,
    PageRead,
    PageSummary,
    PathwayHopRead,
    SightingRead,
    SitePage,
    SiteRead,
    SiteSummary,
)
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.errors import Invalid

SIGHTINGS_SHOWN = 5  # per indicator on a site's page: the latest
CRAWLS_SHOWN = 20
PAGES_SHOWN = 500  # a crawl's pages listed (commerce_max_pages bounds a crawl anyway)
KINDS = ("wallet", "processor", "merchant", "affiliate", "analytics", "messenger", "email",
         "template", "ip")  # fmt: skip


def _consulted(
    session: Session, caller: Caller, action: str, subject_type: str, subject_id: uuid.UUID
) -> None:
    audit.record(
        session,
        caller,
        action=action,
        operation=Operation.CONSULTATION,
        subject_type=subject_type,
        subject_id=subject_id,
        subject_agency_id=caller.agency_id,
    )


# --- sites ----------------------------------------------------------------------------------


def _last_crawls(session: Session, site_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, CommerceCrawl]:
    if not site_ids:
        return {}
    latest = (
        select(CommerceCrawl.site_id, func.max(CommerceCrawl.requested_at).label("at"))
        .where(CommerceCrawl.site_id.in_(site_ids))
        .group_by(CommerceCrawl.site_id)
        .subquery()
    )
    rows = session.scalars(
        select(CommerceCrawl).join(
            latest,
            (CommerceCrawl.site_id == latest.c.site_id)
            & (CommerceCrawl.requested_at == latest.c.at),
        )
    )
    return {crawl.site_id: crawl for crawl in rows}


def _indicator_counts(session: Session, site_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not site_ids:
        return {}
    rows = session.execute(
        select(CommerceSighting.site_id, func.count(func.distinct(CommerceSighting.indicator_id)))
        .where(CommerceSighting.site_id.in_(site_ids))
        .group_by(CommerceSighting.site_id)
    )
    return dict(rows.all())


class Memberships(Protocol):
    """The graph's brand and group of each site (`graphs.memberships`), handed in by the
    interface: the graph's workflow sits beside this module, not under it."""

    def __call__(
        self, session: Session, caller: Caller, site_ids: list[uuid.UUID] | None = None
    ) -> Mapping[uuid.UUID, Any]: ...


def _site_groups(
    session: Session, caller: Caller, site_ids: list[uuid.UUID], memberships: Memberships | None
) -> dict[uuid.UUID, list[GroupRef]]:
    """The distribution group and the brand of each site in the agency's latest run."""
    found: dict[uuid.UUID, list[GroupRef]] = defaultdict(list)
    if memberships is None or not site_ids:
        return found
    for site_id, member in memberships(session, caller, site_ids).items():
        for group in (member.group, member.brand):
            if group is not None:
                found[site_id].append(GroupRef(id=group.id, kind=group.kind, label=group.label))
    return found


def _summaries(
    session: Session,
    caller: Caller,
    sites: Sequence[CommerceSite],
    memberships: Memberships | None = None,
) -> list[SiteSummary]:
    ids = [site.id for site in sites]
    crawls = _last_crawls(session, ids)
    counts = _indicator_counts(session, ids)
    groups = _site_groups(session, caller, ids, memberships)
    case_ids = {site.case_id for site in sites if site.case_id}
    references = (
        dict(session.execute(select(Case.id, Case.reference).where(Case.id.in_(case_ids))).all())
        if case_ids
        else {}
    )
    return [
        SiteSummary(
            id=site.id,
            url=site.url,
            host=site.host,
            registrable_domain=site.registrable_domain,
            label=site.label,
            status=site.status,
            report_id=site.report_id,
            case_id=site.case_id,
            case_reference=references.get(site.case_id) if site.case_id else None,
            created_at=site.created_at,
            depth=site.depth,
            page_limit=site.page_limit,
            recrawl_days=site.recrawl_days,
            next_crawl_at=site.next_crawl_at,
            last_crawled_at=site.last_crawled_at,
            last_ip=site.last_ip,
            last_crawl=CrawlSummary.model_validate(crawls[site.id]) if site.id in crawls else None,
            indicators=counts.get(site.id, 0),
            groups=groups.get(site.id, []),
        )
        for site in sites
    ]


def list_sites(
    session: Session,
    caller: Caller,
    *,
    query: str = "",
    limit: int = 50,
    offset: int = 0,
    memberships: Memberships | None = None,
) -> SitePage:
    """The agency's sites, newest first; `query` matches the host, URL or label."""
    caller.require(Permission.INVESTIGATE_SITES)
    where = [sharing.owned_by(CommerceSite.owner_agency_id, caller)]
    query = query.strip()
    if query:
        like = f"%{query.lower()}%"
        where.append(
            or_(
                func.lower(CommerceSite.url).like(like),
                func.lower(CommerceSite.label).like(like),
            )
        )
    total = session.scalar(select(func.count()).select_from(CommerceSite).where(*where)) or 0
    sites = list(
        session.scalars(
            select(CommerceSite)
            .where(*where)
            .order_by(CommerceSite.created_at.desc(), CommerceSite.id)
            .limit(limit)
            .offset(offset)
        )
    )
    items = _summaries(session, caller, sites, memberships)
    return SitePage(items=items, total=total, limit=limit, offset=offset)


def _pathway(hops: list[dict[str, object]]) -> list[PathwayHopRead]:
    return [
        PathwayHopRead(url=str(hop.get("url", "")), referrer=_text(hop.get("referrer")))
        for hop in hops
    ]


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def site_view(
    session: Session,
    caller: Caller,
    site_id: uuid.UUID,
    *,
    memberships: Memberships | None = None,
) -> SiteRead:
    """One site: its crawls (newest first), its indicators with where each was seen here."""
    site = service.own_site(session, caller, site_id)
    _consulted(session, caller, "commerce.site.read", "commerce_site", site.id)
    [summary] = _summaries(session, caller, [site], memberships)
    crawls = session.scalars(
        select(CommerceCrawl)
        .where(CommerceCrawl.site_id == site.id)
        .order_by(CommerceCrawl.requested_at.desc())
        .limit(CRAWLS_SHOWN)
    )
    indicator_ids = list(
        session.scalars(
            select(CommerceSighting.indicator_id)
            .where(CommerceSighting.site_id == site.id)
            .distinct()
        )
    )
    return SiteRead(
        **summary.model_dump(),
        pathway=_pathway(site.pathway),
        crawls=[CrawlSummary.model_validate(crawl) for crawl in crawls],
        site_indicators=_indicators(session, indicator_ids, site_id=site.id),
    )


# --- indicators -----------------------------------------------------------------------------


def _indicators(
    session: Session,
    indicator_ids: Sequence[uuid.UUID],
    *,
    site_id: uuid.UUID | None = None,
    page_id: uuid.UUID | None = None,
) -> list[IndicatorRead]:
    """The indicators with their latest sightings (on one site or page when given), ordered
    by kind then value."""
    if not indicator_ids:
        return []
    rows = list(
        session.scalars(select(CommerceIndicator).where(CommerceIndicator.id.in_(indicator_ids)))
    )
    sites_per = dict(
        session.execute(
            select(
                CommerceSighting.indicator_id, func.count(func.distinct(CommerceSighting.site_id))
            )
            .where(CommerceSighting.indicator_id.in_(indicator_ids))
            .group_by(CommerceSighting.indicator_id)
        ).all()
    )
    where: list[ColumnElement[bool]] = [CommerceSighting.indicator_id.in_(indicator_ids)]
    if site_id is not None:
        where.append(CommerceSighting.site_id == site_id)
    if page_id is not None:
        where.append(CommerceSighting.page_id == page_id)
    seen: dict[uuid.UUID, list[SightingRead]] = defaultdict(list)
    for sighting, url in session.execute(
        select(CommerceSighting, CommercePage.url)
        .join(CommercePage, CommercePage.id == CommerceSighting.page_id)
        .where(*where)
        .order_by(CommerceSighting.seen_at.desc(), CommerceSighting.id)
    ):
        shown = seen[sighting.indicator_id]
        if len(shown) < SIGHTINGS_SHOWN:
            shown.append(
                SightingRead(
                    page_id=sighting.page_id,
                    page_url=url,
                    crawl_id=sighting.crawl_id,
                    site_id=sighting.site_id,
                    seen_at=sighting.seen_at,
                    offset=sighting.offset,
                    snippet=sighting.snippet,
                )
            )
    order = {kind: n for n, kind in enumerate(KINDS)}
    rows.sort(key=lambda row: (order.get(row.kind, len(order)), row.value))
    return [
        IndicatorRead(
            id=row.id,
            kind=row.kind,
            value=row.value,
            detail=row.detail,
            first_seen_at=row.first_seen_at,
            last_seen_at=row.last_seen_at,
            sites=sites_per.get(row.id, 0),
            sightings=seen.get(row.id, []),
        )
        for row in rows
    ]


def list_indicators(
    session: Session,
    caller: Caller,
    *,
    kind: str = "",
    query: str = "",
    limit: int = 50,
    offset: int = 0,
) -> IndicatorPage:
    """The agency's indicators, most recently seen first."""
    caller.require(Permission.INVESTIGATE_SITES)
    if kind and kind not in KINDS:
        raise Invalid("kind", f"must be one of {', '.join(KINDS)}")
    where: list[ColumnElement[bool]] = [sharing.owned_by(CommerceIndicator.owner_agency_id, caller)]
    if kind:
        where.append(CommerceIndicator.kind == kind)
    if query.strip():
        where.append(func.lower(CommerceIndicator.value).like(f"%{query.strip().lower()}%"))
    total = session.scalar(select(func.count()).select_from(CommerceIndicator).where(*where)) or 0
    ids = list(
        session.scalars(
            select(CommerceIndicator.id)
            .where(*where)
            .order_by(CommerceIndicator.last_seen_at.desc(), CommerceIndicator.id)
            .limit(limit)
            .offset(offset)
        )
    )
    items = {row.id: row for row in _indicators(session, ids)}
    return IndicatorPage(
        items=[items[i] for i in ids if i in items], total=total, limit=limit, offset=offset
    )


def indicator_view(session: Session, caller: Caller, indicator_id: uuid.UUID) -> IndicatorRead:
    caller.require(Permission.INVESTIGATE_SITES)
    found = session.scalar(
        select(CommerceIndicator.id).where(
            CommerceIndicator.id == indicator_id,
            sharing.owned_by(CommerceIndicator.owner_agency_id, caller),
        )
    )
    if found is None:
        sharing.refuse(
            session,
            caller,
            action="commerce.indicator.read",
            subject_type="commerce_indicator",
            subject_id=indicator_id,
            missing="indicator",
        )
    _consulted(session, caller, "commerce.indicator.read", "commerce_indicator", indicator_id)
    return _indicators(session, [indicator_id])[0]


# --- crawls and pages -----------------------------------------------------------------------


def crawl_view(session: Session, caller: Caller, crawl_id: uuid.UUID) -> CrawlRead:
    crawl = service.own_crawl(session, caller, crawl_id)
    _consulted(session, caller, "commerce.crawl.read", "commerce_crawl", crawl.id)
    site = session.get(CommerceSite, crawl.site_id)
    assert site is not None
    pages = session.scalars(
        select(CommercePage)
        .where(CommercePage.crawl_id == crawl.id)
        .order_by(CommercePage.fetched_at, CommercePage.id)
        .limit(PAGES_SHOWN)
    )
    return CrawlRead(
        **CrawlSummary.model_validate(crawl).model_dump(),
        site_url=site.url,
        pathway=_pathway(crawl.pathway),
        frontier_left=len(crawl.frontier or []),
        pages=[PageSummary.model_validate(page) for page in pages],
    )


def own_page(session: Session, caller: Caller, page_id: uuid.UUID) -> CommercePage:
    """A page of one of the agency's crawls; any other id is the same audited 'not found'."""
    caller.require(Permission.INVESTIGATE_SITES)
    page = session.scalar(
        select(CommercePage)
        .join(CommerceCrawl, CommerceCrawl.id == CommercePage.crawl_id)
        .where(CommercePage.id == page_id, sharing.owned_by(CommerceCrawl.owner_agency_id, caller))
    )
    if page is None:
        sharing.refuse(
            session,
            caller,
            action="commerce.page.read",
            subject_type="commerce_page",
            subject_id=page_id,
            missing="page",
        )
    return page


def kept_html(page: CommercePage) -> str | None:
    """The sanitised HTML kept for the page, as text (never rendered)."""
    if page.html_gz is None:
        return None
    return gzip.decompress(page.html_gz).decode("utf-8", errors="replace")


def page_view(session: Session, caller: Caller, page_id: uuid.UUID) -> PageRead:
    page = own_page(session, caller, page_id)
    _consulted(session, caller, "commerce.page.read", "commerce_page", page.id)
    indicator_ids = list(
        session.scalars(
            select(CommerceSighting.indicator_id)
            .where(CommerceSighting.page_id == page.id)
            .distinct()
        )
    )
    return PageRead(
        **PageSummary.model_validate(page).model_dump(),
        referrer=page.referrer,
        headers=dict(page.headers or {}),
        ip=page.ip,
        hops=list(page.hops or []),
        body_sha256=page.body_sha256,
        truncated=page.truncated,
        media_removed=page.media_removed,
        template=page.template,
        html=kept_html(page),
        sightings=_indicators(session, indicator_ids, page_id=page.id),
    )


TEXT_FILE = "text/plain; charset=utf-8"


def download_headers(page: CommercePage) -> dict[str, str]:
    """A kept page leaves as an attachment of plain text that nothing may run or frame."""
    return {
        "Content-Disposition": f'attachment; filename="page-{page.id}.html.txt"',
        "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }


def page_html(session: Session, caller: Caller, page_id: uuid.UUID) -> tuple[CommercePage, str]:
    """The kept HTML for download as a text file; audited as a disclosure of evidence."""
    page = own_page(session, caller, page_id)
    audit.record(
        session,
        caller,
        action="commerce.page.download",
        operation=Operation.DISCLOSURE,
        subject_type="commerce_page",
        subject_id=page.id,
        subject_agency_id=caller.agency_id,
    )
    return page, kept_html(page) or ""
