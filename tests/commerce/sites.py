"""Synthetic commercial sites on 127.0.0.1 for the crawler's tests (and any other test that
needs one): a threaded `http.server` that answers fictional hosts (mapped to the loopback by a
`StaticResolver`) from a table of routes and records every request it gets, so a test can
assert what was never asked for (an image, a script, a stylesheet).

Everything served is benign: fake shops, fake wallets, no real site.
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from taskforce.core.resolver import StaticResolver

LOOPBACK = ["127.0.0.1/32"]
HANG_GUARD = 20.0

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 40
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000") + b"\0" * 40


@dataclass
class Seen:
    """One request the server got."""

    method: str
    host: str
    path: str
    headers: dict[str, str]

    @property
    def referrer(self) -> str | None:
        return self.headers.get("Referer")

    @property
    def cookie(self) -> str | None:
        return self.headers.get("Cookie")


Route = Callable[["Handler"], None]


class Handler(http.server.BaseHTTPRequestHandler):
    server: SiteServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests assert what the server saw instead."""

    def reply(self, status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            with contextlib.suppress(OSError):  # the client stopped reading (a capped page)
                self.wfile.write(body)

    def dispatch(self) -> None:
        host = self.headers.get("Host", "").rsplit(":", 1)[0]
        path = self.path.split("?", 1)[0]
        self.server.seen.append(Seen(self.command, host, self.path, dict(self.headers.items())))
        route = self.server.routes.get(f"{host}{path}") or self.server.routes.get(path)
        if route is None:
            self.reply(404, {"Content-Type": "text/plain"}, b"not here")
        else:
            route(self)

    do_GET = do_HEAD = dispatch  # noqa: N815 - the names http.server calls


class SiteServer(http.server.ThreadingHTTPServer):
    """Serves routes keyed by path or by `host/path` and records every request."""

    daemon_threads = True

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        super().__init__(("127.0.0.1", 0), Handler)
        self.port: int = self.server_address[1]
        self.thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-answer (a page cut at its cap) is not an error here."""

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(HANG_GUARD)

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def paths(self) -> list[str]:
        return [s.path for s in self.seen]

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
