"""Synthetic commercial sites on 127.0.0.1 for the crawler's tests (and any other test that
needs one): a threaded `http.server` that answers fictional hosts (mapped to the loopback by a
`StaticResolver`) from a table of routes and records every request it gets, so a test can
assert what was never asked for (an image, a script, a stylesheet).

Everything served is benign: fake shops, fake wallets, no real site.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from loopback import Handler, LoopbackServer, Route
from selectolax.lexbor import LexborHTMLParser

from taskforce.commerce.kinds import Extraction, Found, IndicatorKind
from taskforce.core.resolver import StaticResolver

LOOPBACK = ["127.0.0.1/32"]

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 40
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000") + b"\0" * 40


class SiteServer(LoopbackServer):
    """Serves routes keyed by path or by `host/path` and records every request."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-answer (a page cut at its cap) is not an error here."""

    def resolver(self, *hosts: str, internal: dict[str, str] | None = None) -> StaticResolver:
        """Names for the given hosts on the loopback; `internal` maps more to other addresses."""
        table = {host: ["127.0.0.1"] for host in hosts}
        table.update({host: [ip] for host, ip in (internal or {}).items()})
        return StaticResolver(table)


@contextmanager
def serving() -> Iterator[SiteServer]:
    server = SiteServer()
    try:
        yield server
    finally:
        server.stop()


# --- routes -----------------------------------------------------------------------------------


