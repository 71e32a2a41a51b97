"""The web application: the JSON API under /api/v1 and the server-rendered pages under /ui."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import Engine
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskforce.agencies import api as agencies_api
from taskforce.blocklist import api as blocklist_api
from taskforce.cases import api as cases_api
from taskforce.core.audit import api as audit_api
from taskforce.core.auth import api as auth_api
from taskforce.core.db import check_ready, make_engine, make_sessionmaker
from taskforce.core.http import install_error_handlers, refuse_unstorable
from taskforce.core.settings import Settings, get_settings
from taskforce.core.unavailable import RETRY_AFTER_DOWN, DatabaseTrouble
from taskforce.hashsets import api as hashsets_api
from taskforce.hosting import api as hosting_api
from taskforce.notices import api as notices_api
from taskforce.reports import api as reports_api
from taskforce.series import api as series_api
from taskforce.takedown import api as takedown_api
from taskforce.triage import api as triage_api
from taskforce.watch import api as watch_api

# Routes that take files accept more than `max_body_bytes`; each enforces its own limit while it
# reads the upload (hash lists stream to a spool file; clue images are checked before decoding).
UPLOAD_LIMITS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"^/(api/v1|ui)/hashsets/[^/]+/import$"), 2 << 30),
    (re.compile(r"^/(api/v1|ui)/notices/[^/]+/clues/[^/]+/images$"), 12 << 20),
    (re.compile(r"^/ui/notices/(new|[^/]+/clues)$"), 12 << 20),
    (re.compile(r"^/(api/v1/hosting/networks|ui/hosting)/import$"), 256 << 20),
)


def body_limit(path: str, default: int) -> int:
    """The largest request body accepted at `path`."""
    for pattern, limit in UPLOAD_LIMITS:
        if pattern.match(path):
            return max(limit, default)
    return default


# Set on every answer unless the route chose otherwise (the public pages send no referrer).
DEFAULT_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


class LimitBody:
    """Refuses a body announced as larger than the address accepts (413: JSON for the API, a
    page under /ui/) and adds `DEFAULT_HEADERS` to every answer.

    Plain ASGI rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware runs each
    request in a task group and passes the answer through memory streams, which cost about as
    much CPU as a whole trivial route (benchmarks/public_form.py).
    """

    def __init__(self, app: ASGIApp, default_limit: int) -> None:
        self.app = app
        self.default_limit = default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in DEFAULT_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        path: str = scope["path"]
        limit = body_limit(path, self.default_limit)
        length = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
        if length.isdigit() and int(length) > limit:
            message = f"the request is over {limit:,} bytes, the most this address accepts"
            refusal: Response
            if path.startswith("/ui/"):
                from taskforce.web.setup import error_page

                refusal = error_page(Request(scope), 413, "Too large to upload", message)
            else:
                refusal = JSONResponse({"error": "too_large", "message": message}, status_code=413)
            await refusal(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """On the embedded default the web process runs the background worker itself."""
        worker = None
        if settings.worker_in_process:
            from taskforce.worker import Worker

            worker = Worker(app.state.sessionmaker, settings)
            worker.start()
        app.state.worker = worker
        yield
        if worker is not None:
            worker.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="taskforce",
        summary="Deconfliction hub for agencies fighting online child sexual exploitation.",
        version="0.1.0",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        dependencies=[Depends(refuse_unstorable)],  # every route, pages included
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.worker = None
    app.state.sessionmaker = make_sessionmaker(engine)
    install_error_handlers(app)
    from taskforce.web import setup as web_setup

    web_setup.install_public(app)

    # Every /api/v1 route takes a CallerDep: no route is reachable without a valid token.
    api = APIRouter(prefix="/api/v1")
    for router in (
        auth_api.router,
        agencies_api.router,
        cases_api.router,
        hashsets_api.router,
        triage_api.router,
        series_api.router,
        notices_api.router,
        blocklist_api.router,
        reports_api.router,
        takedown_api.router,
        hosting_api.router,
        watch_api.router,
        audit_api.router,
    ):
        api.include_router(router)
    app.include_router(api)
    web_setup.install(app)

    app.add_middleware(DatabaseTrouble, page=web_setup.error_page)  # inside LimitBody
    app.add_middleware(LimitBody, default_limit=settings.max_body_bytes)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=303)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        """Up only if the database answers with its schema: a monitor or load balancer must
        not keep sending requests to a hub whose database has gone."""
        try:
            check_ready(engine)
        except Exception:
            return JSONResponse(
                {"status": "unavailable", "database": "unreachable"},
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_DOWN)},
            )
        return JSONResponse({"status": "ok"})

    return app
