"""The pages' composition root: which domains' pages the app serves, in which order, and what a
page shows from a domain it may not import (`web.parts`: the header's counters, a case's
triage runs, an urgent lead's report). `web/` sits under every domain and imports none; this
module, beside `app.py`, is the one place above them all that wires the pages together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from taskforce import domains
from taskforce.cases import hits as case_hits
from taskforce.cases import service as case_service
from taskforce.cases.schemas import CaseStatus
from taskforce.core import limits
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import utcnow
from taskforce.core.http import SessionDep
from taskforce.core.inbox import service as inbox_service
from taskforce.federation import release as federation_release
from taskforce.federation import web as federation_web
from taskforce.web import mailbox as web_mailbox
from taskforce.web import pages as web_pages
from taskforce.web import people as web_people
from taskforce.web import proposals as web_proposals
from taskforce.web import setup as web_setup
from taskforce.web.parts import PageParts
from taskforce.web.session import WebCallerDep, render

_PACKAGE = Path(__file__).resolve().parent

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, web: WebCallerDep) -> HTMLResponse:
    caller = web.caller
    cases = case_service.list_cases(session, caller, scope="mine", status=CaseStatus.OPEN, limit=10)
    hits = case_hits.list_hits(session, caller, unacknowledged=True, limit=10)
    notes = case_hits.list_notifications(session, caller, unread_only=True, limit=10)
    return render(
        request,
        "dashboard.html",
        {
            "cases": cases.items,
            "cases_total": cases.total,
            "hits": hits[:10],
            # the header's badge counts with the same function (`page_parts`)
            "hits_waiting": case_hits.unacknowledged_count(session, caller),
            "notifications": notes,
            "unread_notes": case_hits.unread_count(session, caller),
            "releases_waiting": federation_release.waiting_count(session, caller),
            "network": _network(session, caller),
        },
    )


def _network(session: Session, caller: Caller) -> dict[str, Any] | None:
    """The coordinator's overview, each figure from its domain's service (counts only)."""
    if not caller.can(Permission.OVERSEE_NETWORK):
        return None
    from taskforce.preservation import statistics as preservation_statistics
    from taskforce.reports import queue as reports_queue
    from taskforce.takedown import removal
    from taskforce.watch import reading as watch_reading

    now = utcnow()
    return {
        "now": now,
        "leads": watch_reading.open_leads(session, caller),
        "hits": case_hits.unacknowledged_per_agency(session, caller),
        "waiting": reports_queue.waiting_per_agency(session, caller),
        "overdue": removal.past_deadline(session, caller, now=now),
        "preservations": preservation_statistics.counts(session, caller, now=now),
    }


def page_parts() -> PageParts:
    """What each page shows from a domain above it, by name (see `web.parts`)."""
    from taskforce.reports import web as reports_web
    from taskforce.triage import web as triage_web
    from taskforce.watch import reading as watch_reading

    return PageParts(
        counters={
            "unread": case_hits.unacknowledged_count,  # the Hits badge: hits waiting
            "leads_open": watch_reading.unacknowledged_count,
            "notices_unread": inbox_service.unread_for,  # beside the hits: rota gaps, …
        },
        sections={
            "case": (triage_web.case_runs,),
            "lead": (reports_web.lead_report,),
            "blocklist": (reports_web.openable_reports,),
        },
    )


def install_public(app: FastAPI) -> None:
    """The pages the public uses, first in the route table: Starlette tries routes in order,
    and /report was found after about 140 others on every request (benchmarks/public_form.py)."""
    from taskforce.blocklist import web as blocklist_web
    from taskforce.notices import public as notices_public
    from taskforce.observatory import web as observatory_web
    from taskforce.reports import web as reports_web
    from taskforce.rota import web as rota_web
    from taskforce.watch import web as watch_web

    # No file part, few fields (core.limits.PUBLIC_FORM): nothing of theirs is spooled.
    public_form = limits.PUBLIC_FORM.form
    app.include_router(reports_web.public_router, form_limits=public_form)  # /report
    app.include_router(notices_public.public_router, form_limits=public_form)  # /trace/{token}
    app.include_router(blocklist_web.public_router)  # /blocked: public warning page
    app.include_router(rota_web.feed_router)  # /rota/feed/{secret}.ics: a desk's shifts, no login
    app.include_router(watch_web.public_router, form_limits=public_form)  # /drills/{secret}
    app.include_router(observatory_web.public_router)  # /observatory: published figures, GET only


def install(app: FastAPI) -> None:
    """Every domain's pages (`domains.DOMAINS` order) between the shared ones, each domain's
    templates under its name, and the page parts."""
    templates = {
        name: folder
        for name in domains.DOMAINS
        if (folder := _PACKAGE / name / "templates").is_dir()
    }
    routers = [
        web_pages.router,
        router,
        *(module.router for module in domains.modules("web")),
        federation_web.hits_router,  # /ui/hits/remote/…, /ui/releases: beside the hits inbox
        web_proposals.router,
        web_mailbox.router,  # /ui/demo/mail: only where `taskforce demo` set a mail folder
        web_people.router,
    ]
    web_setup.install(app, routers, templates)
    app.state.page_parts = page_parts()
