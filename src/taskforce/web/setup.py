"""What every server-rendered page shares: static files, the template environment and its
filters, and HTML error pages for /ui addresses (the API keeps answering errors as JSON).
Which domains' pages are installed is the composition root's to say (`taskforce.pages`)."""

from __future__ import annotations

import base64
import hashlib
import inspect
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from taskforce.core import limits
from taskforce.core.errors import AuthFailed, Forbidden, NotFound, TaskforceError
from taskforce.core.http import error_response
from taskforce.web import public_errors
from taskforce.web.session import (
    CsrfFailed,
    LoginRequired,
    login_redirect_url,
    login_required_response,
    render,
)

_PACKAGE = Path(__file__).resolve().parent.parent
WEB_DIR = _PACKAGE / "web"

Handler = Callable[[Request, Any], Response | Awaitable[Response]]


async def _delegate(handler: Handler, request: Request, exc: Exception) -> Response:
    """Call the API's JSON handler (sync or async) for a non-page address."""
    result = handler(request, exc)
    return await result if inspect.isawaitable(result) else result


def _dt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Times are shown in UTC with the zone named: investigators work across time zones."""
    if value is None:
        return "—"
    return value.strftime(fmt) + " UTC"


_ACRONYMS = {
    "ip": "IP",
    "url": "URL",
    "md5": "MD5",
    "sha1": "SHA-1",
    "sha256": "SHA-256",
    "pdq": "PDQ",
    "imei": "IMEI",
}


def _span(delta: timedelta | None) -> str:
    """A duration as people say it: minutes, hours up to two days, then days (whole
    ones from ten: "in 70 days", not "in 70.0 days")."""
    if delta is None:
        return "—"
    hours = delta.total_seconds() / 3600
    if hours < 1:
        return f"{max(int(delta.total_seconds() // 60), 0)} min"
    if hours < 48:
        return f"{hours:.1f} h"
    days = hours / 24
    return f"{days:.1f} days" if days < 10 else f"{round(days)} days"


def _label(value: object) -> str:
    """`same_investigation` → `Same investigation` for enum values shown to people."""
    text = str(getattr(value, "value", value) or "")
    return _ACRONYMS.get(text) or text.replace("_", " ").capitalize()


def _kind(value: object) -> str:
    """A selector type inside a sentence: `crypto wallet`, `IP`."""
    text = str(getattr(value, "value", value) or "")
    return _ACRONYMS.get(text) or text.replace("_", " ")


def _sentence(value: object) -> str:
    """Service messages start lower-case (they follow a field name); alone they need a capital."""
    text = str(value or "")
    return text[:1].upper() + text[1:]


def make_environment(domain_templates: Mapping[str, Path]) -> Environment:
    """The shared templates, and each domain's under its name (`cases/detail.html`)."""
    env = Environment(
        loader=ChoiceLoader(
            [
                FileSystemLoader(WEB_DIR / "templates"),
                PrefixLoader(
                    {name: FileSystemLoader(folder) for name, folder in domain_templates.items()}
                ),
            ]
        ),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["dt"] = _dt
    env.filters["label"] = _label
    env.filters["span"] = _span
    env.filters["sentence"] = _sentence
    env.filters["kind"] = _kind
    return env


def _is_page(request: Request) -> bool:
    return request.url.path == "/ui" or request.url.path.startswith("/ui/")


def error_page(request: Request, status_code: int, title: str, message: str) -> HTMLResponse:
    return render(
        request,
        "error.html",
        {"status": status_code, "title": title, "message": message},
        status_code=status_code,
    )


_REFUSAL_TITLES = {413: "Too large to upload", 415: "Not a form of this site"}


def refusal(request: Request, error: TaskforceError) -> Response:
    """A body refused before or while it is read (`core.limits.BodyGate`, the 413 of a body
    over its limit): a page under /ui, the public error page on a public address, the JSON
    error shape elsewhere."""
    if public_errors.is_public(request.url.path):
        return public_errors.page(request, error.http_status)
    if not _is_page(request):
        return error_response(error)
    title = _REFUSAL_TITLES.get(error.http_status, "Request refused")
    return error_page(request, error.http_status, title, _sentence(error.message))


def _install_error_pages(app: FastAPI) -> None:
    json_taskforce: Handler = app.exception_handlers[TaskforceError]
    json_http: Handler = app.exception_handlers[StarletteHTTPException]
    json_validation: Handler = app.exception_handlers[RequestValidationError]

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        return login_required_response(request, exc.next_url)

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, _exc: CsrfFailed) -> Response:
        return error_page(
            request,
            403,
            "Form expired",
            "This form was not sent from a current page of this site. Go back, reload the "
            "page and try again.",
        )

    @app.exception_handler(TaskforceError)
    async def taskforce_error(request: Request, exc: TaskforceError) -> Response:
        if public_errors.is_public(request.url.path):
            detail = exc.message if exc.http_status < 500 else None
            return public_errors.page(request, exc.http_status, detail=detail)
        if not _is_page(request):
            return await _delegate(json_taskforce, request, exc)
        if isinstance(exc, NotFound):
            return error_page(
                request,
                404,
                "Not found",
                f"The {exc.kind} does not exist or is not shared with your agency.",
            )
        if isinstance(exc, Forbidden):
            return error_page(request, 403, "Not allowed", exc.message)
        if isinstance(exc, AuthFailed):
            return RedirectResponse(login_redirect_url(request.url.path), status_code=303)
        return error_page(request, exc.http_status, "Request refused", exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if public_errors.is_public(request.url.path):
            return public_errors.page(request, exc.status_code, exc.headers)
        if not _is_page(request):
            return await _delegate(json_http, request, exc)
        if exc.status_code == 404:
            return error_page(request, 404, "Not found", "There is no page at this address.")
        if exc.status_code == 413 and (over := limits.too_large(request.scope)) is not None:
            return refusal(request, over)
        return error_page(request, exc.status_code, "Request refused", str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        path_error = any(e.get("loc", ("",))[0] == "path" for e in exc.errors())
        if public_errors.is_public(request.url.path):
            if path_error:
                return public_errors.page(request, 404)
            first = exc.errors()[0] if exc.errors() else {}
            where = ".".join(str(part) for part in first.get("loc", ())[1:])
            return public_errors.page(request, 422, detail=f"{where}: {first.get('msg', '')}")
        if not _is_page(request):
            return await _delegate(json_validation, request, exc)
        if path_error:
            return error_page(request, 404, "Not found", "There is no page at this address.")
        return error_page(
            request, 422, "Incomplete form", "The form was missing a field or had a bad value."
        )

    @app.exception_handler(Exception)
    async def server_error(request: Request, _exc: Exception) -> Response:
        """A bug: Starlette still logs the traceback; the visitor of a public page gets a page
        in their language, everyone else the usual plain answer."""
        if public_errors.is_public(request.url.path):
            return public_errors.page(request, 500)
        return PlainTextResponse("Internal Server Error", status_code=500)


def trouble_page(request: Request, status_code: int, title: str, message: str) -> Response | None:
    """The 503 of a database in trouble (`core.unavailable`): a page under /ui, the public error
    page on a public address, None (the JSON answer) elsewhere."""
    if public_errors.is_public(request.url.path):
        return public_errors.page(request, status_code)
    if _is_page(request):
        return error_page(request, status_code, title, message)
    return None


def install(
    app: FastAPI, routers: Sequence[APIRouter], domain_templates: Mapping[str, Path]
) -> None:
    """The pages: static files, the templates (one loader per domain, so each domain keeps its
    pages next to its code), the HTML error pages and the routers, in the order given. Which
    domains and routers is the composition root's to say (`taskforce.pages`)."""
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    app.state.templates = Jinja2Templates(env=make_environment(domain_templates))
    _install_error_pages(app)
    for router in routers:
        app.include_router(router)


# Swagger UI's files, vendored from npm's swagger-ui-dist (its version in static/swagger/VERSION):
# the page works offline and loads nothing from another host.
SWAGGER_STATIC = "/static/swagger"


def install_api_docs(app: FastAPI, path: str) -> None:
    """The API's Swagger UI page, under a policy of its own: Swagger UI starts with an inline
    script, which the pages' policy refuses. This policy allows exactly that script (by its
    SHA-256) and the hub's own files, and nothing else; the page shows only the OpenAPI
    description, never case data, and API calls from it need a token."""
    assert app.openapi_url is not None
    page = get_swagger_ui_html(
        openapi_url=app.openapi_url,
        title="taskforce API",
        swagger_js_url=f"{SWAGGER_STATIC}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_STATIC}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER_STATIC}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from swagger.io
    )
    body = bytes(page.body)
    inline = re.findall(rb"<script>(.*?)</script>", body, re.S)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in inline
    )
    policy = (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )

    @app.get(path, include_in_schema=False, response_class=HTMLResponse)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(body, headers={"Content-Security-Policy": policy})
