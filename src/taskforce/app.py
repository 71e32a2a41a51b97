"""The web application: the JSON API under /api/v1 and the server-rendered pages under /ui."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import Engine

from taskforce.agencies import api as agencies_api
from taskforce.cases import api as cases_api
from taskforce.core.audit import api as audit_api
from taskforce.core.auth import api as auth_api
from taskforce.core.db import make_engine, make_sessionmaker
from taskforce.core.http import install_error_handlers
from taskforce.core.settings import Settings, get_settings
from taskforce.hashsets import api as hashsets_api
from taskforce.notices import api as notices_api
from taskforce.series import api as series_api
from taskforce.triage import api as triage_api


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings)
    app = FastAPI(
        title="taskforce",
        summary="Deconfliction hub for agencies fighting online child sexual exploitation.",
        version="0.1.0",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    install_error_handlers(app)

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
        audit_api.router,
    ):
        api.include_router(router)
    app.include_router(api)

    from taskforce.web import setup as web_setup

    web_setup.install(app)

    @app.middleware("http")
    async def limit_body(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > settings.max_body_bytes:
            return JSONResponse(
                {"error": "too_large", "message": f"body over {settings.max_body_bytes} bytes"},
                status_code=413,
            )
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=303)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
