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
from taskforce.commerce import (
    casework,
    changes,
    graphs,
    money_web,
    payments,
    recrawls,
    service,
    views,
    watchlist,
)
from taskforce.commerce.kinds import IndicatorKind
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import Conflict, Invalid, TaskforceError
from taskforce.core.http import SessionDep, SettingsDep, wake_worker
from taskforce.web.forms import CheckedWebDep, PageForm, attempt
from taskforce.web.session import WebCaller, WebCallerDep, render

router = APIRouter(prefix="/ui/commerce", include_in_schema=False)
router.include_router(money_web.router)
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


def _report_url(session: Session, caller: Caller, raw: str) -> str:
    """The landing URL filled in from a confirmed report (none if it is not one: opening then
    says why)."""
    try:
        return service.confirmed_report_url(session, caller, uuid.UUID(raw))
    except (ValueError, Invalid):
        return ""


def _sites(
    request: Request,
    session: Session,
    web: WebCaller,
    *,
    q: str = "",
    page: int = 1,
    report: str = "",
    case: str = "",
    error: TaskforceError | None = None,
) -> HTMLResponse:
    caller = web.caller
    offset = (page - 1) * PAGE_SIZE
    listing = views.list_sites(
        session, caller, query=q, limit=PAGE_SIZE, offset=offset, memberships=graphs.memberships
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
            "report_url": _report_url(session, caller, report) if report and not error else "",
            "case": case,
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
    case: str = Query(default="", max_length=64, description="open a site from this case"),
) -> HTMLResponse:
    return _sites(
        request, session, web, q=q.strip(), page=page, report=report.strip(), case=case.strip()
    )


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


def _site(
    request: Request,
    session: Session,
    web: WebCaller,
    site_id: uuid.UUID,
    *,
    queued: bool = False,
    done: str = "",
    error: TaskforceError | None = None,
) -> HTMLResponse:
    caller = web.caller
    site = views.site_view(session, caller, site_id, memberships=graphs.memberships)
    notices, _total = payments.list_notices(session, caller, site_id=site.id, now=utcnow())
    wallets = [i for i in site.site_indicators if i.kind == IndicatorKind.WALLET]
    return render(
        request,
        "commerce/site.html",
        {
            **_base(web),
            "site": site,
            "queued": queued,
            "done": done,
            "error": error,
            "changes": changes.latest(session, caller, site.id),
            "history": {
                h.crawl.crawl_id: h.changes for h in changes.history(session, caller, site.id)
            },
            "actions": True,
            "can_add_selectors": caller.can(Permission.ADD_SELECTOR) and site.case_id is not None,
            "providers": [p for p in payments.list_providers(session, caller) if p.abuse_email],
            "notices": notices,
            "has_wallets": bool(wallets),
        },
        status_code=422 if error else 200,
    )


@router.get("/sites/{site_id}", response_class=HTMLResponse)
def site_page(
    request: Request,
    site_id: uuid.UUID,
    session: SessionDep,
    web: WebCallerDep,
    queued: str = Query(default="", max_length=4),
    added: int = Query(default=-1, ge=-1, le=100_000),
    already: int = Query(default=0, ge=0, le=100_000),
    hits: int = Query(default=0, ge=0, le=100_000),
    skipped: int = Query(default=0, ge=0, le=100_000),
    listed: int = Query(default=0, ge=0, le=100_000),
    notified: int = Query(default=0, ge=0, le=100_000),
    schedule: str = Query(default="", max_length=8),
) -> HTMLResponse:
    said = [SCHEDULE_SAID[schedule]] if schedule in SCHEDULE_SAID else []
    if added >= 0:
        said.append(
            f"{added} selector{'' if added == 1 else 's'} added to the case, {already} already "
            f"there, {hits} deconfliction hit{'' if hits == 1 else 's'}"
            + (f"; {skipped} skipped (not a selector)" if skipped else "")
            + "."
        )
    if listed:
        said.append(f"{listed} wallet{'' if listed == 1 else 's'} on the watch list.")
    if notified:
        said.append(f"{notified} notice{'' if notified == 1 else 's'} queued to the provider.")
    return _site(request, session, web, site_id, queued=bool(queued), done=" ".join(said))


class ActForm(PageForm):
    """The site page's actions on the chosen indicators."""

    indicator: list[str] = Field(default_factory=list, max_length=1000)
    include_site: str = Field(default="", max_length=8)
    reason: str = Field(default="", max_length=1000)
    provider: str = Field(default="", max_length=64)


def _chosen(form: ActForm) -> list[uuid.UUID]:
    return [
        _uuid(raw, "indicators", "choose indicators listed on the page") for raw in form.indicator
    ]


def _acted(
    request: Request, session: Session, web: WebCaller, site_id: uuid.UUID, call: Any
) -> Response:
    """Run an action in a savepoint; a refusal shows the site again with the reason."""
    try:
        query = attempt(session, call)
    except (Invalid, Conflict) as exc:
        return _site(request, session, web, site_id, error=exc)
    return RedirectResponse(f"/ui/commerce/sites/{site_id}?{urlencode(query)}", status_code=303)


@router.post("/sites/{site_id}/to-case")
def to_case(
    request: Request,
    site_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    form: Annotated[ActForm, Form()],
) -> Response:
    def call() -> dict[str, int]:
        summary = casework.to_case(
            session,
            web.caller,
            settings,
            site_id=site_id,
            indicator_ids=_chosen(form),
            include_site=bool(form.include_site),
            now=utcnow(),
        )
        return {
            "added": summary.added,
            "already": summary.already_there,
            "hits": summary.hits,
            "skipped": len(summary.skipped),
        }

    return _acted(request, session, web, site_id, call)


