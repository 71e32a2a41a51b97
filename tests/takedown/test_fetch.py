"""The URL re-checker against real servers on the loopback interface.

No mock of httpx: well-behaved pages come from `http.server` in a thread, misbehaving servers
(endless bodies, trickled or huge headers, silent or broken ones, TLS) from raw sockets. Fictional
names are mapped to 127.0.0.1 with a `StaticResolver`, and the loopback address is allowed with
`allow_networks` only where a test means to connect; the refusal tests run without it and prove
that the server saw no connection. Times are asserted only as generous bounds against hangs.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from loopback import HANG_GUARD, LoopbackServer, Route

from taskforce.core.resolver import HostNotFound, ResolveFailed, StaticResolver
from taskforce.takedown.fetch import MEDIA_EXTENSIONS, CheckResult, Hop, Outcome, UrlChecker

LOOPBACK = ["127.0.0.1/32"]

# --- servers ----------------------------------------------------------------------------------


def page(status: int = 200, headers: dict[str, str] | None = None, body: bytes = b"") -> Route:
    return lambda handler: handler.reply(status, headers or {"Content-Type": "text/html"}, body)


def redirect(location: str, status: int = 302, **headers: str) -> Route:
    return lambda handler: handler.reply(status, {"Location": location, **headers})


class RawServer:
    """Accepts TCP connections and hands each to `handle` in a thread: for misbehaving servers."""

    def __init__(self, handle: Callable[[socket.socket, RawServer], None]) -> None:
        self.handle = handle
        self.stopping = threading.Event()
        self.finished = threading.Event()  # set when a handler thread ends
        self.connections = 0
        self.bytes_sent = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port: int = self.listener.getsockname()[1]
        self.threads: list[threading.Thread] = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._run, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _run(self, conn: socket.socket) -> None:
        try:
            with conn:
                conn.settimeout(HANG_GUARD)
                self.handle(conn, self)
        except OSError:
            pass  # the checker hung up: what most of these tests want
        finally:
            self.finished.set()

    def stop(self) -> None:
        self.stopping.set()
        self.acceptor.join(HANG_GUARD)
        self.listener.close()
        for thread in self.threads:
            thread.join(HANG_GUARD)


def read_head(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    s = LoopbackServer()
    yield s
    s.stop()


@pytest.fixture
def raw_servers() -> Iterator[Callable[[Callable[[socket.socket, RawServer], None]], RawServer]]:
    started: list[RawServer] = []

    def start(handle: Callable[[socket.socket, RawServer], None]) -> RawServer:
        started.append(RawServer(handle))
        return started[-1]

    yield start
    for s in started:
        s.stop()


SHOP = "shop.example.com"


def checker(**kwargs: Any) -> UrlChecker:
    """A checker that maps the fictional names to the loopback address and may reach it."""
    resolver = kwargs.pop(
        "resolver",
        StaticResolver(
            {SHOP: ["127.0.0.1"], "cdn.example.org": ["127.0.0.1"], "bücher.example": ["127.0.0.1"]}
        ),
    )
    kwargs.setdefault("allow_networks", LOOPBACK)
    return UrlChecker(resolver, **kwargs)


def url(s: LoopbackServer | RawServer, path: str = "/", host: str = SHOP) -> str:
    return f"http://{host}:{s.port}{path}"


# --- outcomes by status -----------------------------------------------------------------------


def test_page_that_answers_200_is_present(server: LoopbackServer) -> None:
    server.routes["/item/1"] = page(200, {"Content-Type": "text/html; charset=utf-8"}, b"<p>x</p>")
    result = checker().check(url(server, "/item/1"))
    assert result == CheckResult(
        outcome=Outcome.PRESENT,
        status_code=200,
        final_url=url(server, "/item/1"),
        content_type="text/html; charset=utf-8",
        hops=(Hop(url(server, "/item/1"), "127.0.0.1", 200),),
        detail="the server answered 200 OK",
        elapsed_ms=result.elapsed_ms,
        ip="127.0.0.1",
    )
    assert result.elapsed_ms >= 0
    [seen] = server.seen
    assert seen.method == "GET"
    assert seen.headers["Host"] == f"{SHOP}:{server.port}"  # the name, not the pinned address
    assert seen.headers["User-Agent"].startswith("taskforce-recheck/1")
    assert seen.headers["Accept-Encoding"] == "identity"
    assert "Cookie" not in seen.headers


@pytest.mark.parametrize("status", [200, 204, 206])
def test_any_2xx_is_present(server: LoopbackServer, status: int) -> None:
    server.routes["/"] = page(status)
    result = checker().check(url(server))
    assert (result.outcome, result.status_code) == (Outcome.PRESENT, status)


@pytest.mark.parametrize(
    ("status", "words"),
    [(404, "404 Not Found"), (410, "410 Gone"), (451, "451 Unavailable For Legal Reasons")],
)
def test_404_410_451_are_gone(server: LoopbackServer, status: int, words: str) -> None:
    server.routes["/gone"] = page(status)
    result = checker().check(url(server, "/gone"))
    assert result.outcome is Outcome.GONE
    assert result.status_code == status
    assert result.detail == f"the server answered {words}"


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        (500, "the server answered 500 Internal Server Error"),
        (503, "the server answered 503 Service Unavailable"),
        (
            403,
            "the server answered 403 Forbidden (access denied: whether the content is still "
            "there is not known)",
        ),
        (
            401,
            "the server answered 401 Unauthorized (access denied: whether the content is "
            "still there is not known)",
        ),
        (429, "the server answered 429 Too Many Requests (too many requests: ask again later)"),
        (405, "the server answered 405 Method Not Allowed"),
        (599, "the server answered 599"),
    ],
)
def test_other_statuses_are_unreachable(server: LoopbackServer, status: int, detail: str) -> None:
    server.routes["/"] = page(status)
    result = checker().check(url(server))
    assert result.outcome is Outcome.UNREACHABLE
    assert result.status_code == status
    assert result.detail == detail


def test_unknown_host_is_gone(server: LoopbackServer) -> None:
    result = checker().check(url(server, "/x", host="vanished.example.net"))
    assert result.outcome is Outcome.GONE
    assert result.detail == (
        "the host name no longer exists (vanished.example.net: no such host; "
        "asked static host table)"
    )
    assert result.hops == (Hop(url(server, "/x", host="vanished.example.net"), None, None),)
    assert result.ip is None
    assert server.connections == 0


class FailingResolver:
    name = "failing test resolver"

    def resolve(self, host: str) -> list[str]:
        raise ResolveFailed(host, "no answer from the name server within 5 s")


def test_resolver_failure_is_unreachable() -> None:
    result = checker(resolver=FailingResolver()).check("https://shop.example.com/item")
    assert result.outcome is Outcome.UNREACHABLE
    assert result.detail == (
        "could not resolve shop.example.com: no answer from the name server within 5 s"
    )
    assert result.hops == (Hop("https://shop.example.com/item", None, None),)


class EmptyResolver:
    name = "empty test resolver"

    def resolve(self, _host: str) -> list[str]:
        return []


def test_resolver_without_addresses_is_unreachable() -> None:
    result = checker(resolver=EmptyResolver()).check("http://shop.example.com/")
    assert result.outcome is Outcome.UNREACHABLE
    assert result.detail == "empty test resolver gave no address for shop.example.com"


# --- redirects --------------------------------------------------------------------------------


def test_redirect_chain_is_followed_and_recorded(server: LoopbackServer) -> None:
    server.routes["/a"] = redirect("/b", 301)
    server.routes["/b"] = redirect(f"http://cdn.example.org:{server.port}/c?x=1#frag", 307)
    server.routes["/c"] = redirect("d", 308)
    server.routes["/d"] = page(200, {"Content-Type": "image/webp"})
    result = checker().check(url(server, "/a"))
    assert result.outcome is Outcome.PRESENT
    assert result.hops == (
        Hop(url(server, "/a"), "127.0.0.1", 301),
        Hop(url(server, "/b"), "127.0.0.1", 307),
        Hop(url(server, "/c?x=1", host="cdn.example.org"), "127.0.0.1", 308),
        Hop(url(server, "/d", host="cdn.example.org"), "127.0.0.1", 200),
    )
    assert result.final_url == url(server, "/d", host="cdn.example.org")
    assert result.content_type == "image/webp"
    assert [s.headers["Host"] for s in server.seen] == [
        f"{SHOP}:{server.port}",
        f"{SHOP}:{server.port}",
        f"cdn.example.org:{server.port}",
        f"cdn.example.org:{server.port}",
    ]
    assert server.connections == 4  # one connection per hop, each to an address checked for it


def test_redirect_to_a_page_that_is_gone(server: LoopbackServer) -> None:
    server.routes["/old"] = redirect("/removed", 303)
    result = checker().check(url(server, "/old"))
    assert result.outcome is Outcome.GONE
    assert [h.status for h in result.hops] == [303, 404]


def test_redirect_loop_is_unreachable(server: LoopbackServer) -> None:
    server.routes["/one"] = redirect("/two")
    server.routes["/two"] = redirect(url(server, "/one"))
    result = checker().check(url(server, "/one"))
    assert result.outcome is Outcome.UNREACHABLE
    assert result.detail == f"redirect loop: {url(server, '/one')} was visited before"
    assert server.paths == ["/one", "/two"]
    assert result.status_code == 302


def test_too_many_redirects_is_unreachable(server: LoopbackServer) -> None:
    for n in range(10):
        server.routes[f"/step/{n}"] = redirect(f"/step/{n + 1}")
    result = checker(max_redirects=3).check(url(server, "/step/0"))
    assert result.outcome is Outcome.UNREACHABLE
    assert result.detail == "more than 3 redirects"
    assert server.paths == ["/step/0", "/step/1", "/step/2", "/step/3"]
    assert len(result.hops) == 4


def test_no_redirects_allowed(server: LoopbackServer) -> None:
    server.routes["/"] = redirect("/elsewhere")
    result = checker(max_redirects=0).check(url(server))
    assert result.outcome is Outcome.UNREACHABLE
    assert result.detail == "more than 0 redirects"
    assert server.paths == ["/"]


@pytest.mark.parametrize(
    "target", ["/media/photo.jpg", "/v/clip.MP4?token=1", "/dl/set.zip", "/a/b.png;jsessionid=9"]
)
def test_redirect_to_a_media_file_is_not_followed(server: LoopbackServer, target: str) -> None:
    server.routes["/share/abc"] = redirect(target)
    result = checker().check(url(server, "/share/abc"))
    assert result.outcome is Outcome.PRESENT
    assert result.detail == f"redirects to a media file ({url(server, target)}); not followed"
    assert server.paths == ["/share/abc"]  # the media URL was never requested
    assert result.hops == (Hop(url(server, "/share/abc"), "127.0.0.1", 302),)


@pytest.mark.parametrize(
    "location", ["ftp://files.example.com/x", "file:///etc/passwd", "gopher://example.com/"]
)
def test_redirect_to_another_scheme_is_refused(server: LoopbackServer, location: str) -> None:
    server.routes["/"] = redirect(location)
    result = checker().check(url(server))
    assert result.outcome is Outcome.REFUSED
    assert result.detail.startswith("redirects to ")
    assert result.detail.endswith(", and only http and https URLs are checked")


@pytest.mark.parametrize(
    ("location", "detail"),
    [
        (
            "http://exa mple.com/",
            "redirects to 'http://exa mple.com/', but the URL's host "
            "'exa%20mple.com' is not a valid host name",
        ),
        (
            "http://shop.example.com:0/",
            "redirects to 'http://shop.example.com:0/', but the "
            "URL's port 0 is not a port number (1 to 65535)",
        ),
        ("http://[::1/", "redirects to an invalid URL ("),
    ],
)
def test_redirect_to_a_bad_url_is_unreachable(
    server: LoopbackServer, location: str, detail: str
) -> None:
    server.routes["/"] = redirect(location)
    result = checker().check(url(server))
    assert result.outcome is Outcome.UNREACHABLE
    assert result.status_code == 302
    assert result.detail.startswith(detail) if detail.endswith("(") else result.detail == detail


def test_redirect_without_location_is_unreachable(server: LoopbackServer) -> None:
    server.routes["/"] = page(302)
    result = checker().check(url(server))
    assert result.outcome is Outcome.UNREACHABLE
    assert result.detail == "the server answered 302 Found without a Location header"


def test_redirect_to_cloud_metadata_is_refused(server: LoopbackServer) -> None:
    server.routes["/"] = redirect("http://169.254.169.254/latest/meta-data/")
    result = checker().check(url(server))
    assert result.outcome is Outcome.REFUSED
    assert result.detail == (
        "not connected: 169.254.169.254 resolves to an address taskforce does not reach "
        "(169.254.169.254 is link-local)"
    )
    assert result.hops == (
        Hop(url(server), "127.0.0.1", 302),
        Hop("http://169.254.169.254/latest/meta-data/", None, None),
    )
    assert result.ip is None


def test_cookies_last_for_one_check_only(server: LoopbackServer) -> None:
    server.routes["/login"] = lambda handler: handler.reply(
        302, {"Location": "/page", "Set-Cookie": "seen=1; Path=/"}
    )
    server.routes["/page"] = page(200)
    one = checker()
    assert one.check(url(server, "/login")).outcome is Outcome.PRESENT
    assert server.seen[1].headers.get("Cookie") == "seen=1"  # kept between hops of one check
    assert one.check(url(server, "/page")).outcome is Outcome.PRESENT
    assert "Cookie" not in server.seen[2].headers  # but not into the next check


# --- media files: HEAD, never GET --------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/photo.jpg",
        "/PHOTO.JPEG",
        "/v/clip.mp4",
        "/v/clip.webm?dl=1",
        "/pack.7z",
        "/a/b.heic",
        "/odd%2Ejpg",
        "/trailing.png.",
        "/x.gif;v=1",
    ],
)
def test_media_url_is_checked_with_head(server: LoopbackServer, path: str) -> None:
    server.routes[path.split("?")[0]] = page(200, {"Content-Type": "application/octet-stream"})
    result = checker().check(url(server, path))
    assert server.methods == ["HEAD"]
    assert result.outcome is Outcome.PRESENT


def test_page_url_with_media_name_in_query_uses_get(server: LoopbackServer) -> None:
    server.routes["/view"] = page(200, {"Content-Type": "image/jpeg"})
    result = checker().check(url(server, "/view?file=photo.jpg"))
    assert result.outcome is Outcome.PRESENT
    assert server.methods == ["GET"]


@pytest.mark.parametrize("status", [405, 501])
def test_media_url_that_refuses_head_is_present(server: LoopbackServer, status: int) -> None:
    server.routes["/clip.mov"] = page(status)
    result = checker().check(url(server, "/clip.mov"))
    assert result.outcome is Outcome.PRESENT
    assert result.status_code == status
    assert "to HEAD; a media file is never fetched with GET" in result.detail
    assert server.methods == ["HEAD"]


def test_media_redirect_chain_stays_head(server: LoopbackServer) -> None:
    server.routes["/clip.mp4"] = redirect("/cdn/7f3a")
    server.routes["/cdn/7f3a"] = page(200, {"Content-Type": "video/mp4"})
    result = checker().check(url(server, "/clip.mp4"))
    assert result.outcome is Outcome.PRESENT
    assert server.methods == ["HEAD", "HEAD"]


def test_media_extensions_cover_the_kinds() -> None:
    for extension in ["jpg", "jpeg", "png", "gif", "webp", "bmp", "heic", "mp4", "mov", "avi"]:
        assert extension in MEDIA_EXTENSIONS
    for extension in ["mkv", "webm", "m4v", "wmv", "flv", "zip", "rar", "7z", "mp3"]:
        assert extension in MEDIA_EXTENSIONS
    assert "html" not in MEDIA_EXTENSIONS
    assert "php" not in MEDIA_EXTENSIONS


# --- never the body; bounded in time and size -------------------------------------------------


def endless_body(conn: socket.socket, s: RawServer) -> None:
    read_head(conn)
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 99999999999\r\n\r\n"
    )
    chunk = b"\0" * 65536
    while not s.stopping.is_set():
        conn.sendall(chunk)
        s.bytes_sent += len(chunk)


def test_body_is_never_read(raw_servers: Any) -> None:
    s: RawServer = raw_servers(endless_body)
    result = checker(total_timeout=HANG_GUARD).check(url(s, "/watch?v=1"))
    assert result.outcome is Outcome.PRESENT
    assert result.content_type == "video/mp4"
    assert s.finished.wait(HANG_GUARD)  # the server's writes failed: the checker hung up
    assert result.elapsed_ms < HANG_GUARD * 1000


def trickled_headers(conn: socket.socket, s: RawServer) -> None:
    read_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    while not s.stopping.is_set():
        conn.sendall(b"X")
        s.stopping.wait(0.05)


def test_trickling_headers_are_cut_off_by_the_total_deadline(raw_servers: Any) -> None:
    s: RawServer = raw_servers(trickled_headers)
    result = checker(total_timeout=1, read_timeout=5).check(url(s))
    assert result.outcome is Outcome.UNREACHABLE
    assert result.detail == "gave up: the whole check may take at most 1 s"
    assert result.hops == (Hop(url(s), "127.0.0.1", None),)
    assert result.elapsed_ms < HANG_GUARD * 1000
    assert s.finished.wait(HANG_GUARD)


def silent(conn: socket.socket, s: RawServer) -> None:
    read_head(conn)
    s.stopping.wait(HANG_GUARD)


def test_read_timeout(raw_servers: Any) -> None:
    s: RawServer = raw_servers(silent)
    result = checker(read_timeout=0.3).check(url(s))
    assert result.outcome is Outcome.UNREACHABLE
    assert result.detail == f"no answer from {SHOP} (127.0.0.1) port {s.port} within 0.3 s"


def test_trickled_redirects_share_one_deadline(raw_servers: Any) -> None:
    def slow_redirect(conn: socket.socket, s: RawServer) -> None:
        head = read_head(conn)
        s.stopping.wait(0.4)
        n = int(head.split(b" ")[1].strip(b"/") or 0)
        conn.sendall(
            f"HTTP/1.1 302 Found\r\nLocation: /{n + 1}\r\nContent-Length: 0\r\n\r\n".encode()
        )

    s: RawServer = raw_servers(slow_redirect)
    result = checker(total_timeout=1, read_timeout=5, max_redirects=50).check(url(s, "/0"))
    assert result.outcome is Outcome.UNREACHABLE
    assert result.detail == "gave up: the whole check may take at most 1 s"
    assert 2 <= len(result.hops) <= 4


def huge_headers(size: int) -> Callable[[socket.socket, RawServer], None]:
    def handle(conn: socket.socket, s: RawServer) -> None:
        read_head(conn)
        head = b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * size + b"\r\nContent-Length: 0\r\n\r\n"
        conn.sendall(head)
        s.stopping.wait(HANG_GUARD)

    return handle


def test_oversized_headers_are_unreachable(raw_servers: Any) -> None:
    s: RawServer = raw_servers(huge_headers(40_000))
    result = checker().check(url(s))
    assert result.outcome is Outcome.UNREACHABLE
    assert result.detail == "response headers over 32768 bytes"


def test_header_limit_can_be_set(raw_servers: Any) -> None:
    s: RawServer = raw_servers(huge_headers(2_000))
    assert checker(max_header_bytes=1024).check(url(s)).detail == "response headers over 1024 bytes"
    assert checker(max_header_bytes=4096).check(url(s)).outcome is Outcome.PRESENT


def endless_header_lines(conn: socket.socket, s: RawServer) -> None:
    read_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    while not s.stopping.is_set():
        conn.sendall(b"X-More: " + b"m" * 1000 + b"\r\n")


def test_endless_headers_are_cut_off(raw_servers: Any) -> None:
    s: RawServer = raw_servers(endless_header_lines)
    result = checker().check(url(s))
    assert result.outcome is Outcome.UNREACHABLE
    assert result.detail == "response headers over 32768 bytes"
    assert s.finished.wait(HANG_GUARD)


def test_interim_1xx_heads_count_towards_the_limit(raw_servers: Any) -> None:
    def interim(conn: socket.socket, _s: RawServer) -> None:
        read_head(conn)
        conn.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nX-Padding: " + b"p" * 600 + b"\r\nContent-Length: 0\r\n\r\n"
        )

    s: RawServer = raw_servers(interim)
    assert checker(max_header_bytes=4096).check(url(s)).outcome is Outcome.PRESENT
    assert checker(max_header_bytes=700).check(url(s)).detail == "response headers over 700 bytes"


def test_connection_refused_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = checker().check(f"http://{SHOP}:{port}/")
    assert result.outcome is Outcome.UNREACHABLE
    assert result.detail == f"{SHOP} (127.0.0.1) port {port} refused the connection"
    assert result.hops == (Hop(f"http://{SHOP}:{port}/", None, None),)


def test_server_that_hangs_up_is_unreachable(raw_servers: Any) -> None:
    s: RawServer = raw_servers(lambda conn, _s: read_head(conn))
    result = checker().check(url(s))
    assert result.outcome is Outcome.UNREACHABLE
    assert (
        result.detail == f"{SHOP} (127.0.0.1) port {s.port} closed the connection without answering"
    )


def test_garbage_answer_is_unreachable(raw_servers: Any) -> None:
    def garbage(conn: socket.socket, _s: RawServer) -> None:
        read_head(conn)
        conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

    s: RawServer = raw_servers(garbage)
    result = checker().check(url(s))
    assert result.outcome is Outcome.UNREACHABLE
    assert result.detail.startswith(f"the answer of {SHOP} (127.0.0.1) port {s.port} is not valid")


# --- what may be reached ----------------------------------------------------------------------


class OneAnswer:
    def __init__(self, *ips: str) -> None:
        self.name = "test resolver"
        self.ips = list(ips)

    def resolve(self, _host: str) -> list[str]:
        return list(self.ips)


@pytest.mark.parametrize(
    ("ips", "reason"),
    [
        (["127.0.0.1"], "127.0.0.1 is a loopback address"),
        (["10.1.2.3"], "10.1.2.3 is a private address"),
        (["192.168.0.10"], "192.168.0.10 is a private address"),
        (["169.254.169.254"], "169.254.169.254 is link-local"),
        (["100.64.0.1"], "100.64.0.1 is shared address space (CGNAT)"),
        (["203.0.113.7"], "203.0.113.7 is reserved for documentation"),
        (["::1"], "::1 is a loopback address"),
        (["fd00::1"], "fd00::1 is a unique-local address"),
        (["fe80::1"], "fe80::1 is link-local"),
        (
            ["::ffff:127.0.0.1"],
            "::ffff:7f00:1 is the IPv4-mapped form of 127.0.0.1, which is a loopback address",
        ),
        (
            ["64:ff9b::a9fe:a9fe"],
            "64:ff9b::a9fe:a9fe is the NAT64 form of 169.254.169.254, which is link-local",
        ),
        (["not-an-address"], "'not-an-address' is not an IP address"),
    ],
)
def test_internal_addresses_are_refused_without_connecting(
    server: LoopbackServer, ips: list[str], reason: str
) -> None:
    server.routes["/"] = page(200)
    result = UrlChecker(OneAnswer(*ips)).check(url(server))
    assert result.outcome is Outcome.REFUSED
    assert result.detail == (
        f"not connected: {SHOP} resolves to an address taskforce does not reach ({reason})"
    )
    assert result.hops == (Hop(url(server), None, None),)
    assert result.ip is None
    # positive control: the server counts connections, and the refused check made none
    assert checker().check(url(server)).outcome is Outcome.PRESENT
    assert server.connections == 1


@pytest.mark.parametrize(
    "literal",
    ["127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "169.254.169.254", "10.0.0.1", "0.0.0.0"],  # noqa: S104 - judged, never bound
)
def test_ip_literal_urls_are_judged_too(server: LoopbackServer, literal: str) -> None:
    result = UrlChecker(StaticResolver({})).check(f"http://{literal}:{server.port}/")
    assert result.outcome is Outcome.REFUSED
    assert server.connections == 0


def test_one_refused_address_among_several_refuses_the_check(server: LoopbackServer) -> None:
    server.routes["/"] = page(200)
    result = UrlChecker(OneAnswer("127.0.0.1", "10.9.8.7"), allow_networks=LOOPBACK).check(
        url(server)
    )
    assert result.outcome is Outcome.REFUSED
    assert result.detail.endswith("(10.9.8.7 is a private address)")
    assert checker().check(url(server)).outcome is Outcome.PRESENT
    assert server.connections == 1


def test_allowed_ipv6_loopback(request: pytest.FixtureRequest) -> None:
    try:
        v6 = LoopbackServer("::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    request.addfinalizer(v6.stop)
    v6.routes["/"] = page(200)
    result = UrlChecker(StaticResolver({}), allow_networks=["::1/128"]).check(
        f"http://[::1]:{v6.port}/"
    )
    assert result.outcome is Outcome.PRESENT
    assert result.ip == "::1"
    assert v6.seen[0].headers["Host"] == f"[::1]:{v6.port}"


def test_idn_host_is_sent_in_punycode(server: LoopbackServer) -> None:
    server.routes["/"] = page(200)
    result = checker().check(f"http://bücher.example:{server.port}/")
    assert result.outcome is Outcome.PRESENT
    assert server.seen[0].headers["Host"] == f"xn--bcher-kva.example:{server.port}"


class Rebinding:
    """Answers the checked address first and another one on every later call."""

    name = "rebinding test resolver"

    def __init__(self, first: str, later: str) -> None:
        self.first, self.later = first, later
        self.calls: list[str] = []

    def resolve(self, host: str) -> list[str]:
        self.calls.append(host)
        return [self.first if len(self.calls) == 1 else self.later]


@pytest.fixture
def twin_servers() -> Iterator[tuple[LoopbackServer, LoopbackServer]]:
    """Servers on 127.0.0.2 ("public") and 127.0.0.1 (internal) on one port number."""
    for _ in range(20):
        public = LoopbackServer("127.0.0.2")
        try:
            internal = LoopbackServer("127.0.0.1", public.port)
        except OSError:
            public.stop()
            continue
        break
    else:
        pytest.skip("no free port on both 127.0.0.1 and 127.0.0.2")
    yield public, internal
    public.stop()
    internal.stop()


def test_connection_is_pinned_to_the_checked_address(
    twin_servers: tuple[LoopbackServer, LoopbackServer],
) -> None:
    """`localhost` would reach 127.0.0.1 through system DNS; the check must go where it judged."""
    public, internal = twin_servers
    public.routes["/"] = internal.routes["/"] = page(200)
    resolver = Rebinding(first="127.0.0.2", later="127.0.0.1")
    rechecker = UrlChecker(resolver, allow_networks=["127.0.0.2/32"])
    result = rechecker.check(f"http://localhost:{public.port}/")
    assert result.outcome is Outcome.PRESENT
    assert result.ip == "127.0.0.2"
    assert resolver.calls == ["localhost"]  # asked once for the one connection
    assert (public.connections, internal.connections) == (1, 0)
    assert public.seen[0].headers["Host"] == f"localhost:{public.port}"
    # the next check asks again, gets the internal address, and refuses it
    again = rechecker.check(f"http://localhost:{public.port}/")
    assert again.outcome is Outcome.REFUSED
    assert (public.connections, internal.connections) == (1, 0)


def test_every_redirect_hop_is_resolved_and_judged_again(
    twin_servers: tuple[LoopbackServer, LoopbackServer],
) -> None:
    public, internal = twin_servers
    public.routes["/start"] = redirect("/next")
    internal.routes["/next"] = page(200)
    resolver = Rebinding(first="127.0.0.2", later="127.0.0.1")
    result = UrlChecker(resolver, allow_networks=["127.0.0.2/32"]).check(
        f"http://localhost:{public.port}/start"
    )
    assert result.outcome is Outcome.REFUSED
    assert result.detail.endswith("(127.0.0.1 is a loopback address)")
    assert resolver.calls == ["localhost", "localhost"]
    assert result.hops == (
        Hop(f"http://localhost:{public.port}/start", "127.0.0.2", 302),
        Hop(f"http://localhost:{public.port}/next", None, None),
    )
    assert (public.connections, internal.connections) == (1, 0)


def test_next_checked_address_is_tried_when_one_does_not_answer(server: LoopbackServer) -> None:
    server.routes["/"] = page(200)
    with socket.socket() as probe:  # a port on 127.0.0.2 where nothing listens
        probe.bind(("127.0.0.2", server.port))
    resolver = OneAnswer("127.0.0.2", "127.0.0.1")
    result = UrlChecker(resolver, allow_networks=["127.0.0.0/30"]).check(url(server))
    assert result.outcome is Outcome.PRESENT
    assert result.ip == "127.0.0.1"


def test_credentials_in_the_url_are_not_sent(server: LoopbackServer) -> None:
    server.routes["/"] = page(200)
    result = checker().check(f"http://user:secret@{SHOP}:{server.port}/")
    assert result.outcome is Outcome.PRESENT
    assert "Authorization" not in server.seen[0].headers
    assert server.seen[0].headers["Host"] == f"{SHOP}:{server.port}"


def test_proxies_from_the_environment_are_ignored(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://proxy.example.net:3128")
    server.routes["/"] = page(200)
    assert checker().check(url(server)).outcome is Outcome.PRESENT
    assert server.seen[0].path == "/"  # a proxy would have been sent the absolute URL


@pytest.mark.parametrize(
    ("given", "detail"),
    [
        ("ftp://files.example.com/x.zip", "only http and https URLs are checked, not ftp: URLs"),
        ("file:///etc/passwd", "only http and https URLs are checked, not file: URLs"),
        ("javascript:alert(1)", "only http and https URLs are checked, not javascript: URLs"),
        ("data:text/html,hello", "only http and https URLs are checked, not data: URLs"),
        ("example.com/page", "only http and https URLs are checked, not URLs without a scheme"),
        ("http:///page", "the URL names no host"),
    ],
)
def test_other_schemes_are_refused(given: str, detail: str) -> None:
    result = checker().check(given)
    assert result == CheckResult(
        outcome=Outcome.REFUSED,
        status_code=None,
        final_url=given,
        content_type=None,
        hops=(),
        detail=detail,
        elapsed_ms=result.elapsed_ms,
        ip=None,
    )


@pytest.mark.parametrize(
    ("given", "detail"),
    [
        ("http://exa mple.com/", "the URL's host 'exa%20mple.com' is not a valid host name"),
        (
            "http://shop.example.com:99999/",
            "the URL's port 99999 is not a port number (1 to 65535)",
        ),
        ("http://shop.example.com:0/", "the URL's port 0 is not a port number (1 to 65535)"),
        ("http://[::1/", "not a valid URL: "),
        ("http://a..example.com/", "the URL's host 'a..example.com' is not a valid host name"),
    ],
)
def test_malformed_url_is_refused(given: str, detail: str) -> None:
    result = checker().check(given)
    assert result.outcome is Outcome.REFUSED
    assert result.detail.startswith(detail) if detail.endswith(": ") else result.detail == detail


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"connect_timeout": 0}, "connect_timeout must be more than 0 seconds, not 0"),
        ({"read_timeout": -1}, "read_timeout must be more than 0 seconds, not -1"),
        ({"total_timeout": 0}, "total_timeout must be more than 0 seconds, not 0"),
        ({"max_redirects": -1}, "max_redirects must be 0 or more, not -1"),
        ({"max_header_bytes": 0}, "max_header_bytes must be 1 or more, not 0"),
        ({"allow_networks": ["10.0.0.0/33"]}, "allow_networks: '10.0.0.0/33' is not an IP"),
        ({"allow_networks": "127.0.0.1/32"}, "allow_networks must be a list of networks"),
    ],
)
def test_bad_settings_name_the_field(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        UrlChecker(StaticResolver({}), **kwargs)


def test_allow_networks_are_parsed() -> None:
    rechecker = UrlChecker(StaticResolver({}), allow_networks=["10.1.2.3/8", "2001:db8::/32"])
    assert rechecker.allow_networks == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("2001:db8::/32"),
    )


# --- TLS --------------------------------------------------------------------------------------


@dataclass
class Pki:
    ca_file: Path
    leaf_chain: Path
    leaf_key: Path
    client: ssl.SSLContext = field(init=False)

    def __post_init__(self) -> None:
        self.client = ssl.create_default_context(cafile=str(self.ca_file))


def make_pki(tmp_path: Path, name: str) -> Pki:
    """A throw-away CA and a certificate for `name` signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "taskforce test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    (tmp_path / "leaf.key").write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Pki(tmp_path / "ca.pem", tmp_path / "leaf.pem", tmp_path / "leaf.key")


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path, SHOP)