def html(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Route:
    content = body.encode()
    sent = {"Content-Type": "text/html; charset=utf-8", **(headers or {})}
    return lambda handler: handler.reply(status, sent, content)


def raw(body: bytes, content_type: str, status: int = 200) -> Route:
    return lambda handler: handler.reply(status, {"Content-Type": content_type}, body)


def redirect(location: str, status: int = 302) -> Route:
    return lambda handler: handler.reply(status, {"Location": location})


def by_referrer(expected: str, real: Route, decoy: Route) -> Route:
    """A disguised landing page: the real page only for a visitor sent by `expected`."""

    def route(handler: Handler) -> None:
        referrer = handler.headers.get("Referer") or ""
        (real if referrer.startswith(expected) else decoy)(handler)

    return route


def trickle(every: float = 0.2, total: int = 10_000) -> Route:
    """A slow-loris page: a byte at a time, forever (until the client hangs up)."""

    def route(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(total))
        handler.end_headers()
        try:
            for _ in range(total):
                handler.wfile.write(b"<")
                handler.wfile.flush()
                time.sleep(every)
        except OSError:
            return

    return route


def huge(size: int) -> Route:
    """A page of `size` bytes of benign text, streamed."""

    def route(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        chunk = b"<p>filler text for a very long page</p>\n" * 256
        sent = 0
        try:
            while sent < size:
                part = chunk[: size - sent]
                handler.wfile.write(part)
                sent += len(part)
        except OSError:
            return

    return route


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- a fake shop behind a gateway -------------------------------------------------------------

SHOP_HOSTS = ("shop.test", "www.shop.test", "gate.test", "other.test")
INTERNAL = {"admin.shop.test": "10.0.0.7"}
NEVER_REQUESTED = ("/img/", "/js/", "/css/", "/media/", "/bg/", "/pics/")


def install_shop(server: SiteServer) -> dict[str, str]:
    """A gateway page and a disguised shop (benign text, fake wallet strings `WALLET-...`) with
    every kind of bad input one link away; returns the URLs a test needs."""
    gate = server.url("gate.test", "/")
    landing = server.url("shop.test", "/")
    admin = f"http://admin.shop.test:{server.port}/"
    server.routes["gate.test/"] = html(
        f"<html><head><title>Gateway</title></head><body><a href='{landing}'>enter</a>"
        f"<a href='{server.url('gate.test', '/elsewhere')}'>not followed</a></body></html>"
    )
    server.routes["shop.test/"] = by_referrer(
        gate,
        html(
            "<html><head><title>Fake Shop</title>"
            "<link rel=stylesheet href=/css/site.css><script src=/js/app.js></script>"
            "<style>body{background:url(/bg/paper.png)}</style></head><body>"
            "<h1>Fake Shop</h1><p>Pay to WALLET-AAA today.</p>"
            "<img src=/img/banner.jpg srcset='/img/b2.jpg 2x'><video src=/media/clip.mp4 "
            "poster=/img/poster.jpg></video><audio src=/media/a.mp3></audio>"
            "<img src='data:image/png;base64,iVBORw0KGgo='>"
            "<a href=/catalogue>catalogue</a> <a href='/pay#top'>pay</a> "
            "<a href=/pics/photo.jpg>photo</a> <a href=/fake.html>fake</a> "
            "<a href=/big>big</a> <a href=/loop1>loop</a> <a href=/broken>broken</a> "
            f"<a href='{admin}'>admin</a> <a href='http://other.test:{server.port}/'>other</a> "
            "<a href='mailto:desk@shop.test'>mail</a> <a href='javascript:void(0)'>js</a>"
            "</body></html>"
        ),
        html("<html><head><title>Welcome</title></head><body><p>Nothing here.</p></body></html>"),
    )
    server.routes["shop.test/catalogue"] = html(
        "<title>Catalogue</title><p>Item list, pay to WALLET-BBB.</p>"
        "<a href=/item1>item 1</a> <a href=/pay>pay</a>"
    )
    server.routes["shop.test/item1"] = html("<p>Item 1</p><a href=/item2>item 2</a>")
    server.routes["shop.test/item2"] = html("<p>Item 2, too deep to reach</p>")
    server.routes["shop.test/pay"] = html(
        "<title>Pay</title><p>Send to WALLET-AAA, merchant ACME-1.</p>"
    )
    server.routes["shop.test/fake.html"] = raw(PNG, "text/html")
    server.routes["shop.test/big"] = huge(3_000_000)
    server.routes["shop.test/loop1"] = redirect("/loop2")
    server.routes["shop.test/loop2"] = redirect("/loop1")
    server.routes["shop.test/broken"] = html("<p>unclosed <b>tags <div><a href=/pay>pay<table><td")
    return {"gate": gate, "landing": landing, "admin": admin}


_WALLET = re.compile(r"WALLET-[A-Z]+")
_MERCHANT = re.compile(r"merchant ([A-Z]+-\d+)")


def standin_extract(html_text: str, *, url: str) -> Extraction:  # noqa: ARG001 - the seam
    """A tiny stand-in for `extract.extract_page` (same seam): fake wallets, merchants, links."""
    tree = LexborHTMLParser(html_text)
    found: dict[tuple[IndicatorKind, str], Found] = {}
    for pattern, kind in ((_WALLET, IndicatorKind.WALLET), (_MERCHANT, IndicatorKind.MERCHANT)):
        for match in pattern.finditer(html_text):
            value = match.group(match.lastindex or 0)
            found.setdefault((kind, value), Found(kind, value, "", match.start(), value))
    links = tuple(
        node.attributes.get("href") or node.attributes.get("src") or ""
        for node in tree.css("a, area, iframe, frame")
    )
    title = tree.css_first("title")
    return Extraction(
        found=tuple(found.values()),
        links=links,
        title=title.text() if title else "",
        template=None,
        rejected_wallets=html_text.count("WALLET-bad"),
    )


# --- what kept HTML may hold -------------------------------------------------------------------

_LOADING = re.compile(r"url\s*\(|data:|javascript:|@import", re.IGNORECASE)
_MEDIA_ELEMENTS = (
    "img, picture, source, video, audio, track, object, embed, svg, script, style, link"
)


def assert_loads_nothing(kept: str) -> None:
    tree = LexborHTMLParser(kept)
    assert tree.css(_MEDIA_ELEMENTS) == []
    assert tree.css("iframe, frame, base, noscript, xmp, plaintext, noembed, noframes") == []
    for node in tree.css("*"):
        for name, value in node.attributes.items():
            assert name not in ("src", "srcset", "poster", "background", "style", "data"), kept
            assert name not in ("action", "formaction", "ping")
            assert not name.startswith("on")
            assert not (value and _LOADING.search(value)), (name, value)
    for node in tree.css("meta"):
        assert (node.attributes.get("http-equiv") or "").lower() != "refresh"
