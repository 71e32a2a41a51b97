"""Who is using the pages: a signed cookie naming a `WebSession` row, CSRF checks, and the one
`render` helper every page goes through (so every page gets the layout's context and
`Cache-Control: no-store`: case data must not linger in shared or back-button caches).

The cookie carries only the session id, signed with the settings' secret key; the row decides
whether the login is still valid (expiry, logout, deactivated user). Forms carry the session's
CSRF token; the login form, which has no session yet, uses a double-submit cookie instead.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from taskforce.core.auth import service as auth_service
from taskforce.core.auth.models import WebSession
from taskforce.core.caller import Caller
from taskforce.core.db import unit_of_work
from taskforce.core.http import SessionDep, client_ip
from taskforce.core.settings import Settings
from taskforce.web import parts

SESSION_COOKIE = "tf_session"
LOGIN_CSRF_COOKIE = "tf_login_csrf"
CSRF_HEADER = "x-csrf-token"
_SALT = "taskforce.web-session"


class LoginRequired(Exception):
    """No valid web session: answered with a redirect to the login page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class CsrfFailed(Exception):
    """A form arrived without the token of the session it claims to come from."""


@dataclass(frozen=True)
class WebCaller:
    """The caller of a page request and the web session it came in on (for CSRF and logout).

    Plain values, not the ORM row: error pages render after the unit of work has rolled back.
    """

    caller: Caller
    session_id: uuid.UUID
    csrf_token: str


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=_SALT)


def session_id_from_cookie(request: Request) -> uuid.UUID | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    settings = _settings(request)
    try:
        value = _serializer(settings).loads(raw, max_age=settings.session_hours * 3600)
        return uuid.UUID(str(value))
    except (BadSignature, ValueError):
        return None


def set_session_cookie(response: Response, settings: Settings, session_id: uuid.UUID) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        _serializer(settings).dumps(str(session_id)),
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.secure_cookies
    )


def _next_url(request: Request) -> str:
    if request.method == "GET":
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    # After a POST, return to the page the form was on, not to the POST endpoint.
    referer = urlsplit(request.headers.get("hx-current-url") or request.headers.get("referer", ""))
    return referer.path + (f"?{referer.query}" if referer.query else "")


def safe_next(value: str | None) -> str:
    """Only local page addresses are followed after login (no open redirect)."""
    if value and value.startswith("/ui") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui/"


def _resolve(request: Request, session: SessionDep) -> WebCaller | None:
    session_id = session_id_from_cookie(request)
    if session_id is None:
        return None
    resolved = auth_service.resolve_web_session(session, session_id, ip=client_ip(request))
    if resolved is None:
        return None
    web_session, caller = resolved
    return WebCaller(caller=caller, session_id=web_session.id, csrf_token=web_session.csrf_token)


def get_web_caller(request: Request, session: SessionDep) -> WebCaller:
    """The logged-in caller of a page (a form with a body was resolved by
    `session_before_body` already: not looked up twice)."""
    known = getattr(request.state, "web", None)
    web = known if isinstance(known, WebCaller) else _resolve(request, session)
    if web is None:
        raise LoginRequired(_next_url(request))
    request.state.web = web
    # the header's counters (`unread`, `leads_open`, `notices_unread`): the domains' own,
    # named by taskforce.pages
    for name, value in parts.count(request, session, web.caller).items():
        setattr(request.state, name, value)
    return web


WebCallerDep = Annotated[WebCaller, Depends(get_web_caller)]


def login_redirect_url(next_url: str) -> str:
    return "/ui/login?next=" + quote(safe_next(next_url), safe="/")


def login_required_response(request: Request, next_url: str) -> Response:
    """To the login page, and back to `next_url` after it."""
    url = login_redirect_url(next_url)
    if is_htmx(request):
        # A fragment request must not swap the login page into a table.
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


async def session_before_body(request: Request) -> Response | None:
    """`core.limits.BodyGate`'s check for page forms: the login is resolved (in a short
    transaction of its own) before a byte of the form is read or spooled, and a form sent
    without one goes to the login page unread. The caller is kept for `get_web_caller`."""

    def resolve() -> WebCaller | None:
        with unit_of_work(request.app.state.sessionmaker) as session:
            return _resolve(request, session)

    web = await run_in_threadpool(resolve) if session_id_from_cookie(request) else None
    if web is None:
        return login_required_response(request, _next_url(request))
    request.state.web = web
    return None


# --- CSRF -------------------------------------------------------------------------------------


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def require_csrf(form_token: str | None, web_session: WebSession | WebCaller) -> None:
    """Every state-changing form names its session's token; a foreign site cannot know it."""
    if not _same(form_token, web_session.csrf_token):
        raise CsrfFailed


def form_csrf(request: Request, form_token: str | None) -> str | None:
    """The token a POST carries: the hidden form field, or the htmx header from <body>."""
    return form_token or request.headers.get(CSRF_HEADER)


def login_csrf_token(request: Request) -> str:
    """The double-submit token of the login form: reuse the cookie's, or mint one."""
    existing = request.cookies.get(LOGIN_CSRF_COOKIE)
    return existing if existing and len(existing) >= 32 else secrets.token_urlsafe(32)


def set_login_csrf_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        path="/ui/login",
    )


def check_login_csrf(request: Request, form_token: str | None) -> None:
    if not _same(form_token, request.cookies.get(LOGIN_CSRF_COOKIE)):
        raise CsrfFailed


# --- rendering ------------------------------------------------------------------------------


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


_NOTHING_SENT = FormData()


def sent_form(request: Request, status_code: int) -> FormData:
    """The fields of a refused form, as the browser sent them, so its page shows them again
    (`sent.get('note', '')` in a template): the one rule that no refused form loses what the
    user typed. FastAPI parsed the form before the route ran and Starlette kept it on the
    request; a page that is not a refusal, or a route that streams its own body, sends none."""
    form = getattr(request, "_form", None)
    if status_code < 400 or request.method != "POST" or not isinstance(form, FormData):
        return _NOTHING_SENT
    return form


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    web: WebCaller | None = None,
) -> HTMLResponse:
    """Render a page with the layout's context; never cached (pages show case data)."""
    web = web or getattr(request.state, "web", None)
    ctx: dict[str, Any] = {
        "web": web,
        "caller": web.caller if web else None,
        "csrf_token": web.csrf_token if web else "",
        "unread": getattr(request.state, "unread", 0),
        "leads_open": getattr(request.state, "leads_open", 0),
        "notices_unread": getattr(request.state, "notices_unread", 0),
        "path": request.url.path,
        "now": datetime.now().astimezone(),
        "sent": sent_form(request, status_code),
    }
    ctx.update(context or {})
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, name, ctx, status_code=status_code
    )
    response.headers["Cache-Control"] = "no-store"
    return response
