"""Making a crawled page safe to keep and to show: every media reference taken out.

A commercial site's page is kept as evidence for the analyst, and nothing in it may ever load
anything — not an image, a video, a script, a stylesheet, a font, a frame, a `data:` URI — in
the analyst's browser or anywhere else. So the kept HTML is built by allow-list, not by a list
of known dangers:

- `strip_data_uris` runs on the raw text BEFORE parsing: every `data:` URI is cut out (a
  base64 image can be megabytes, and must not reach the parser, the store or a browser).
- `keep` removes whole the elements that load or run something (`img`, `picture`, `source`,
  `video`, `audio`, `track`, `object`, `embed`, `applet`, `svg`, `math`, `canvas`, `script`,
  `style`, `link`, `base`, `template`, `portal`, `meta` refresh) and every attribute not on a short
  list of harmless ones (text direction, titles, names, classes, table spans); `noscript` is
  unwrapped and raw-text elements (`xmp`, `plaintext`, ...) become escaped text, so the kept
  HTML reads the same to every parser. `<a>` and `<area>` keep an `href` only when it is a web
  or mail link (never `javascript:` or `data:`); an `iframe` or `frame` becomes its URL as
  plain text, so the analyst sees where it pointed and nothing is loaded. Every reference
  removed is counted (`media_removed`).
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

__all__ = ["REMOVED_ELEMENTS", "cap", "keep", "strip_data_uris"]

REMOVED_ELEMENTS = (
    "img",
    "image",
    "picture",
    "source",
    "video",
    "audio",
    "track",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "canvas",
    "script",
    "style",
    "link",
    "base",
    "template",
    "portal",
    "frameset",
)
"""Elements removed with their content: each loads, runs or styles something."""

_FRAMES = ("iframe", "frame")
_RAW_TEXT = ("xmp", "plaintext", "noembed", "noframes")
"""Elements whose content is raw text: kept as escaped text, so no parser can read it as markup."""
_KEPT_ATTRIBUTES = frozenset(
    {
        "title",
        "alt",
        "lang",
        "dir",
        "id",
        "class",
        "name",
        "colspan",
        "rowspan",
        "type",
        "value",
        "label",
        "for",
        "charset",
        "content",
        "datetime",
    }
)
_LINKING = frozenset({"a", "area"})
_MEDIA_ATTRIBUTES = frozenset(
    {"src", "srcset", "poster", "background", "data", "lowsrc", "dynsrc", "codebase", "archive"}
)
_SAFE_HREF = re.compile(r"\s*(?:https?:|mailto:|[/?#.]|[^:/?#\s]+(?:[/?#]|$))", re.IGNORECASE)
_DATA_URI = re.compile(
    r"""(?<=["'(=\s])data:[a-z0-9.+/-]*(?:;[a-z0-9=.+-]*)*,[^"')\s>]*""", re.IGNORECASE
)
_LOADS = re.compile(r"url\s*\(|data:|@import|expression\s*\(", re.IGNORECASE)


def strip_data_uris(html: str) -> tuple[str, int]:
    """The page without its `data:` URIs (run before parsing), and how many there were."""
    return _DATA_URI.subn("", html)


def keep(html: str) -> tuple[str, int]:
    """The page's HTML with nothing left that loads or runs, and how many references were taken
    out (see the module docstring)."""
    html, removed = strip_data_uris(html)
    tree = LexborHTMLParser(html)
    # What a browser with scripts on reads as raw text, and this parser (scripts off) as markup,
    # could be read differently when shown: the wrapper goes, its (sanitised) content stays.
    tree.unwrap_tags(["noscript"])
    for node in tree.css("noscript"):  # in the head: it holds only links, metas and styles
        node.decompose()
    for node in tree.css(", ".join(_RAW_TEXT)):
        node.replace_with(node.text(deep=True))
    selector = ", ".join(REMOVED_ELEMENTS)
    removed += len(tree.css(selector))
    tree.strip_tags(list(REMOVED_ELEMENTS), recursive=True)
    for node in tree.css("meta"):
        if (node.attributes.get("http-equiv") or "").strip().lower() in ("refresh", "set-cookie"):
            removed += 1
            node.decompose()
    for node in tree.css(", ".join(_FRAMES)):
        target = (node.attributes.get("src") or "").strip()
        removed += 1
        node.replace_with(f"[{node.tag}: {target}]" if target else f"[{node.tag}]")
    for node in tree.css("*"):
        attributes = node.attributes
        if not attributes:
            continue
        tag = node.tag
        for name, value in list(attributes.items()):
            if tag in _LINKING and name == "href":
                if value is not None and _SAFE_HREF.match(value) and not _LOADS.search(value):
                    continue
            elif (
                name in _KEPT_ATTRIBUTES
                and not (value and _LOADS.search(value))
                and not (tag == "meta" and name == "content" and "url" in (value or "").lower())
            ):
                continue
            if name in _MEDIA_ATTRIBUTES or (value and _LOADS.search(value)):
                removed += 1
            del node.attrs[name]
    return tree.html or "", removed


def cap(html: str, max_bytes: int) -> tuple[str, bool]:
    """At most `max_bytes` of UTF-8 (cut on a character boundary), and whether it was cut.
    Cutting kept HTML cannot make it load anything: every attribute left is harmless."""
    data = html.encode("utf-8")
    if len(data) <= max_bytes:
        return html, False
    return data[:max_bytes].decode("utf-8", errors="ignore"), True
