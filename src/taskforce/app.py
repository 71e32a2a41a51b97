"""The web application: the JSON API under /api/v1 and the server-rendered pages under /ui."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from taskforce import domains, pages
from taskforce.core import pdq_index, spool
from taskforce.core.audit import api as audit_api
from taskforce.core.audit.seal import Sealer
from taskforce.core.auth import api as auth_api
from taskforce.core.db import check_ready, make_engine, make_sessionmaker
from taskforce.core.http import install_error_handlers, refuse_unstorable, token_before_body
from taskforce.core.limits import BodyGate
from taskforce.core.proposals import api as proposals_api
from taskforce.core.settings import Settings, get_settings
from taskforce.core.unavailable import RETRY_AFTER_DOWN, DatabaseTrouble
from taskforce.federation import api as federation_api
from taskforce.interop import taxii
from taskforce.web import setup as web_setup
from taskforce.web.session import session_before_body

_log = logging.getLogger(__name__)

# The pages' Content-Security-Policy: scripts and styles only from the hub's own files (no
# inline script, event handler or style attribute), nothing framed, no plugin, forms post only
# here. A route with a stricter policy of its own keeps it (the public pages: no script at all).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

# Set on every answer unless the route chose otherwise (the public pages send no referrer).
DEFAULT_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
}


class DefaultHeaders:
    """Adds `DEFAULT_HEADERS` to every answer, refusals of `core.limits.BodyGate` included.

    Plain ASGI rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware runs each
    request in a task group and passes the answer through memory streams, which cost about as
    much CPU as a whole trivial route (benchmarks/public_form.py).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings)
    pdq_index.share(engine, settings.data_dir / "pdq-index")  # one copy for all workers

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """Spool files a crashed process left are removed; on the embedded default the web
        process runs the background worker itself; every web process seals the audit log (one
        at a time, whoever comes first)."""
        removed = await run_in_threadpool(spool.sweep, settings.data_dir)
        if removed:
            _log.info("removed %d spool files left by stopped processes", removed)
        worker = None
        if settings.worker_in_process:
            from taskforce.worker import Worker

            worker = Worker(app.state.sessionmaker, settings)
            worker.start()
        app.state.worker = worker
        sealer = None
        if settings.audit_seal_seconds:
            sealer = Sealer(app.state.sessionmaker, settings)
            sealer.start()
        yield
        if worker is not None:
            worker.stop()
        if sealer is not None:
            sealer.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="taskforce",
        summary="Deconfliction hub for agencies fighting online child sexual exploitation.",
        version="0.1.0",
        docs_url=None,  # /api/docs: web_setup.install_api_docs, with its own policy
        redoc_url=None,
        openapi_url="/api/openapi.json",
        dependencies=[Depends(refuse_unstorable)],  # every route, pages included
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.worker = None
    app.state.sessionmaker = make_sessionmaker(engine)
    install_error_handlers(app)
    pages.install_public(app)

    # Every /api/v1 route takes a CallerDep: no route is reachable without a valid token.
    api = APIRouter(prefix="/api/v1")
    for router in (
        auth_api.router,
        *(module.router for module in domains.modules("api")),
        audit_api.router,
        proposals_api.router,
    ):
        api.include_router(router)
    app.include_router(api)
    # Node to node: no token; every route checks the peer's RFC 9421 signature (federation.guard).
    app.include_router(federation_api.signed)
    # TAXII 2.1 (read-only) for the agencies' threat-intelligence tools: the same API tokens
    app.include_router(taxii.router)
    pages.install(app)
    web_setup.install_api_docs(app, "/api/docs")

    # Every body is bounded as it streams, by its route class, and read only once the caller
    # is known (core/limits.py); a database in trouble is a 503 or a replay, the gate's token
    # check included (core/unavailable.py); the default headers go on every refusal too.
    app.add_middleware(
        BodyGate,
        default_limit=settings.max_body_bytes,
        sized={"chats_upload_bytes": settings.chats_upload_bytes},
        checks={"token": token_before_body, "session": session_before_body},
        refuse=web_setup.refusal,
    )
    app.add_middleware(DatabaseTrouble, page=web_setup.trouble_page)
    app.add_middleware(DefaultHeaders)
    if settings.trusted_proxies:  # outermost: every layer sees the client's own address
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)

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