def tls_server(pki: Pki, snis: list[str | None], heads: list[bytes]) -> Callable[..., None]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.leaf_chain, pki.leaf_key)
    context.sni_callback = lambda _sslobj, name, _ctx: snis.append(name)

    def handle(conn: socket.socket, s: RawServer) -> None:
        try:
            tls = context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            return  # the client refused the certificate: what some tests expect
        with tls:
            heads.append(read_head(tls))
            tls.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok"
            )
            s.stopping.wait(0.2)

    return handle


def test_tls_uses_the_host_name_for_sni_and_certificate(raw_servers: Any, pki: Pki) -> None:
    snis: list[str | None] = []
    heads: list[bytes] = []
    s: RawServer = raw_servers(tls_server(pki, snis, heads))
    result = checker(verify_tls=pki.client).check(f"https://{SHOP}:{s.port}/item")
    assert result.outcome is Outcome.PRESENT, result.detail
    assert result.ip == "127.0.0.1"
    assert snis == [SHOP]
    assert f"Host: {SHOP}:{s.port}".encode() in heads[0]


def test_tls_certificate_for_another_name_is_unreachable(raw_servers: Any, tmp_path: Path) -> None:
    other = make_pki(tmp_path, "other.example.org")
    s: RawServer = raw_servers(tls_server(other, [], []))
    result = checker(verify_tls=other.client).check(f"https://{SHOP}:{s.port}/")
    assert result.outcome is Outcome.UNREACHABLE
    assert result.detail.startswith(f"TLS certificate of {SHOP} not accepted: ")
    assert "mismatch" in result.detail.lower()


