"""What every API route needs: the request's unit of work, its settings and its caller; and the
one JSON shape every error is answered with:

    {"error": "invalid", "message": "value: must be ...", "field": "value", "rule": "must be ..."}
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends, FastAPI, Request, params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from taskforce.core import limits
from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Caller, Role
from taskforce.core.db import unit_of_work
from taskforce.core.errors import AuthFailed, Forbidden, Invalid, TaskforceError
from taskforce.core.settings import Settings
from taskforce.core.text import RULE, first_unstorable, may_hold_unstorable, unstorable


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on error."""
    with unit_of_work(request.app.state.sessionmaker) as session:
        yield session


async def get_settings(request: Request) -> Settings:
    """Async on purpose: FastAPI runs a plain function dependency in a worker thread, and the
    hop cost as much as the lookup's whole route on the public form."""
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def wake_worker(request: Request, background: BackgroundTasks) -> None:
    """Start the in-process worker's next round once this request's transaction has committed
    (the session's scope ends with the route): a new selector is published to the peers now,
    not at the next round."""
    worker = getattr(request.app.state, "worker", None)
    if worker is not None:
        background.add_task(worker.wake)


SettingsDep = Annotated[Settings, Depends(get_settings)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthFailed("send an API token as 'Authorization: Bearer <token>'")
    return token.strip()


def get_token_caller(request: Request, session: SessionDep) -> Caller:
    """Any valid token's caller, internet providers included: only for the routes providers
    may use (the block-list download); every other route takes `CallerDep`. A request with a
    body was resolved by `token_before_body` already; it is not looked up twice."""
    known = getattr(request.state, "token_caller", None)
    if isinstance(known, Caller):
        return known
    return auth_service.caller_from_token(session, _bearer_token(request), ip=client_ip(request))


def member_caller(caller: Caller) -> Caller:
    """Deny by default to provider tokens: they may only download the block list."""
    if caller.role == Role.PROVIDER:
        raise Forbidden("an internet provider's token may only download the block list")
    return caller


def get_api_caller(request: Request, session: SessionDep) -> Caller:
    """The caller of a member route."""
    return member_caller(get_token_caller(request, session))


async def token_before_body(request: Request) -> Response | None:
    """`core.limits.BodyGate`'s check for API requests with a body: the token is resolved
    (in a short transaction of its own) before a byte of the body is read, and a request
    without a valid member's token is refused unread. The caller is kept on the request for
    `get_token_caller`. Provider tokens send no bodies: their routes are downloads."""

    def resolve() -> Caller:
        with unit_of_work(request.app.state.sessionmaker) as session:
            found = auth_service.caller_from_token(
                session, _bearer_token(request), ip=client_ip(request)
            )
            return member_caller(found)

    try:
        request.state.token_caller = await run_in_threadpool(resolve)
    except (AuthFailed, Forbidden) as exc:
        return error_response(exc)
    return None


CallerDep = Annotated[Caller, Depends(get_api_caller)]
TokenCallerDep = Annotated[Caller, Depends(get_token_caller)]


async def refuse_unstorable(request: Request) -> None:
    """Refuse text no database can store (`core.text`) wherever a request carries it: path and
    query parameters, form fields and file names, and every string of a JSON body.

    Installed on the whole app, so every route, new ones included, gets it before its own
    parameters are read. Bodies are looked at only once FastAPI has parsed them for the route
    (from its cache); a route that streams its body (uploads) is not read here. Async: no
    thread hop on the hot public form."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and unstorable(value):
            raise Invalid(name, RULE)
    for name, value in request.query_params.multi_items():
        if unstorable(name) or unstorable(value):
            raise Invalid(name if not unstorable(name) else "query", RULE)
    body_field = getattr(request.scope.get("route"), "body_field", None)
    if body_field is None:
        return  # no body, or one the route reads itself
    if isinstance(body_field.field_info, params.Form):
        for name, value in (await request.form()).multi_items():
            text = value if isinstance(value, str) else (value.filename or "")
            if unstorable(name) or unstorable(text):
                raise Invalid(name if not unstorable(name) else "form", RULE)
        return
    raw = await request.body()
    if not may_hold_unstorable(raw):
        return
    try:
        data = await request.json()
    except (ValueError, RecursionError):
        return  # not JSON: the route's own validation answers
    path = first_unstorable(data)
    if path is not None:
        raise Invalid(path or "body", RULE)


def error_body(error: TaskforceError) -> dict[str, Any]:
    return error.as_dict()


def error_response(error: TaskforceError) -> JSONResponse:
    """The JSON answer to an error (401s name the scheme they want)."""
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, AuthFailed) else None
    return JSONResponse(error_body(error), status_code=error.http_status, headers=headers)


def _validation_message(exc: RequestValidationError) -> tuple[str, str, str]:
    errors = exc.errors()
    if not errors:
        return "body", "is malformed", "body: is malformed"
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
    field = ".".join(loc) or str(first.get("loc", ("body",))[0])
    if first.get("type") == "json_invalid":
        return "body", "must be valid JSON", "body: must be valid JSON"
    rule = str(first.get("msg", "is invalid"))
    if first.get("type") == "extra_forbidden":
        rule = "is not a known field"
    if first.get("type") == "missing":
        rule = "is required"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return field, rule, f"{field}: {rule}{more}"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TaskforceError)
    async def _taskforce_error(_request: Request, exc: TaskforceError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        field, rule, message = _validation_message(exc)
        return JSONResponse(
            {"error": "invalid", "message": message, "field": field, "rule": rule},
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 413 and (over := limits.too_large(request.scope)) is not None:
            return error_response(over)
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.status_code, "error"
        )
        return JSONResponse(
            {"error": code, "message": str(exc.detail)}, status_code=exc.status_code
        )
