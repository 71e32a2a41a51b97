"""The text-only fetcher against synthetic sites on 127.0.0.1 (`commerce/sites.py`).

Fictional hosts are mapped to the loopback by a `StaticResolver`, which the tests allow with
`allow_networks`; the server records every request, so what must never be asked for is
asserted by its absence. Times are asserted only as generous bounds against hangs.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator

import httpcore
import httpx
import pytest
from commerce.sites import (
    JPEG,
    LOOPBACK,
    PNG,
    SiteServer,
    by_referrer,
    closed_port,
    html,
    huge,
    raw,
    redirect,
    serving,
    trickle,
)
from typing_extensions import override

from taskforce.commerce.fetcher import Outcome, TextFetcher, decode, registrable_domain
from taskforce.core.outbound import Exchange, Outbound
from taskforce.core.pinned import BodyMeter, _HeadStream

SHOP = "shop.test"


@pytest.fixture
def site() -> Iterator[SiteServer]:
    with serving() as server:
        yield server


def fetcher(site: SiteServer, **options: object) -> TextFetcher:
    resolver = site.resolver(
        SHOP, "www.shop.test", "gate.test", internal={"admin.shop.test": "10.0.0.7"}
    )
    values: dict[str, object] = {"allow_networks": LOOPBACK, "page_seconds": 5.0}
    values.update(options)
    return TextFetcher(resolver, **values)  # type: ignore[arg-type]


def test_a_page_is_fetched_with_its_evidence(site: SiteServer) -> None:
    body = "<html><head><title>Fake shop</title></head><body>Pay here</body></html>"
    site.routes["/"] = html(body, headers={"X-Powered-By": "fake/1.0"})
    page = fetcher(site).fetch(site.url(SHOP), referrer="http://gate.test/")
    assert page.outcome == Outcome.FETCHED
    assert page.status == 200
    assert page.text == body
    assert page.sha256 == hashlib.sha256(body.encode()).hexdigest()
    assert page.body_bytes == len(body)
    assert page.ip == "127.0.0.1"
    assert page.headers["x-powered-by"] == "fake/1.0"
    assert page.charset == "utf-8"
    assert not page.truncated
    assert site.seen[0].referrer == "http://gate.test/"
    assert site.seen[0].headers.get("Accept-Encoding") == "identity"


def test_redirects_are_followed_hop_by_hop(site: SiteServer) -> None:
    site.routes["/a"] = redirect("/b", 301)
    site.routes["/b"] = redirect(site.url("www.shop.test", "/c"))
    site.routes["www.shop.test/c"] = html("<p>landed</p>")
    page = fetcher(site).fetch(site.url(SHOP, "/a"))
    assert page.outcome == Outcome.FETCHED
    assert page.final_url == site.url("www.shop.test", "/c")
    assert [hop["status"] for hop in page.hops] == [301, 302, 200]


def test_endless_redirects_and_loops_fail_with_a_reason(site: SiteServer) -> None:
    for n in range(20):
        site.routes[f"/r{n}"] = redirect(f"/r{n + 1}")
    page = fetcher(site, max_redirects=3).fetch(site.url(SHOP, "/r0"))
    assert page.outcome == Outcome.FAILED
    assert "more than 3 redirects" in page.reason
    assert len(site.seen) == 4
    site.routes["/x"] = redirect("/y")
    site.routes["/y"] = redirect("/x")
    page = fetcher(site).fetch(site.url(SHOP, "/x"))
    assert page.outcome == Outcome.FAILED
    assert "redirect loop" in page.reason


def test_a_huge_page_is_cut_at_the_cap(site: SiteServer) -> None:
    site.routes["/big"] = huge(5_000_000)
    page = fetcher(site, page_bytes=100_000).fetch(site.url(SHOP, "/big"))
    assert page.outcome == Outcome.FETCHED
    assert page.truncated
    assert page.body_bytes == 100_000
    assert "cut at 100000 bytes" in page.reason


def test_a_slow_loris_is_cut_off_at_the_deadline(site: SiteServer) -> None:
    site.routes["/slow"] = trickle(every=0.05)
    started = time.monotonic()
    page = fetcher(site, page_seconds=1.0).fetch(site.url(SHOP, "/slow"))
    assert time.monotonic() - started < 5
    assert page.outcome == Outcome.FAILED
    assert "at most 1 s" in page.reason


@pytest.mark.parametrize(
    ("body", "kind"), [(PNG, "image/png"), (JPEG, "image/jpeg"), (b"%PDF-1.4\n", "application/pdf")]
)
def test_text_html_that_is_an_image_is_refused_and_discarded(
    site: SiteServer, body: bytes, kind: str
) -> None:
    site.routes["/fake"] = raw(body, "text/html")
    page = fetcher(site).fetch(site.url(SHOP, "/fake"))
    assert page.outcome == Outcome.REFUSED
    assert kind in page.reason
    assert page.body == b""
    assert page.text is None
    assert page.sha256 == hashlib.sha256(body).hexdigest()


def test_binary_with_nul_bytes_is_refused(site: SiteServer) -> None:
    site.routes["/bin"] = raw(b"<html>\x00\x01\x02 not text", "text/html")
    page = fetcher(site).fetch(site.url(SHOP, "/bin"))
    assert page.outcome == Outcome.REFUSED
    assert "NUL" in page.reason


@pytest.mark.parametrize("kind", ["image/jpeg", "video/mp4", "application/javascript", "text/css"])
def test_other_types_are_refused_by_header_before_the_body(site: SiteServer, kind: str) -> None:
    site.routes["/thing"] = raw(b"x" * 1000, kind)
    page = fetcher(site).fetch(site.url(SHOP, "/thing"))
    assert page.outcome == Outcome.REFUSED
    assert f"Content-Type {kind}" in page.reason
    assert page.body_bytes == 0
    assert page.sha256 is None


def test_media_urls_are_never_requested(site: SiteServer) -> None:
    page = fetcher(site).fetch(site.url(SHOP, "/pics/photo.JPG"))
    assert page.outcome == Outcome.REFUSED
    assert "media file" in page.reason
    site.routes["/go"] = redirect("/clip.mp4")
    page = fetcher(site).fetch(site.url(SHOP, "/go"))
    assert page.outcome == Outcome.REFUSED
    assert site.paths == ["/go"]


def test_internal_addresses_are_refused_unconnected(site: SiteServer) -> None:
    page = fetcher(site).fetch(f"http://admin.shop.test:{site.port}/")
    assert page.outcome == Outcome.REFUSED
    assert "10.0.0.7" in page.reason
    page = TextFetcher(site.resolver(SHOP)).fetch(site.url(SHOP))  # loopback not allowed
    assert page.outcome == Outcome.REFUSED
    assert "loopback" in page.reason
    assert site.seen == []


def test_other_schemes_and_dead_servers(site: SiteServer) -> None:
    assert fetcher(site).fetch("ftp://shop.test/x").outcome == Outcome.REFUSED
    assert fetcher(site).fetch("javascript:alert(1)").outcome == Outcome.REFUSED
    page = fetcher(site).fetch(f"http://{SHOP}:{closed_port()}/")
    assert page.outcome == Outcome.FAILED
    assert "refused the connection" in page.reason
    page = fetcher(site).fetch("http://nowhere.test/")
    assert page.outcome == Outcome.FAILED
    assert "does not exist" in page.reason


def test_the_right_referrer_shows_the_real_page(site: SiteServer) -> None:
    site.routes["/landing"] = by_referrer(
        site.url("gate.test"), html("<p>real shop</p>"), html("<p>nothing here</p>")
    )
    plain = fetcher(site).fetch(site.url(SHOP, "/landing"))
    sent = fetcher(site).fetch(site.url(SHOP, "/landing"), referrer=site.url("gate.test", "/"))
    assert plain.text == "<p>nothing here</p>"
    assert sent.text == "<p>real shop</p>"


def test_cookies_stay_with_their_registrable_domain(site: SiteServer) -> None:
    site.routes["gate.test/"] = html("<p>gate</p>", headers={"Set-Cookie": "passed=1; Path=/"})
    site.routes[f"{SHOP}/"] = html("<p>shop</p>", headers={"Set-Cookie": "sess=abc; Path=/"})
    site.routes["www.shop.test/"] = html("<p>www</p>")
    jar = httpx.Cookies()
    one = fetcher(site)
    one.fetch(site.url("gate.test"), cookies=jar)
    one.fetch(site.url(SHOP), cookies=jar)
    one.fetch(site.url(SHOP), cookies=jar)
    one.fetch(site.url("gate.test"), cookies=jar)
    cookies = [s.cookie for s in site.seen]
    assert cookies[0] is None
    assert cookies[1] is None
    assert cookies[2] == "sess=abc"
    assert cookies[3] == "passed=1"


def test_the_outbound_body_is_read_only_when_allowed(site: SiteServer) -> None:
    site.routes["/a"] = raw(b"hello", "text/plain")
    outbound = Outbound(site.resolver(SHOP), allow_networks=LOOPBACK)
    with Exchange(outbound) as exchange:
        got = exchange.fetch(
            httpx.URL(site.url(SHOP, "/a")),
            headers={},
            media_types=["text/html"],
            max_body_bytes=10,
        )
    assert got.unread is not None
    assert "text/plain" in got.unread
    assert got.body == b""
    with Exchange(outbound) as exchange:
        got = exchange.fetch(
            httpx.URL(site.url(SHOP, "/a")),
            headers={},
            media_types=["text/plain"],
            max_body_bytes=3,
        )
    assert got.body == b"hel"
    assert got.truncated


def test_decoding_follows_header_then_meta_then_utf8() -> None:
    latin = "<meta charset='iso-8859-1'><p>caf\xe9</p>".encode("latin-1")
    assert decode(latin, "text/html")[0].endswith("café</p>")
    assert decode("é".encode("cp1252"), "text/html; charset=windows-1252") == ("é", "cp1252")
    assert decode(b"\xff ok", None) == ("\ufffd ok", "utf-8")
    assert decode(b"ok", "text/html; charset=nonsense") == ("ok", "utf-8")


def test_registrable_domain() -> None:
    assert registrable_domain("a.b.example.co.uk") == "example.co.uk"
    assert registrable_domain("127.0.0.1") == "127.0.0.1"
    assert registrable_domain("WWW.Shop.Test.") == "shop.test"


class _Endless(httpcore.NetworkStream):
    """A connection that has sent a head and then sends body bytes forever; counts them."""

    def __init__(self) -> None:
        self.pending = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + b"x" * 100
        self.sent = 0

    @override
    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if not self.pending:
            self.pending = b"y" * 65536
        data, self.pending = self.pending[:max_bytes], self.pending[max_bytes:]
        self.sent += len(data)
        return data

    @override
    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Nothing is sent."""

    def close(self) -> None:
        """Nothing to close."""


def test_the_socket_is_read_no_further_than_the_cap() -> None:
    inner = _Endless()
    meter = BodyMeter(1000)
    stream = _HeadStream(inner, 32_768, meter)
    head = stream.read(65536)
    assert head.startswith(b"HTTP/1.1 200")
    while stream.read(65536):
        pass
    assert meter.capped
    head_bytes = len(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n")
    assert inner.sent == head_bytes + 1000