def test_tls_certificate_of_an_unknown_ca_is_unreachable(raw_servers: Any, pki: Pki) -> None:
    s: RawServer = raw_servers(tls_server(pki, [], []))
    result = checker().check(f"https://{SHOP}:{s.port}/")
    assert result.outcome is Outcome.UNREACHABLE
    assert result.detail.startswith(f"TLS certificate of {SHOP} not accepted: ")


def test_tls_ignores_a_ca_bundle_named_by_the_environment(
    raw_servers: Any, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_file))
    s: RawServer = raw_servers(tls_server(pki, [], []))
    result = checker().check(f"https://{SHOP}:{s.port}/")
    assert result.outcome is Outcome.UNREACHABLE
    assert result.detail.startswith(f"TLS certificate of {SHOP} not accepted: ")


def test_tls_without_verification(raw_servers: Any, pki: Pki) -> None:
    s: RawServer = raw_servers(tls_server(pki, [], []))
    assert checker(verify_tls=False).check(f"https://{SHOP}:{s.port}/").outcome is Outcome.PRESENT


def test_tls_to_a_plain_http_server_is_unreachable(server: LoopbackServer) -> None:
    result = checker().check(f"https://{SHOP}:{server.port}/")
    assert result.outcome is Outcome.UNREACHABLE
    assert result.detail.startswith(f"TLS with {SHOP} failed: ")


