"""/blocked: the public warning page (no login, no script)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from taskforce.blocklist import warning

public_router = APIRouter(include_in_schema=False)


@public_router.get("/blocked", response_class=HTMLResponse)
def blocked(request: Request, lang: str | None = None) -> HTMLResponse:
    """In the language asked for (`?lang=`), else the browser's; the report link follows it."""
    chosen = warning.choose(lang, request.headers.get("accept-language"))
    base = request.app.state.settings.public_url.rstrip("/")
    report = f"{base}/report" if chosen == warning.DEFAULT else f"{base}/report/{chosen}"
    response = HTMLResponse(warning.render(report, chosen))
    response.headers["Content-Language"] = chosen
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response
