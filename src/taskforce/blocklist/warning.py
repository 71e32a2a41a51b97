"""The page a provider shows instead of a blocked URL: plain HTML, no script, no outside links
but the report page. The hub serves it at /blocked; `taskforce blocklist warning-page` writes
it to a file a provider hosts itself."""

from __future__ import annotations

from html import escape

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "This page was blocked",
        "body": "This page was blocked because it was found to contain child sexual abuse "
        "material.",
        "report": "To report child sexual abuse material you find online, use the report page:",
        "mistake": "If you think this page was blocked by mistake, say so on the same page.",
    },
}


def render(report_url: str, lang: str = "en") -> str:
    """The warning page as a complete HTML document; every inserted value is escaped."""
    text = TEXTS.get(lang, TEXTS["en"])
    lang = lang if lang in TEXTS else "en"
    link = escape(report_url, quote=True)
    return f"""<!doctype html>
<html lang="{escape(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="robots" content="noindex">
<title>{escape(text["title"])}</title>
<style>
body{{font-family:sans-serif;max-width:40em;margin:4em auto;padding:0 1em;line-height:1.5}}
</style>
</head>
<body>
<h1>{escape(text["title"])}</h1>
<p>{escape(text["body"])}</p>
<p>{escape(text["report"])} <a href="{link}" rel="noreferrer">{link}</a></p>
<p>{escape(text["mistake"])}</p>
</body>
</html>
"""
