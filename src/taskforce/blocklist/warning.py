"""The page a provider shows instead of a blocked URL: plain HTML, no script, no outside links
but the report page. The hub serves it at /blocked; `taskforce blocklist warning-page` writes
it to a file a provider hosts itself."""

from __future__ import annotations

import base64
import hashlib
from html import escape

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "This page was blocked",
        "body": "This page was blocked because it was found to contain child sexual abuse "
        "material.",
        "report": "To report child sexual abuse material you find online, use the report page:",
        "mistake": "If you think this page was blocked by mistake, say so on the same page.",
    },
    "es": {
        "title": "Esta página ha sido bloqueada",
        "body": "Esta página ha sido bloqueada porque se comprobó que contiene material de "
        "abuso sexual infantil.",
        "report": "Para denunciar material de abuso sexual infantil que encuentre en internet, "
        "utilice la página de denuncias:",
        "mistake": "Si cree que esta página se ha bloqueado por error, indíquelo en esa misma "
        "página.",
    },
    "fr": {
        "title": "Cette page a été bloquée",
        "body": "Cette page a été bloquée parce qu'il a été constaté qu'elle contient du "
        "matériel d'abus sexuels sur des enfants.",
        "report": "Pour signaler du matériel d'abus sexuels sur des enfants trouvé en ligne, "
        "utilisez la page de signalement :",
        "mistake": "Si vous pensez que cette page a été bloquée par erreur, signalez-le sur "
        "cette même page.",
    },
    "de": {
        "title": "Diese Seite wurde gesperrt",
        "body": "Diese Seite wurde gesperrt, weil festgestellt wurde, dass sie Darstellungen "
        "sexuellen Missbrauchs von Kindern enthält.",
        "report": "Wenn Sie im Internet Darstellungen sexuellen Missbrauchs von Kindern finden, "
        "melden Sie sie auf der Meldeseite:",
        "mistake": "Wenn Sie glauben, dass diese Seite irrtümlich gesperrt wurde, teilen Sie "
        "es uns auf derselben Seite mit.",
    },
    "nl": {
        "title": "Deze pagina is geblokkeerd",
        "body": "Deze pagina is geblokkeerd omdat is vastgesteld dat zij materiaal van "
        "seksueel misbruik van kinderen bevat.",
        "report": "Komt u online materiaal van seksueel misbruik van kinderen tegen? Meld het "
        "via de meldpagina:",
        "mistake": "Denkt u dat deze pagina ten onrechte is geblokkeerd? Meld dat dan op "
        "dezelfde pagina.",
    },
}
DEFAULT = "en"


def choose(requested: str | None, accept_language: str | None = None) -> str:
    """The page's language: the one asked for, else the browser's first we have, else
    English (a provider shows the page to whoever asked for the blocked URL)."""
    if requested and requested.lower() in TEXTS:
        return requested.lower()
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().split("-")[0].lower()
        if code in TEXTS:
            return code
    return DEFAULT


_STYLE = "body{font-family:sans-serif;max-width:40em;margin:4em auto;padding:0 1em;line-height:1.5}"
# No script at all, and only this page's own style element (allowed by its hash, so a provider
# can serve the page as one file): nothing injected could run or restyle it.
POLICY = (
    "default-src 'none'; style-src "
    f"'sha256-{base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()}'"
)


def render(report_url: str, lang: str = "en") -> str:
    """The warning page as a complete HTML document; every inserted value is escaped."""
    lang = choose(lang)
    text = TEXTS[lang]
    link = escape(report_url, quote=True)
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
<p>{escape(text["mistake"])}</p>
</body>
</html>
"""
