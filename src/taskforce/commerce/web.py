"""The commercial-sites pages (`/ui/commerce...`): the agency's sites and the form that opens
one (from a confirmed report or a case) and crawls it; a site with its crawls, indicators and
where each was seen; a crawl's pages; a page as evidence, its kept HTML shown only as escaped
source text or downloaded as a text file, never rendered and never an image."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field
from sqlalchemy.orm import Session

from taskforce.cases import service as case_service
from taskforce.cases.schemas import CaseStatus
from taskforce.commerce import service, views
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import Invalid, TaskforceError
from taskforce.core.http import SessionDep, SettingsDep, wake_worker
from taskforce.web.forms import CheckedWebDep, PageForm, attempt
from taskforce.web.session import WebCaller, WebCallerDep, render

router = APIRouter(prefix="/ui/commerce", include_in_schema=False)
PAGE_SIZE = 50


def _base(web: WebCaller) -> dict[str, Any]:
    return {"tab": "sites"}


def _cases(session: Session, caller: Caller) -> list[Any]:
    """The agency's open cases a site may be opened from."""
    if caller.agency_id is None or not caller.can(Permission.ADD_SELECTOR):
        return []
    page = case_service.list_cases(session, caller, scope="mine", status=CaseStatus.OPEN, limit=500)
    return sorted(page.items, key=lambda c: c.reference, reverse=True)


# --- the sites and the form that opens one ----------------------------------------------------


def _sites(
    request: Request,
    session: Session,
    web: WebCaller,
    *,
    q: str = "",
    page: int = 1,
    report: str = "",
    error: TaskforceError | None = None,
) -> HTMLResponse:
    caller = web.caller
    listing = views.list_sites(
        session, caller, query=q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    pages = max(1, -(-listing.total // PAGE_SIZE))

    def link(**changes: object) -> str:
        params: dict[str, object] = {"q": q, "page": page, **changes}
        kept = {k: v for k, v in params.items() if v and not (k == "page" and v == 1)}
        return "/ui/commerce" + (f"?{urlencode(kept)}" if kept else "")

    return render(
        request,
        "commerce/sites.html",
        {
            **_base(web),
            "listing": listing,
            "q": q,
            "page": page,
            "pages": pages,
            "link": link,
            "cases": _cases(session, caller),
            "report": report,
            "error": error,
            "max_depth": service.MAX_DEPTH,
            "max_pages": request.app.state.settings.commerce_max_pages,
        },
        status_code=422 if error else 200,
    )


@router.get("", response_class=HTMLResponse)
def sites_page(
    request: Request,
    session: SessionDep,
    web: WebCallerDep,
    q: str = Query(default="", max_length=200),
    page: int = Query(default=1, ge=1, le=100_000),
    report: str = Query(default="", max_length=64, description="open a site from this report"),
) -> HTMLResponse:
    return _sites(request, session, web, q=q.strip(), page=page, report=report.strip())


class SiteForm(PageForm):
    """The "Open a site" form: raw strings, checked by the service (the field named)."""

    url: str = Field(default="", max_length=2000)
    label: str = Field(default="", max_length=1000)
    source: str = Field(default="", max_length=100)  # "case:<id>" or "report"
    report: str = Field(default="", max_length=100)
    depth: str = Field(default="2", max_length=10)
    pages: str = Field(default="50", max_length=10)
    pathway: str = Field(default="", max_length=30_000)
    recrawl_days: str = Field(default="", max_length=10)


def _number(raw: str, field: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise Invalid(field, "must be a whole number") from None


def _uuid(raw: str, field: str, rule: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        raise Invalid(field, rule) from None


def pathway_lines(text: str) -> list[service.PathwayHop]:
    """The pathway field: one hop a line, `URL [referrer]`, before the landing page."""
    hops = []
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) > 2:
            raise Invalid("pathway", "one hop a line: the URL, then optionally its referrer")
        hops.append(service.PathwayHop(parts[0], parts[1] if len(parts) == 2 else None))
    return hops


def _open(session: Session, caller: Caller, settings: Any, form: SiteForm) -> uuid.UUID:
    report_id = case_id = None
    if form.source.startswith("case:"):
        case_id = _uuid(form.source[5:], "case", "choose one of your agency's open cases")
    elif form.report.strip():
        report_id = _uuid(form.report, "report", "must be the id of a confirmed URL report")
    depth = _number(form.depth or "2", "depth")
    page_limit = _number(form.pages or "50", "page_limit")
    recrawl = _number(form.recrawl_days, "recrawl_days") if form.recrawl_days.strip() else None
    now = utcnow()
    site, _new = service.add_site(
        session,
        caller,
        settings,
        url=form.url,
        label=form.label,
        report_id=report_id,
        case_id=case_id,
        depth=depth,
        page_limit=page_limit,
        pathway=pathway_lines(form.pathway),
        recrawl_days=recrawl,
        now=now,
    )
    service.queue_crawl(session, caller, site, now=now)
    return site.id


@router.post("/sites", response_class=HTMLResponse)
def open_site(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    form: Annotated[SiteForm, Form()],
) -> Response:
    try:
        site_id = attempt(session, lambda: _open(session, web.caller, settings, form))
    except Invalid as exc:
        return _sites(request, session, web, report=form.report, error=exc)
    wake_worker(request, background)
    return RedirectResponse(f"/ui/commerce/sites/{site_id}?queued=1", status_code=303)


# --- one site ---------------------------------------------------------------------------------


@router.get("/sites/{site_id}", response_class=HTMLResponse)
def site_page(
    request: Request,
    site_id: uuid.UUID,
    session: SessionDep,
    web: WebCallerDep,
    queued: str = Query(default="", max_length=4),
) -> HTMLResponse:
    site = views.site_view(session, web.caller, site_id)
    return render(
        request,
        "commerce/site.html",
        {**_base(web), "site": site, "queued": bool(queued)},
    )


@router.post("/sites/{site_id}/crawl")
def crawl_now(
    request: Request,
    background: BackgroundTasks,
    site_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
) -> Response:
    site = service.own_site(session, web.caller, site_id)
    service.queue_crawl(session, web.caller, site, now=utcnow())
    wake_worker(request, background)
    return RedirectResponse(f"/ui/commerce/sites/{site_id}?queued=1", status_code=303)


# --- crawls and pages -------------------------------------------------------------------------


@router.get("/crawls/{crawl_id}", response_class=HTMLResponse)
def crawl_page(
    request: Request, crawl_id: uuid.UUID, session: SessionDep, web: WebCallerDep
) -> HTMLResponse:
    crawl = views.crawl_view(session, web.caller, crawl_id)
    return render(request, "commerce/crawl.html", {**_base(web), "crawl": crawl})


@router.get("/pages/{page_id}", response_class=HTMLResponse)
def evidence_page(
    request: Request, page_id: uuid.UUID, session: SessionDep, web: WebCallerDep
) -> HTMLResponse:
    page = views.page_view(session, web.caller, page_id)
    return render(request, "commerce/page.html", {**_base(web), "page": page})


@router.get("/pages/{page_id}/html")
def evidence_html(page_id: uuid.UUID, session: SessionDep, web: WebCallerDep) -> Response:
    """The kept HTML as a text file: downloaded, never shown as a page."""
    page, html = views.page_html(session, web.caller, page_id)
    return Response(html, media_type=views.TEXT_FILE, headers=views.download_headers(page))
