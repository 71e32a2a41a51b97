"""The error pages of the public addresses: /report, /blocked, /trace and /observatory, and every
address under them, known or not. A visitor with no account never sees the API's JSON or a bare
"Internal Server Error": each refusal is a short page in their language (the one rule of
`web.catalogue.choose`), with no script, no cookie and no referrer, like the pages themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from fastapi import Request
from fastapi.responses import HTMLResponse

from taskforce.web import catalogue

PREFIXES = ("/report", "/blocked", "/trace", "/observatory")
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}
_WORDED = {404, 405, 413, 415, 422, 429, 500, 503}


def is_public(path: str) -> bool:
    """/report, /blocked, /trace, /observatory and anything under them (not /reports)."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PREFIXES)


def language(request: Request) -> str:
    """`?lang=`, else a language in the path (/report/es/...), else the browser's."""
    requested = request.query_params.get("lang")
    if not requested:
        parts = request.url.path.split("/")
        requested = parts[2] if len(parts) > 2 else None
    return catalogue.choose("error", requested, request.headers.get("accept-language"))


def page(
    request: Request,
    status: int,
    headers: Mapping[str, str] | None = None,
    detail: str | None = None,
) -> HTMLResponse:
    """The error page for `status`; a status without words of its own says "refused". `detail`
    (a client mistake's field and rule, as the API words it) is shown under the words."""
    lang = language(request)
    t = catalogue.texts("error", lang)
    which = str(status) if status in _WORDED else "other"
    title, body = t[f"title_{which}"], t[f"body_{which}"]
    has_form = lang in catalogue.CATALOGUES["report"] and lang != catalogue.ENGLISH
    report = f"/report/{lang}" if has_form else "/report"
    html = f"""<!doctype html>
<html lang="{escape(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{escape(title)}</title>
<link rel="stylesheet" href="/static/app.css">
<link rel="stylesheet" href="/static/reports.css">
</head>
<body class="rp-public">
<main class="rp-page">
<section class="card error-card">
<p class="error-code">{escape(t["code"].format(status=status))}</p>
<h1>{escape(title)}</h1>
<p>{escape(body)}</p>
{f'<p class="muted"><code>{escape(detail)}</code></p>' if detail else ""}
<p><a class="btn" href="{escape(report)}">{escape(t["report_link"])}</a></p>
</section>
</main>
<footer class="footer rp-foot">{escape(t["footer"])}</footer>
</body>
</html>
"""
    response = HTMLResponse(html, status_code=status, headers=dict(headers or {}))
    response.headers.update(HEADERS)
    response.headers["Content-Language"] = lang
    return response
