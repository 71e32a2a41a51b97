"""The page a provider shows instead of a blocked URL: plain HTML, no script, no outside links
but the report page. The hub serves it at /blocked; `taskforce blocklist warning-page` writes
it to a file a provider hosts itself."""

from __future__ import annotations

import base64
import hashlib
from html import escape
from urllib.parse import urlencode

from taskforce.web import catalogue

_STYLE = "body{font-family:sans-serif;max-width:40em;margin:4em auto;padding:0 1em;line-height:1.5}"
# No script at all, and only this page's own style element (allowed by its hash, so a provider
# can serve the page as one file): nothing injected could run or restyle it.
POLICY = (
    "default-src 'none'; style-src "
    f"'sha256-{base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()}'"
)


def mistake_url(report_url: str, blocked_url: str = "") -> str:
    """The report form's "blocked by mistake" kind, with the blocked address where known."""
    query = {"kind": "block_mistake", **({"url": blocked_url} if blocked_url else {})}
    return f"{report_url}?{urlencode(query)}"


def render(report_url: str, lang: str = "en", blocked_url: str = "") -> str:
    """The warning page as a complete HTML document; every inserted value is escaped. Its
    "blocked by mistake" link opens the report form's kind for it (routed to the entry's
    keeper), with the blocked address filled in where the provider passed it."""
    lang = catalogue.choose("warning", lang)
    text = catalogue.texts("warning", lang)
    link = escape(report_url, quote=True)
    mistake = escape(mistake_url(report_url, blocked_url), quote=True)
    return f"""<!doctype html>
<html lang="{escape(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{POLICY}">
<meta name="robots" content="noindex">
<title>{escape(text["title"])}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>{escape(text["title"])}</h1>
<p>{escape(text["body"])}</p>
<p>{escape(text["report"])} <a href="{link}" rel="noreferrer">{link}</a></p>
<p><a href="{mistake}" rel="noreferrer">{escape(text["mistake"])}</a></p>
</body>
</html>
"""
