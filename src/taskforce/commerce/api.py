"""Commercial sites over the API (`/api/v1/commerce/...`), mirroring the pages: the agency's
sites, opening one (from a confirmed report or a case) and crawling it, its crawls, pages as
evidence, indicators. Another agency's id is answered 404, as if missing."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status

from taskforce.commerce import (
    casework,
    changes,
    graphs,
    payments,
    recrawls,
    service,
    views,
    watchlist,
)
from taskforce.commerce.schemas import (
    CaseworkRead,
    ChangesRead,
    CrawlRead,
    CrawlSummary,
    GraphRunRead,
    GroupRead,
    GroupsRead,
    GroupSummary,
    HistoryRead,
    IndicatorBrief,
    IndicatorPage,
    IndicatorRead,
    NoticeAnswer,
    NoticeClose,
    NoticeCreate,
    NoticePage,
    NoticeRead,
    PageRead,
    ProviderRead,
    RecrawlSet,
    SiteCreate,
    SitePage,
    SiteRead,
    ToCase,
    WatchCreate,
    WatchRead,
    WatchRemove,
)
from taskforce.core import sharing
from taskforce.core.caller import Caller
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
    return views.list_sites(
        session, caller, query=q, limit=limit, offset=offset, memberships=graphs.memberships
    )


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
    return views.site_view(session, caller, site.id, memberships=graphs.memberships)


@router.get("/sites/{site_id}", response_model=SiteRead)
def get_site(site_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> SiteRead:
    return views.site_view(session, caller, site_id, memberships=graphs.memberships)


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


@router.put("/sites/{site_id}/recrawl", response_model=SiteRead)
def set_recrawl(
    site_id: uuid.UUID, data: RecrawlSet, session: SessionDep, caller: CallerDep
) -> SiteRead:
    """Recrawl the site every `days` days (null: not any more); `paused` stops the schedule
    and keeps it for when it is resumed (`paused`: false)."""
    now = utcnow()
    site = service.own_site(session, caller, site_id)
    if site.recrawl_days != data.days:
        recrawls.set_recrawl(session, caller, site_id, data.days, now=now)
    if data.paused and site.status != recrawls.PAUSED:
        recrawls.pause(session, caller, site_id)
    elif not data.paused and site.status == recrawls.PAUSED:
        recrawls.resume(session, caller, site_id, now=now)
    return views.site_view(session, caller, site_id, memberships=graphs.memberships)


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


# --- acting on it: the case, payment providers, the watch list ------------------------------


@router.post("/sites/{site_id}/to-case", response_model=CaseworkRead)
def indicators_to_case(
    site_id: uuid.UUID, data: ToCase, session: SessionDep, settings: SettingsDep, caller: CallerDep
) -> CaseworkRead:
    """Put chosen indicators of the site on its case as selectors, deconflicted at once;
    what cannot be a selector (a processor's name, a template print) is listed as skipped."""
    summary = casework.to_case(
        session,
        caller,
        settings,
        site_id=site_id,
        indicator_ids=data.indicator_ids,
        include_site=data.include_site,
        now=utcnow(),
    )
    return CaseworkRead.model_validate(summary)


@router.get("/sites/{site_id}/changes", response_model=ChangesRead | None)
def site_changes(site_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> ChangesRead | None:
    """What the last finished crawl found changed since the one before; null until two."""
    found = changes.latest(session, caller, site_id)
    return None if found is None else ChangesRead.model_validate(found)


@router.get("/sites/{site_id}/history", response_model=list[HistoryRead])
def site_history(
    site_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    limit: int = limit_query(20, changes.MAX_HISTORY),
) -> list[HistoryRead]:
    """The site's finished crawls, newest first, each with what changed since the one before."""
    return [
        HistoryRead.model_validate(entry)
        for entry in changes.history(session, caller, site_id, limit=limit)
    ]


@router.get("/providers", response_model=list[ProviderRead])
def list_providers(session: SessionDep, caller: CallerDep) -> list[ProviderRead]:
    """The payment provider directory: abuse contacts notices go to."""
    return [ProviderRead.model_validate(p) for p in payments.list_providers(session, caller)]


@router.get("/notices", response_model=NoticePage)
def list_notices(
    session: SessionDep,
    caller: CallerDep,
    state: str | None = Query(default=None, max_length=16, description="open, sent, answered..."),
    site_id: uuid.UUID | None = Query(default=None, description="one site's notices"),
    limit: int = limit_query(50, 500),
    offset: int = offset_query(),
) -> NoticePage:
    """Your agency's notices to payment providers, newest first; `overdue`: unanswered too
    long after they went out."""
    rows, total = payments.list_notices(
        session, caller, site_id=site_id, state=state, now=utcnow(), limit=limit, offset=offset
    )
    items = [NoticeRead.of(r.notice, r.reference, r.provider, r.overdue) for r in rows]
    return NoticePage(items=items, total=total, limit=limit, offset=offset)


def _notice(session: SessionDep, caller: Caller, notice_id: uuid.UUID) -> NoticeRead:
    notice = payments.get_notice(session, caller, notice_id)
    provider = payments.get_provider(session, caller, notice.provider_id)
    overdue = payments.is_overdue(notice, utcnow())
    return NoticeRead.of(notice, payments.reference(notice.id), provider.name, overdue)


@router.post("/notices", response_model=NoticeRead, status_code=status.HTTP_201_CREATED)
def send_notice(
    data: NoticeCreate, session: SessionDep, settings: SettingsDep, caller: CallerDep
) -> NoticeRead:
    """Notify a payment provider of a merchant account or wallet seen on one of your sites:
    the evidence summary (pages, fetch times, SHA-256), never content; through the outbox."""
    notice = payments.send_notice(
        session,
        caller,
        settings,
        indicator_id=data.indicator_id,
        provider_id=data.provider_id,
        site_id=data.site_id,
        now=utcnow(),
    )
    return _notice(session, caller, notice.id)


@router.get("/notices/{payment_notice_id}", response_model=NoticeRead)
def get_notice(payment_notice_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> NoticeRead:
    return _notice(session, caller, payment_notice_id)


@router.post("/notices/{payment_notice_id}/answer", response_model=NoticeRead)
def answer_notice(
    payment_notice_id: uuid.UUID, data: NoticeAnswer, session: SessionDep, caller: CallerDep
) -> NoticeRead:
    """Record the provider's answer: its outcome and its words."""
    payments.record_answer(
        session, caller, payment_notice_id, outcome=data.outcome, text=data.text, now=utcnow()
    )
    return _notice(session, caller, payment_notice_id)


@router.post("/notices/{payment_notice_id}/close", response_model=NoticeRead)
def close_notice(
    payment_notice_id: uuid.UUID, data: NoticeClose, session: SessionDep, caller: CallerDep
) -> NoticeRead:
    """Stop waiting for an answer (none came; the site is gone), with the reason."""
    payments.close(session, caller, payment_notice_id, reason=data.reason, now=utcnow())
    return _notice(session, caller, payment_notice_id)


def _watches(session: SessionDep, caller: Caller) -> list[WatchRead]:
    rows = watchlist.current(session, caller)
    codes = watchlist.agency_codes(session, rows)
    return [
        WatchRead.of(w, watchlist.listed_by(w, codes), sharing.is_owner(w, caller)) for w in rows
    ]


@router.get("/watchlist", response_model=list[WatchRead])
def get_watchlist(session: SessionDep, caller: CallerDep) -> list[WatchRead]:
    """The GREEN wallet watch list every member receives, newest first."""
    return _watches(session, caller)


@router.get(
    "/watchlist.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "the watch list as CSV"}},
)
def get_watchlist_csv(session: SessionDep, caller: CallerDep) -> Response:
    return Response(
        watchlist.to_csv(session, caller),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="wallet-watchlist.csv"'},
    )


@router.post("/watchlist", response_model=WatchRead, status_code=status.HTTP_201_CREATED)
def add_to_watchlist(data: WatchCreate, session: SessionDep, caller: CallerDep) -> WatchRead:
    """List a wallet (one of your wallet indicators, or an address) with the reason; the
    same wallet again is the entry already listed."""
    watch = watchlist.add(
        session,
        caller,
        indicator_id=data.indicator_id,
        address=data.address,
        reason=data.reason,
        now=utcnow(),
    )
    return WatchRead.of(watch, caller.agency_code or "", True)


@router.post("/watchlist/{watch_id}/remove", response_model=WatchRead)
def remove_from_watchlist(
    watch_id: uuid.UUID, data: WatchRemove, session: SessionDep, caller: CallerDep
) -> WatchRead:
    """Take a wallet your agency listed off the list; the entry is kept with when and why."""
    watch = watchlist.remove(session, caller, watch_id, reason=data.reason, now=utcnow())
    return WatchRead.of(watch, caller.agency_code or "", True)


# --- the graph: brands and distribution groups ----------------------------------------------


@router.get("/groups", response_model=GroupsRead)
def list_groups(session: SessionDep, caller: CallerDep) -> GroupsRead:
    """The agency's latest graph run: distribution groups, brands in no group, and what was
    set aside as common infrastructure."""
    run = graphs.latest_run(session, caller)
    return GroupsRead(
        run=GraphRunRead.model_validate(run) if run else None,
        groups=[GroupSummary.model_validate(g) for g in graphs.latest_groups(session, caller)],
        common=[IndicatorBrief.model_validate(i) for i in graphs.latest_common(session, caller)],
    )


@router.post("/groups/compute", response_model=GraphRunRead, status_code=status.HTTP_201_CREATED)
def compute_groups(session: SessionDep, caller: CallerDep) -> GraphRunRead:
    """Compute the agency's graph now from every sighting; the runs before are kept."""
    return GraphRunRead.model_validate(graphs.compute_for(session, caller, utcnow()))


@router.get("/groups/{group_id}", response_model=GroupRead)
def get_group(group_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> GroupRead:
    return GroupRead.model_validate(graphs.group_view(session, caller, group_id))


@router.get(
    "/groups/{group_id}/drawing.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}, "description": "the group drawn"}},
)
def group_drawing(group_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> Response:
    """The group drawn as SVG (no script, every value escaped)."""
    view = graphs.group_view(session, caller, group_id)
    return Response(graphs.svg(view), media_type="image/svg+xml", headers=SVG_HEADERS)


SVG_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "no-store",
}