def test_stalled_tls_handshake_is_cut_off_by_the_total_deadline(raw_servers: Any) -> None:
    def trickle(conn: socket.socket, s: RawServer) -> None:
        conn.recv(4096)  # the ClientHello
        conn.sendall(b"\x16\x03\x03\x40\x00")  # a 16 KiB handshake record, sent a byte at a time
        while not s.stopping.is_set():
            s.stopping.wait(0.1)
            conn.sendall(b"\x00")

    s: RawServer = raw_servers(trickle)
    result = checker(total_timeout=1, connect_timeout=5, read_timeout=5).check(
        f"https://{SHOP}:{s.port}/"
    )
    assert result.outcome is Outcome.UNREACHABLE
    assert result.detail == "gave up: the whole check may take at most 1 s"
    assert result.elapsed_ms < HANG_GUARD * 1000


def test_checker_never_raises_on_a_reset(raw_servers: Any) -> None:
    def reset(conn: socket.socket, _s: RawServer) -> None:
        read_head(conn)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")

    s: RawServer = raw_servers(reset)
    result = checker().check(url(s))
    assert result.outcome is Outcome.UNREACHABLE
    assert str(s.port) in result.detail


def test_host_not_found_is_the_resolvers_error() -> None:
    """The checker relies on the resolver's two errors, not on strings."""
    with pytest.raises(HostNotFound):
        StaticResolver({}).resolve(SHOP)
