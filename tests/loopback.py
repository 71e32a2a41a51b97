"""A page server on a loopback address for tests: a threaded `http.server` that answers from
a table of routes (keyed by path, or by `host/path` where fictional hosts share it) and records
every request and connection, so a test can assert what was asked for and what never was.
The outbound client's trap, the URL re-checker's tests and the commercial-site crawler's
synthetic sites all serve from it.
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

HANG_GUARD = 20.0  # seconds; only protects the test run from a hang


@dataclass
class Seen:
    """One request the server got."""

    method: str
    host: str
    path: str
    headers: dict[str, str]
    body: bytes = b""

    @property
    def referrer(self) -> str | None:
        return self.headers.get("Referer")

    @property
    def cookie(self) -> str | None:
        return self.headers.get("Cookie")


Route = Callable[["Handler"], None]


class Handler(http.server.BaseHTTPRequestHandler):
    server: LoopbackServer
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
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        self.server.seen.append(
            Seen(self.command, host, self.path, dict(self.headers.items()), body)
        )
        route = (
            self.server.routes.get(f"{host}{path}")
            or self.server.routes.get(path)
            or self.server.fallback
        )
        if route is None:
            self.reply(404, {"Content-Type": "text/plain"}, b"not here")
        else:
            route(self)

    do_GET = do_HEAD = do_POST = dispatch  # noqa: N815 - the names http.server calls


class LoopbackServer(http.server.ThreadingHTTPServer):
    """Serves `routes` on `host` (IPv4 or IPv6) and records every connection and request
    (a request's body too)."""

    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.routes: dict[str, Route] = {}
        self.fallback: Route | None = None  # answers a path no route names (None: 404)
        self.seen: list[Seen] = []
        self.connections = 0
        super().__init__((host, port), Handler)
        self.port: int = self.server_address[1]
        self.thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def get_request(self) -> tuple[socket.socket, Any]:
        request = super().get_request()
        self.connections += 1
        return request

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(HANG_GUARD)

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def paths(self) -> list[str]:
        return [s.path for s in self.seen]

    @property
    def methods(self) -> list[str]:
        return [s.method for s in self.seen]
