"""Commercial sites over the API (`/api/v1/commerce/...`), mirroring the pages: the agency's
sites, opening one (from a confirmed report or a case) and crawling it, its crawls, pages as
evidence, indicators. Another agency's id is answered 404, as if missing."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status

from taskforce.commerce import service, views
from taskforce.commerce.schemas import (
    CrawlRead,
    CrawlSummary,
    IndicatorPage,
    IndicatorRead,
    PageRead,
    SiteCreate,
    SitePage,
    SiteRead,
)
from taskforce.core.db import utcnow
from taskforce.core.http import CallerDep, SessionDep, SettingsDep, wake_worker
from taskforce.core.pagination import limit_query, offset_query

router = APIRouter(prefix="/commerce", tags=["commerce"])


@router.get("/sites", response_model=SitePage)
def list_sites(
    session: SessionDep,
    caller: CallerDep,
    q: str = Query(default="", max_length=200, description="host, URL or label"),
    limit: int = limit_query(50, 500),
    offset: int = offset_query(),
) -> SitePage:
    return views.list_sites(session, caller, query=q, limit=limit, offset=offset)


@router.post("/sites", response_model=SiteRead, status_code=status.HTTP_201_CREATED)
def open_site(
    data: SiteCreate,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
) -> SiteRead:
    """Open a site from a confirmed URL report (its selectors go to the hotline's case) or a
    case of your agency, and queue a crawl unless `crawl` is false. The same URL again is the
    site already open."""
    now = utcnow()
    site, _new = service.add_site(
        session,
        caller,
        settings,
        url=data.url,
        label=data.label,
        report_id=data.report_id,
        case_id=data.case_id,
        depth=data.depth,
        page_limit=data.page_limit,
        pathway=[service.PathwayHop(hop.url, hop.referrer) for hop in data.pathway],
        recrawl_days=data.recrawl_days,
        now=now,
    )
    if data.crawl:
        service.queue_crawl(session, caller, site, now=now)
        wake_worker(request, background)
    return views.site_view(session, caller, site.id)


@router.get("/sites/{site_id}", response_model=SiteRead)
def get_site(site_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> SiteRead:
    return views.site_view(session, caller, site_id)


@router.post(
    "/sites/{site_id}/crawls", response_model=CrawlSummary, status_code=status.HTTP_201_CREATED
)
def crawl_site(
    site_id: uuid.UUID,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    caller: CallerDep,
) -> CrawlSummary:
    """Crawl the site now; the crawl already queued or running if there is one."""
    site = service.own_site(session, caller, site_id)
    crawl = service.queue_crawl(session, caller, site, now=utcnow())
    wake_worker(request, background)
    return CrawlSummary.model_validate(crawl)


@router.get("/crawls/{crawl_id}", response_model=CrawlRead)
def get_crawl(crawl_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> CrawlRead:
    return views.crawl_view(session, caller, crawl_id)


@router.get("/pages/{page_id}", response_model=PageRead)
def get_page(page_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> PageRead:
    """A fetched page as evidence; `html` is the kept sanitised HTML as text."""
    return views.page_view(session, caller, page_id)


@router.get(
    "/pages/{page_id}/html",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "the kept HTML as text"}},
)
def download_page_html(page_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> Response:
    """The kept sanitised HTML as a text file (never served as HTML)."""
    page, html = views.page_html(session, caller, page_id)
    return Response(html, media_type=views.TEXT_FILE, headers=views.download_headers(page))


@router.get("/indicators", response_model=IndicatorPage)
def list_indicators(
    session: SessionDep,
    caller: CallerDep,
    kind: str = Query(default="", max_length=24, description="wallet, processor, merchant, ..."),
    q: str = Query(default="", max_length=200, description="part of the value"),
    limit: int = limit_query(50, 500),
    offset: int = offset_query(),
) -> IndicatorPage:
    return views.list_indicators(session, caller, kind=kind, query=q, limit=limit, offset=offset)


@router.get("/indicators/{indicator_id}", response_model=IndicatorRead)
def get_indicator(indicator_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> IndicatorRead:
    return views.indicator_view(session, caller, indicator_id)
