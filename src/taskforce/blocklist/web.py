"""/blocked: the public warning page (no login, no script)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from taskforce.blocklist import warning

public_router = APIRouter(include_in_schema=False)


@public_router.get("/blocked", response_class=HTMLResponse)
def blocked(request: Request) -> HTMLResponse:
    base = request.app.state.settings.public_url.rstrip("/")
    response = HTMLResponse(warning.render(f"{base}/report"))
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response