@router.post("/sites/{site_id}/watch")
def watch_wallets(
    request: Request,
    site_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    form: Annotated[ActForm, Form()],
) -> Response:
    def call() -> dict[str, int]:
        service.own_site(session, web.caller, site_id)
        chosen = _chosen(form)
        if not chosen:
            raise Invalid("indicators", "choose the wallets to list")
        for indicator_id in chosen:
            watchlist.add(
                session, web.caller, indicator_id=indicator_id, reason=form.reason, now=utcnow()
            )
        return {"listed": len(chosen)}

    return _acted(request, session, web, site_id, call)


@router.post("/sites/{site_id}/notify")
def notify_provider(
    request: Request,
    site_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    form: Annotated[ActForm, Form()],
) -> Response:
    def call() -> dict[str, int]:
        chosen = _chosen(form)
        if not chosen:
            raise Invalid("indicators", "choose the merchant accounts or wallets to notify")
        provider_id = _uuid(form.provider, "provider", "choose a provider of the directory")
        for indicator_id in chosen:
            payments.send_notice(
                session,
                web.caller,
                settings,
                indicator_id=indicator_id,
                provider_id=provider_id,
                site_id=site_id,
                now=utcnow(),
            )
        return {"notified": len(chosen)}

    return _acted(request, session, web, site_id, call)


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


# what the site page says after its recrawl form (fixed words, never the request's)
SCHEDULE_SAID = {
    "save": "Recrawl schedule saved.",
    "pause": "Recrawls paused: the schedule is kept for when they resume.",
    "resume": "Recrawls resumed on the schedule.",
}


@router.post("/sites/{site_id}/recrawl")
def recrawl(
    request: Request,
    site_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    days: str = Form(default="", max_length=10),
    action: str = Form(default="save", max_length=10),
) -> Response:
    """The recrawl schedule: every N days (empty: never), or paused and resumed."""

    def call() -> dict[str, str]:
        now = utcnow()
        if action == "pause":
            recrawls.pause(session, web.caller, site_id)
        elif action == "resume":
            recrawls.resume(session, web.caller, site_id, now=now)
        else:
            every = _number(days, "recrawl_days") if days.strip() else None
            recrawls.set_recrawl(session, web.caller, site_id, every, now=now)
        return {"schedule": action if action in SCHEDULE_SAID else "save"}

    return _acted(request, session, web, site_id, call)


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


# --- the agency's indicators --------------------------------------------------------------------


@router.get("/indicators", response_class=HTMLResponse)
def indicators_page(
    request: Request,
    session: SessionDep,
    web: WebCallerDep,
    kind: str = Query(default="", max_length=24),
    q: str = Query(default="", max_length=200),
    page: int = Query(default=1, ge=1, le=100_000),
) -> HTMLResponse:
    kind = kind if kind in views.KINDS else ""
    listing = views.list_indicators(
        session, web.caller, kind=kind, query=q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )

    def link(**changes: object) -> str:
        params: dict[str, object] = {"kind": kind, "q": q, "page": page, **changes}
        kept = {k: v for k, v in params.items() if v and not (k == "page" and v == 1)}
        return "/ui/commerce/indicators" + (f"?{urlencode(kept)}" if kept else "")

    return render(
        request,
        "commerce/indicators.html",
        {
            "tab": "indicators",
            "listing": listing,
            "kinds": views.KINDS,
            "kind": kind,
            "q": q,
            "page": page,
            "pages": max(1, -(-listing.total // PAGE_SIZE)),
            "link": link,
        },
    )


# --- the graph: brands and distribution groups --------------------------------------------------


@router.get("/groups", response_class=HTMLResponse)
def groups_page(
    request: Request,
    session: SessionDep,
    web: WebCallerDep,
    computed: str = Query("", max_length=4),
) -> HTMLResponse:
    caller = web.caller
    groups = graphs.latest_groups(session, caller)
    return render(
        request,
        "commerce/groups.html",
        {
            "tab": "groups",
            "run": graphs.latest_run(session, caller),
            "groups": groups,
            "common": graphs.latest_common(session, caller),
            "computed": bool(computed),
        },
    )


@router.post("/groups/compute")
def compute_groups(session: SessionDep, web: CheckedWebDep) -> Response:
    graphs.compute_for(session, web.caller, utcnow())
    return RedirectResponse("/ui/commerce/groups?computed=1", status_code=303)


@router.get("/groups/{group_id}", response_class=HTMLResponse)
def group_page(
    request: Request, group_id: uuid.UUID, session: SessionDep, web: WebCallerDep
) -> HTMLResponse:
    view = graphs.group_view(session, web.caller, group_id)
    hosts = {str(s.id): s.host for s in view.sites}
    return render(
        request,
        "commerce/group.html",
        {"tab": "groups", "v": view, "drawing": graphs.svg(view), "hosts": hosts},
    )


@router.get("/groups/{group_id}/drawing.svg")
def group_drawing(group_id: uuid.UUID, session: SessionDep, web: WebCallerDep) -> Response:
    """The group's drawing alone, at its own size: on a phone it opens full screen, to zoom."""
    return Response(
        graphs.svg(graphs.group_view(session, web.caller, group_id)),
        media_type="image/svg+xml",
        headers={"Content-Security-Policy": "default-src 'none'"},
    )
