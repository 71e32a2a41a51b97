"""The money side of the commercial-sites pages, under `/ui/commerce` (included by
`commerce.web`): the GREEN wallet watch list every member reads, and the payment providers
with the agency's notices to them (answers recorded, abuse contacts kept)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from taskforce.commerce import payments, watchlist
from taskforce.core import sharing
from taskforce.core.caller import Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import Conflict, Invalid, TaskforceError
from taskforce.core.http import SessionDep
from taskforce.web.forms import CheckedWebDep, attempt
from taskforce.web.session import WebCaller, WebCallerDep, render

router = APIRouter()

# what a page says after an action redirected to it (`?done=...`: a fixed sentence, never
# text from the request)
DONE = {
    "listed": "Wallet listed: every member receives it with the next copy of the watch list.",
    "removed": "Wallet removed from the watch list; the removal and its reason are kept.",
    "contact": "Abuse contact saved: notices to this provider can be sent.",
    "answer": "Answer recorded on the notice.",
    "closed": "Notice closed: no answer is awaited any more; the reason is kept.",
}


# --- the watch list: every member's (READ) ------------------------------------------------------


def _watchlist(
    request: Request,
    session: Session,
    web: WebCaller,
    *,
    error: TaskforceError | None = None,
    done: str = "",
) -> HTMLResponse:
    caller = web.caller
    rows = watchlist.current(session, caller)
    codes = watchlist.agency_codes(session, rows)
    can_list = caller.can(Permission.INVESTIGATE_SITES) and caller.agency_id is not None
    return render(
        request,
        "commerce/watchlist.html",
        {
            "tab": "watchlist",
            "rows": rows,
            "codes": codes,
            "mine": {w.id for w in rows if can_list and sharing.is_owner(w, caller)},
            "can_list": can_list,
            "error": error,
            "done": DONE.get(done, ""),
        },
        status_code=422 if error else 200,
    )


@router.get("/watchlist", response_class=HTMLResponse)
def watchlist_page(
    request: Request, session: SessionDep, web: WebCallerDep, done: str = ""
) -> HTMLResponse:
    return _watchlist(request, session, web, done=done)


@router.get("/watchlist.csv")
def watchlist_csv(session: SessionDep, web: WebCallerDep) -> Response:
    return Response(
        watchlist.to_csv(session, web.caller),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="wallet-watchlist.csv"'},
    )


@router.post("/watchlist")
def watchlist_add(
    request: Request,
    session: SessionDep,
    web: CheckedWebDep,
    address: str = Form(default="", max_length=200),
    reason: str = Form(default="", max_length=1000),
) -> Response:
    try:
        attempt(
            session,
            lambda: watchlist.add(
                session, web.caller, address=address, reason=reason, now=utcnow()
            ),
        )
    except (Invalid, Conflict) as exc:
        return _watchlist(request, session, web, error=exc)
    return RedirectResponse("/ui/commerce/watchlist?done=listed", status_code=303)


@router.post("/watchlist/{watch_id}/remove")
def watchlist_remove(
    request: Request,
    watch_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    reason: str = Form(default="", max_length=1000),
) -> Response:
    try:
        attempt(
            session,
            lambda: watchlist.remove(session, web.caller, watch_id, reason=reason, now=utcnow()),
        )
    except (Invalid, Conflict) as exc:
        return _watchlist(request, session, web, error=exc)
    return RedirectResponse("/ui/commerce/watchlist?done=removed", status_code=303)


# --- payment providers and the notices sent to them -------------------------------------------


def _providers(
    request: Request,
    session: Session,
    web: WebCaller,
    *,
    error: TaskforceError | None = None,
    done: str = "",
) -> HTMLResponse:
    caller = web.caller
    notices, total = payments.list_notices(session, caller, now=utcnow())
    return render(
        request,
        "commerce/providers.html",
        {
            "tab": "providers",
            "providers": payments.list_providers(session, caller),
            "notices": notices,
            "total": total,
            "outcomes": payments.OUTCOMES,
            "open_states": payments.OPEN,
            "overdue_days": payments.OVERDUE_DAYS,
            "can_edit": caller.can(Permission.MANAGE_HOSTING),
            "error": error,
            "done": DONE.get(done, ""),
        },
        status_code=422 if error else 200,
    )


@router.get("/providers", response_class=HTMLResponse)
def providers_page(
    request: Request, session: SessionDep, web: WebCallerDep, done: str = ""
) -> HTMLResponse:
    return _providers(request, session, web, done=done)


@router.post("/providers/{provider_id}/contact")
def provider_contact(
    request: Request,
    provider_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    abuse_email: str = Form(default="", max_length=400),
) -> Response:
    """The abuse e-mail an analyst checked on the provider's own site (MANAGE_HOSTING)."""

    def call() -> None:
        p = payments.get_provider(session, web.caller, provider_id)
        fields = payments.ProviderFields(
            name=p.name,
            kind=p.kind,
            country=p.country,
            abuse_email=abuse_email.strip() or None,
            website=p.website,
            terms=p.terms,
            chains=p.chains,
            notes=p.notes,
        )
        payments.edit_provider(session, web.caller, provider_id, fields, now=utcnow())

    try:
        attempt(session, call)
    except (Invalid, Conflict) as exc:
        return _providers(request, session, web, error=exc)
    return RedirectResponse("/ui/commerce/providers?done=contact#directory", status_code=303)


@router.post("/notices/{payment_notice_id}/answer")
def notice_answer(
    request: Request,
    payment_notice_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    outcome: str = Form(default="", max_length=24),
    text: str = Form(default="", max_length=5000),
) -> Response:
    try:
        attempt(
            session,
            lambda: payments.record_answer(
                session, web.caller, payment_notice_id, outcome=outcome, text=text, now=utcnow()
            ),
        )
    except (Invalid, Conflict) as exc:
        return _providers(request, session, web, error=exc)
    return RedirectResponse("/ui/commerce/providers?done=answer#notices", status_code=303)


@router.post("/notices/{payment_notice_id}/close")
def notice_close(
    request: Request,
    payment_notice_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    reason: str = Form(default="", max_length=1000),
) -> Response:
    """Stop waiting for the provider's answer, with the reason (none came; the site is gone)."""
    try:
        attempt(
            session,
            lambda: payments.close(
                session, web.caller, payment_notice_id, reason=reason, now=utcnow()
            ),
        )
    except (Invalid, Conflict) as exc:
        return _providers(request, session, web, error=exc)
    return RedirectResponse("/ui/commerce/providers?done=closed#notices", status_code=303)
