"""Login, logout, the audit page and the sign-in locks (the dashboard, which shows cases, is
`taskforce.pages`'). Every decision is the services'; these routes only turn forms into
service calls and results into pages."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from taskforce.core import limits
from taskforce.core.audit import service as audit_service
from taskforce.core.audit.verify import load_evidence, seal_status
from taskforce.core.auth import service as auth_service
from taskforce.core.auth import throttle
from taskforce.core.caller import Role
from taskforce.core.db import utcnow
from taskforce.core.errors import AuthFailed, Invalid, RateLimited
from taskforce.core.http import SessionDep, SettingsDep, client_ip
from taskforce.core.pagination import limit_query
from taskforce.web.forms import CheckedWebDep
from taskforce.web.session import (
    WebCallerDep,
    check_login_csrf,
    clear_session_cookie,
    login_csrf_token,
    render,
    safe_next,
    set_login_csrf_cookie,
    set_session_cookie,
)

router = APIRouter(prefix="/ui", include_in_schema=False)


def _login_page(
    request: Request,
    settings: SettingsDep,
    *,
    next_url: str,
    email: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    token = login_csrf_token(request)
    response = render(
        request,
        "login.html",
        {"login_csrf": token, "next": safe_next(next_url), "email": email, "error": error},
        status_code=status_code,
    )
    set_login_csrf_cookie(response, settings, token)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request, settings: SettingsDep, next: str = Query(default="/ui/", max_length=500)
) -> HTMLResponse:
    return _login_page(request, settings, next_url=next)


@router.post("/login", response_class=HTMLResponse, form_limits=limits.PUBLIC_FORM.form)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: str = Form(default="", max_length=320),
    password: str = Form(default="", max_length=256),
    csrf_token: str = Form(default="", max_length=100),
    next: str = Form(default="/ui/", max_length=500),
) -> Response:
    check_login_csrf(request, csrf_token)
    try:
        user = auth_service.login_with_password(
            session, settings, email=email, password=password, ip=client_ip(request)
        )
    except (AuthFailed, RateLimited) as exc:
        # The failed attempt is already flushed; it commits with this request's unit of work.
        page = _login_page(
            request,
            settings,
            next_url=next,
            email=email,
            error=exc.message,
            status_code=exc.http_status,
        )
        if isinstance(exc, throttle.SignInPaused):
            wait = (exc.until - utcnow()).total_seconds()
            page.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return page
    web_session = auth_service.open_web_session(session, settings, user=user)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(response, settings, web_session.id)
    return response


@router.post("/logout")
def logout(
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
) -> Response:
    auth_service.close_web_session(session, web.session_id)
    response = RedirectResponse("/ui/login", status_code=303)
    clear_session_cookie(response, settings)
    return response


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: SessionDep,
    web: WebCallerDep,
    action: str = Query(default="", max_length=64),
    limit: int = limit_query(200, 1000),
) -> HTMLResponse:
    entries = audit_service.list_entries(
        session, web.caller, action=action.strip() or None, limit=limit
    )
    # list_entries has checked READ_AUDIT; the full check is `taskforce audit verify`.
    evidence = load_evidence(request.app.state.settings, newest_only=True)
    try:
        status = seal_status(session, evidence, entries)
    finally:
        evidence.close()
    return render(
        request,
        "audit.html",
        {
            "entries": entries,
            "action": action,
            "status": status,
            "limit": limit,
            # the whole network's activity count is the network admin's to see
            "network_totals": web.caller.role == Role.NETWORK_ADMIN,
        },
    )


# --- sign-in locks ---------------------------------------------------------------------------


def _locks_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web: WebCallerDep,
    *,
    lifted: int | None = None,
    error: Invalid | None = None,
) -> HTMLResponse:
    locks = throttle.locks(session, web.caller, settings)
    return render(
        request,
        "sign_in_locks.html",
        {"locks": locks, "settings": settings, "lifted": lifted, "error": error},
        status_code=422 if error else 200,
    )


@router.get("/sign-in-locks", response_class=HTMLResponse)
def sign_in_locks(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web: WebCallerDep,
    lifted: Annotated[int | None, Query(ge=0)] = None,
) -> HTMLResponse:
    """The sign-in limits in force, for the admins who may lift them; `lifted`: how many
    failed sign-ins the lifting that redirected here forgot."""
    return _locks_page(request, session, settings, web, lifted=lifted)


@router.post("/sign-in-locks/lift", response_class=HTMLResponse)
def lift_sign_in_lock(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    email: Annotated[str, Form(max_length=320)] = "",
    ip: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    try:
        lifted = throttle.lift(session, web.caller, settings, email=email or None, ip=ip or None)
    except Invalid as exc:
        return _locks_page(request, session, settings, web, error=exc)
    return RedirectResponse(f"/ui/sign-in-locks?lifted={lifted}", status_code=303)
