"""Re-checking a reported URL after a takedown notice: is the content still there?

After a notice goes to a hosting provider, a scheduler re-checks the reported URL until it is
gone. A re-check opens a connection to a place where abuse material was reported, on behalf of a
police agency or hotline, so it is built to learn one thing (status and headers) and nothing else:

1. Only `http` and `https` URLs are checked; any other scheme, or no host, is REFUSED with the
   reason. Non-default ports are allowed.
2. Before every connection (the first request and every redirect hop) the host is resolved with
   the given `Resolver` and EVERY address returned is judged by `hosting.resolver.refusal()`. If
   any one is refused the check is REFUSED and nothing is connected. The connection then goes to
   one of the addresses just checked, never to a second DNS answer (DNS rebinding): the network
   backend maps the host to the pinned addresses and has no other way to connect. The original
   host name stays in the Host header, the TLS SNI and the certificate check. Nothing is taken
   from the environment (no proxy, no CA bundle, no .netrc), user:password in a URL is not sent,
   and cookies live only for the hops of one check.
3. The body is never read: the request is a streamed GET, only the status and headers are looked
   at, and the response is closed unread. While the head is read, reads are at most 4 KiB, so at
   most that much of a body can arrive with the last header bytes (over TLS, OpenSSL decrypts the
   record holding them whole, up to 16 KiB); it is dropped with the connection, unread. A URL
   whose path ends in a media extension (`MEDIA_EXTENSIONS`: images, video, audio, archives) gets
   HEAD instead of GET, and so does every later hop of its redirect chain; a media file that
   refuses HEAD (405, 501) is taken as PRESENT: it is never fetched with GET.
4. Redirects (301, 302, 303, 307, 308) are followed here, not by httpx: at most `max_redirects`,
   each hop resolved and judged again (rule 2) and recorded in `hops`. A redirect to a media file
   is not followed: the answer is PRESENT. A redirect loop or one redirect too many is
   UNREACHABLE.
5. Outcome by the final answer: 2xx is PRESENT; 404, 410 and 451 are GONE; a host name that no
   longer exists (on any hop) is GONE; everything else (timeouts, refused or reset connections,
   TLS errors, 5xx, 401, 403, 429, 3xx without a usable Location, resolver failures, headers too
   large) is UNREACHABLE with the reason in plain words. What repeated UNREACHABLE means is for
   the caller.
6. Time and size are bounded: each connect and each read has its own timeout, and the whole check,
   redirects included, has a hard deadline (`total_timeout`) enforced at the socket: every
   operation, the TLS handshake included, gets at most the time left, so a server that trickles
   bytes cannot hold a check longer. (A resolver call cannot be interrupted; `SystemResolver` has
   its own time limit, and no connection starts once the deadline has passed.) The response head,
   with the status line and the heads of any interim 1xx answers, may be at most
   `max_header_bytes`.
7. Nothing the remote side does raises: every failure is a `CheckResult`. Only programming errors
   (bad arguments to `UrlChecker`, a bug) raise.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from http import HTTPStatus
from typing import Any, TypeVar

import httpcore
import httpx

from taskforce.hosting.resolver import HostNotFound, Network, ResolveFailed, Resolver, refusal

__all__ = ["MEDIA_EXTENSIONS", "CheckResult", "Hop", "Outcome", "UrlChecker"]

MEDIA_EXTENSIONS = frozenset(
    (  # noqa: SIM905 - a word list reads better than 90 quoted strings, one a line
        # images
        "jpg jpeg jpe jfif pjpeg pjp png apng gif webp bmp dib tif tiff heic heif avif jxl ico svg "
        # video
        "mp4 m4v mov qt avi mkv webm wmv flv f4v mpg mpeg mpe m2v 3gp 3g2 ts mts m2ts vob ogv asf "
        "rm rmvb divx "
        # audio
        "mp3 m4a aac wav flac ogg oga opus wma aif aiff amr "
        # archives and disk images
        "zip rar 7z tar gz tgz bz2 tbz2 xz txz zst lz lzma cab iso dmg arj cbz cbr"
    ).split()
)
"""Path endings (lower case, without the dot) that mark a media file: HEAD only, never GET."""

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_GONE = frozenset({404, 410, 451})
_HEAD_REFUSED = frozenset({405, 501})
_HEAD_READ_BYTES = 4096
_TLS_RECORD_BYTES = 16384
_END_OF_HEAD = re.compile(rb"\n\r?\n")  # what h11 takes as the blank line after the headers
_INTERIM_HEAD = re.compile(rb"HTTP/\d(?:\.\d)? +1\d\d\b")


class Outcome(StrEnum):
    PRESENT = "present"
    GONE = "gone"
    UNREACHABLE = "unreachable"
    REFUSED = "refused"


@dataclass(frozen=True)
class Hop:
    """One request of a check: where it went, to which address, and the status it got."""

    url: str
    ip: str | None
    status: int | None


@dataclass(frozen=True)
class CheckResult:
    outcome: Outcome
    status_code: int | None
    final_url: str
    content_type: str | None
    hops: tuple[Hop, ...]
    detail: str
    """Plain words for an analyst: why this outcome."""
    elapsed_ms: int
    ip: str | None
    """The address the last request was sent to; None when nothing was connected."""


# --- time and size limits at the socket ---------------------------------------------------------


class _OutOfTime(Exception):
    """The whole check's deadline has passed."""


class _HeadTooLarge(Exception):
    """The response head grew past the limit before it ended."""


class _NotPinned(RuntimeError):
    """httpcore asked to connect to a host that was not checked: a bug, never a fallback to DNS."""


class _Budget:
    """The time one check has left."""

    def __init__(self, total: float) -> None:
        self.total = total
        self.deadline = time.monotonic() + total

    def left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise _OutOfTime
        return left

    def grant(self, timeout: float | None) -> tuple[float, bool]:
        """Seconds an operation may take, and whether the deadline (not its own timeout) set it."""
        left = self.left()
        if timeout is None or left <= timeout:
            return left, True
        return timeout, False


_T = TypeVar("_T")


def _within(budget: _Budget, timeout: float | None, operation: Callable[[float], _T]) -> _T:
    granted, by_deadline = budget.grant(timeout)
    try:
        return operation(granted)
    except httpcore.TimeoutException:
        if by_deadline:
            raise _OutOfTime from None
        raise


class _SocketStream(httpcore.NetworkStream):
    """A TCP stream whose every operation gets min(its own timeout, the time left)."""

    def __init__(
        self, inner: httpcore.NetworkStream, budget: _Budget, tls_context: ssl.SSLContext
    ) -> None:
        self._inner = inner
        self._budget = budget
        self._tls_context = tls_context

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return _within(self._budget, timeout, lambda t: self._inner.read(max_bytes, t))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        _within(self._budget, timeout, lambda t: self._inner.write(buffer, t))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # The checker's context, not the one httpcore passes: httpcore sets ALPN on the pool's
        # context before every connection, and changing a context that other threads' checks use
        # is not safe. The pool gets a throwaway context instead (see _PinnedTransport).
        try:
            return _TLSStream(self, self._tls_context, server_hostname, timeout)
        except BaseException:
            self.close()
            raise

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _TLSStream(httpcore.NetworkStream):
    """TLS over memory buffers, so that the handshake too goes through the bounded socket reads.

    (`ssl.SSLSocket` would read the socket by itself, with a timeout per read only: a server
    trickling its handshake could outlast the deadline.)
    """

    def __init__(
        self,
        raw: _SocketStream,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None,
        timeout: float | None,
    ) -> None:
        self._raw = raw
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = ssl_context.wrap_bio(
            self._incoming, self._outgoing, server_hostname=server_hostname
        )
        try:
            self._io(self._tls.do_handshake, timeout)
        except ssl.SSLError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        except (httpcore.ReadTimeout, httpcore.WriteTimeout) as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except (httpcore.ReadError, httpcore.WriteError) as exc:
            raise httpcore.ConnectError(str(exc)) from exc

    def _io(self, operation: Callable[[], _T], timeout: float | None) -> _T:
        while True:
            want_read = False
            try:
                result = operation()
            except ssl.SSLWantReadError:
                want_read = True
            pending = self._outgoing.read()
            if pending:
                self._raw.write(pending, timeout)
            if not want_read:
                return result
            data = self._raw.read(_TLS_RECORD_BYTES, timeout)
            if data:
                self._incoming.write(data)
            else:
                self._incoming.write_eof()

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return self._io(lambda: self._tls.read(max_bytes), timeout)
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b""  # closed, with or without close_notify: h11 judges what was missing
        except ssl.SSLError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        view = memoryview(buffer)
        try:
            while view:
                view = view[self._io(functools.partial(self._tls.write, view), timeout) :]
        except ssl.SSLError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    def close(self) -> None:
        self._raw.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        raise RuntimeError("TLS inside TLS is not used: proxies are never configured")

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._tls
        return self._raw.get_extra_info(info)


class _HeadStream(httpcore.NetworkStream):
    """What httpcore reads the answer from: counts the head and keeps reads small until it ends."""

    def __init__(self, inner: httpcore.NetworkStream, limit: int) -> None:
        self._inner = inner
        self._limit = limit
        self._head = bytearray()
        self._start = 0  # where the head being read begins (after any 1xx heads)
        self._done = False

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._done:
            return self._inner.read(max_bytes, timeout)
        data = self._inner.read(min(max_bytes, _HEAD_READ_BYTES), timeout)
        self._count(data)
        return data

    def _count(self, data: bytes) -> None:
        search_from = max(self._start, len(self._head) - 2)  # the blank line may span two reads
        self._head += data
        while True:
            end = _END_OF_HEAD.search(self._head, search_from)
            if end is None:
                if len(self._head) > self._limit:
                    raise _HeadTooLarge
                return
            if end.end() > self._limit:
                raise _HeadTooLarge
            if _INTERIM_HEAD.match(self._head, self._start):
                self._start = search_from = end.end()
                continue
            self._done = True
            self._head = bytearray()
            return

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _HeadStream(
            self._inner.start_tls(ssl_context, server_hostname, timeout), self._limit
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects a host only to the addresses pinned for it: the ones that were just checked."""

    def __init__(self, budget: _Budget, head_limit: int, tls_context: ssl.SSLContext) -> None:
        self._budget = budget
        self._head_limit = head_limit
        self._tls_context = tls_context
        self._sync = httpcore.SyncBackend()
        self._pins: dict[str, list[str]] = {}
        self.connected_ip: str | None = None

    def pin(self, host: str, ips: list[str]) -> None:
        self._pins[host.lower()] = list(ips)
        self.connected_ip = None

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        ips = self._pins.get(host.lower())
        if not ips:
            raise _NotPinned(f"connection to {host!r}, which was not resolved and checked")
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for ip in ips:  # every one of them was checked; try the next if one does not answer
            try:
                connect = functools.partial(
                    self._sync.connect_tcp,
                    ip,
                    port,
                    local_address=local_address,
                    socket_options=socket_options,
                )
                stream = _within(self._budget, timeout, connect)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            self.connected_ip = ip
            raw = _SocketStream(stream, self._budget, self._tls_context)
            return _HeadStream(raw, self._head_limit)
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise _NotPinned("re-checks never use Unix sockets")

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, self._budget.left()))


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, inner: Iterable[bytes]) -> None:
        self._inner = inner

    def __iter__(self) -> Iterator[bytes]:
        yield from self._inner

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


class _PinnedTransport(httpx.BaseTransport):
    """httpx over an httpcore pool that connects through the pinned backend and keeps nothing."""

    def __init__(self, backend: _PinnedBackend) -> None:
        self._pool = httpcore.ConnectionPool(
            # never used for TLS (the backend uses the checker's); httpcore may change it freely
            ssl_context=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT),
            max_keepalive_connections=0,  # every hop gets a new connection to its pinned address
            http1=True,
            http2=False,
            retries=0,
            network_backend=backend,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        response = self._pool.handle_request(
            httpcore.Request(
                method=request.method,
                url=httpcore.URL(
                    scheme=request.url.raw_scheme,
                    host=request.url.raw_host,
                    port=request.url.port,
                    target=request.url.raw_path,
                ),
                headers=request.headers.raw,
                content=request.stream,
                extensions=request.extensions,
            )
        )
        assert isinstance(response.stream, Iterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


# --- the check --------------------------------------------------------------------------------


def _is_media(url: httpx.URL) -> bool:
    """Judged on the decoded last path segment, without `;parameters` and trailing dots/spaces
    (which some servers ignore)."""
    segment = url.path.rsplit("/", 1)[-1].split(";", 1)[0].rstrip(". ")
    _, dot, extension = segment.rpartition(".")
    return bool(dot) and extension.lower() in MEDIA_EXTENSIONS


_HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?", re.IGNORECASE)


def _url_problem(url: httpx.URL) -> str | None:
    """What makes an http(s) URL unusable, if anything.

    httpx percent-encodes what it cannot take in a host, and accepts any port number; such a host
    is no name that could vanish (GONE), it is a bad URL.
    """
    host = url.raw_host.decode("ascii")
    if not host:
        return "the URL names no host"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.removesuffix(".").split(".")
        if len(host) > 254 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
            return f"the URL's host {host!r} is not a valid host name"
    if url.port is not None and not 0 < url.port < 65536:
        return f"the URL's port {url.port} is not a port number (1 to 65535)"
    return None


def _status_words(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


_NETWORK_FAILURES = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.ProxyError,
    httpcore.UnsupportedProtocol,
    OSError,
)


class UrlChecker:
    """Checks whether a reported URL still answers, by the rules in the module docstring.

    One checker may be shared by threads: each `check` has its own connections, deadline and
    cookies.
    """

    def __init__(
        self,
        resolver: Resolver,
        *,
        connect_timeout: float = 5,
        read_timeout: float = 5,
        total_timeout: float = 15,
        max_redirects: int = 5,
        max_header_bytes: int = 32_768,
        allow_networks: Sequence[str] = (),
        user_agent: str = "taskforce-recheck/1 (+notice-and-takedown; no content is stored)",
        verify_tls: bool | ssl.SSLContext = True,
    ) -> None:
        for field, seconds in (
            ("connect_timeout", connect_timeout),
            ("read_timeout", read_timeout),
            ("total_timeout", total_timeout),
        ):
            if not seconds > 0:
                raise ValueError(f"{field} must be more than 0 seconds, not {seconds}")
        if max_redirects < 0:
            raise ValueError(f"max_redirects must be 0 or more, not {max_redirects}")
        if max_header_bytes < 1:
            raise ValueError(f"max_header_bytes must be 1 or more, not {max_header_bytes}")
        if isinstance(allow_networks, str):
            raise ValueError("allow_networks must be a list of networks, not one string")
        self.resolver = resolver
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total_timeout = total_timeout
        self.max_redirects = max_redirects
        self.max_header_bytes = max_header_bytes
        self.allow_networks: tuple[Network, ...] = tuple(
            self._network(text) for text in allow_networks
        )
        self.user_agent = user_agent
        self._ssl_context = self._make_ssl_context(verify_tls)

    @staticmethod
    def _network(text: str) -> Network:
        try:
            return ipaddress.ip_network(text, strict=False)
        except ValueError as exc:
            raise ValueError(f"allow_networks: {text!r} is not an IP network ({exc})") from None

    @staticmethod
    def _make_ssl_context(verify_tls: bool | ssl.SSLContext) -> ssl.SSLContext:
        """httpx's roots (certifi), never a CA bundle named by the environment; a context given is
        used as it is (a lab's own CA)."""
        if isinstance(verify_tls, ssl.SSLContext):
            return verify_tls
        return httpx.create_ssl_context(verify=verify_tls, trust_env=False)

    def check(self, url: str) -> CheckResult:
        """Re-check one URL; never raises for anything the remote side does (rule 7)."""
        run = _Run(self, url)
        try:
            return run.check()
        finally:
            run.close()


class _Run:
    """The state of one check: its deadline, connections, cookies and hops."""

    def __init__(self, checker: UrlChecker, url: str) -> None:
        self.checker = checker
        self.url = url
        self.started = time.monotonic()
        self.budget = _Budget(checker.total_timeout)
        self.backend = _PinnedBackend(self.budget, checker.max_header_bytes, checker._ssl_context)
        self.hops: list[Hop] = []
        # No httpx.Client: requests go straight to the pinned transport, so nothing is taken from
        # the environment (proxies, CA bundles, .netrc) and httpx follows no redirect by itself.
        self.transport = _PinnedTransport(self.backend)
        self.cookies = httpx.Cookies()  # for the hops of this check only
        self.timeouts = httpx.Timeout(
            connect=checker.connect_timeout,
            read=checker.read_timeout,
            write=checker.read_timeout,
            pool=checker.connect_timeout,
        ).as_dict()
        self.headers = {
            "User-Agent": checker.user_agent,
            "Accept": "*/*",
            "Accept-Encoding": "identity",
            "Connection": "close",
        }

    def close(self) -> None:
        self.transport.close()

    def result(
        self,
        outcome: Outcome,
        detail: str,
        *,
        status: int | None = None,
        content_type: str | None = None,
    ) -> CheckResult:
        last = self.hops[-1] if self.hops else None
        return CheckResult(
            outcome=outcome,
            status_code=status,
            final_url=last.url if last else self.url,
            content_type=content_type,
            hops=tuple(self.hops),
            detail=detail,
            elapsed_ms=int((time.monotonic() - self.started) * 1000),
            ip=last.ip if last else None,
        )

    def check(self) -> CheckResult:
        try:
            current = httpx.URL(self.url).copy_with(fragment=None)
        except httpx.InvalidURL as exc:
            return self.result(Outcome.REFUSED, f"not a valid URL: {exc}")
        if current.scheme not in ("http", "https"):
            scheme = f"{current.scheme}: URLs" if current.scheme else "URLs without a scheme"
            return self.result(
                Outcome.REFUSED, f"only http and https URLs are checked, not {scheme}"
            )
        problem = _url_problem(current)
        if problem is not None:
            return self.result(Outcome.REFUSED, problem)
        method = "HEAD" if _is_media(current) else "GET"
        seen = {str(current)}
        redirects = 0
        try:
            while True:
                answer = self.request(method, current)
                if isinstance(answer, CheckResult):
                    return answer
                status, location, content_type = answer
                if status not in _REDIRECTS:
                    return self.judge(method, status, content_type)
                if location is None:
                    return self.result(
                        Outcome.UNREACHABLE,
                        f"the server answered {_status_words(status)} without a Location header",
                        status=status,
                        content_type=content_type,
                    )
                step = self.follow(current, location, seen, redirects, status, content_type)
                if isinstance(step, CheckResult):
                    return step
                current = step
                seen.add(str(current))
                redirects += 1
        except _OutOfTime:
            return self.result(
                Outcome.UNREACHABLE,
                f"gave up: the whole check may take at most {self.checker.total_timeout:g} s",
            )

    def request(
        self, method: str, url: httpx.URL
    ) -> CheckResult | tuple[int, str | None, str | None]:
        """One hop: resolve, judge every address, connect to a checked one, read the head only."""
        host = url.raw_host.decode("ascii")
        port = url.port or (443 if url.scheme == "https" else 80)
        self.budget.left()
        try:
            ips = self.checker.resolver.resolve(host)
        except HostNotFound as exc:
            self.hops.append(Hop(str(url), None, None))
            return self.result(
                Outcome.GONE,
                f"the host name no longer exists ({exc}; asked {self.checker.resolver.name})",
            )
        except ResolveFailed as exc:
            self.hops.append(Hop(str(url), None, None))
            return self.result(Outcome.UNREACHABLE, f"could not resolve {host}: {exc.reason}")
        self.hops.append(Hop(str(url), None, None))
        self.budget.left()
        if not ips:
            return self.result(
                Outcome.UNREACHABLE,
                f"{self.checker.resolver.name} gave no address for {host}",
            )
        refused = [why for ip in ips if (why := refusal(ip, self.checker.allow_networks))]
        if refused:
            return self.result(
                Outcome.REFUSED,
                f"not connected: {host} resolves to an address taskforce does not reach "
                f"({'; '.join(refused)})",
            )
        self.backend.pin(host, ips)
        try:
            request = httpx.Request(
                method,
                url,
                headers=self.headers,
                cookies=self.cookies,
                extensions={"timeout": self.timeouts},
            )
            response = self.transport.handle_request(request)
        except _OutOfTime:
            self.hops[-1] = Hop(str(url), self.backend.connected_ip, None)
            raise
        except (_HeadTooLarge, *_NETWORK_FAILURES) as exc:
            self.hops[-1] = Hop(str(url), self.backend.connected_ip, None)
            return self.result(Outcome.UNREACHABLE, self.describe(exc, host, port, ips))
        try:
            response.request = request
            self.cookies.extract_cookies(response)
            status = response.status_code
            locations = response.headers.get_list("location")
            content_type = response.headers.get("content-type")
        finally:
            response.close()  # unread (rule 3)
        self.hops[-1] = Hop(str(url), self.backend.connected_ip, status)
        return status, (locations[0] if locations else None), content_type

    def follow(
        self,
        current: httpx.URL,
        location: str,
        seen: set[str],
        redirects: int,
        status: int,
        content_type: str | None,
    ) -> httpx.URL | CheckResult:
        """The next hop of a redirect, or the result when it is not followed (rule 4)."""

        def stop(outcome: Outcome, detail: str) -> CheckResult:
            return self.result(outcome, detail, status=status, content_type=content_type)

        try:
            target = current.join(location).copy_with(fragment=None)
        except httpx.InvalidURL as exc:
            return stop(Outcome.UNREACHABLE, f"redirects to an invalid URL ({exc})")
        if target.scheme not in ("http", "https"):
            return stop(
                Outcome.REFUSED,
                f"redirects to {target}, and only http and https URLs are checked",
            )
        problem = _url_problem(target)
        if problem is not None:
            return stop(Outcome.UNREACHABLE, f"redirects to {location!r}, but {problem}")
        if _is_media(target):
            return stop(Outcome.PRESENT, f"redirects to a media file ({target}); not followed")
        if str(target) in seen:
            return stop(Outcome.UNREACHABLE, f"redirect loop: {target} was visited before")
        if redirects >= self.checker.max_redirects:
            return stop(Outcome.UNREACHABLE, f"more than {self.checker.max_redirects} redirects")
        return target

    def judge(self, method: str, status: int, content_type: str | None) -> CheckResult:
        """Rule 5: the outcome of a final (non-redirect) answer."""
        words = f"the server answered {_status_words(status)}"
        if 200 <= status < 300:
            return self.result(Outcome.PRESENT, words, status=status, content_type=content_type)
        if status in _GONE:
            return self.result(Outcome.GONE, words, status=status, content_type=content_type)
        if method == "HEAD" and status in _HEAD_REFUSED:
            return self.result(
                Outcome.PRESENT,
                f"{words} to HEAD; a media file is never fetched with GET, so it is taken as "
                "still present",
                status=status,
                content_type=content_type,
            )
        if status in (401, 403):
            words += " (access denied: whether the content is still there is not known)"
        elif status == 429:
            words += " (too many requests: ask again later)"
        return self.result(Outcome.UNREACHABLE, words, status=status, content_type=content_type)

    def describe(self, exc: BaseException, host: str, port: int, ips: list[str]) -> str:
        """Plain words for a failed request."""
        checker = self.checker
        where = f"{host} ({', '.join(ips)}) port {port}"
        if isinstance(exc, _HeadTooLarge):
            return f"response headers over {checker.max_header_bytes} bytes"
        if isinstance(exc, httpcore.ConnectTimeout):
            return f"no connection to {where} within {checker.connect_timeout:g} s"
        if isinstance(exc, httpcore.ReadTimeout):
            return f"no answer from {where} within {checker.read_timeout:g} s"
        if isinstance(exc, httpcore.WriteTimeout):
            return f"could not send the request to {where} within {checker.read_timeout:g} s"
        for cause in _causes(exc):
            if isinstance(cause, ssl.SSLCertVerificationError):
                return f"TLS certificate of {host} not accepted: {cause.verify_message}"
            if isinstance(cause, ssl.SSLError):
                why = cause.reason.replace("_", " ").lower() if cause.reason else str(cause)
                return f"TLS with {host} failed: {why}"
            if isinstance(cause, ConnectionRefusedError):
                return f"{where} refused the connection"
            if isinstance(cause, ConnectionResetError):
                return f"{where} reset the connection"
            if isinstance(cause, socket.timeout):
                return f"{where} did not answer in time"
        if isinstance(exc, httpcore.RemoteProtocolError):
            if "without sending a response" in str(exc):
                return f"{where} closed the connection without answering"
            return f"the answer of {where} is not valid HTTP ({exc})"
        if isinstance(exc, httpcore.ConnectError):
            return f"could not connect to {where} ({exc})"
        if isinstance(exc, httpcore.ReadError | httpcore.WriteError):
            return f"the connection to {where} broke ({str(exc) or type(exc).__name__})"
        return f"request to {where} failed ({type(exc).__name__}: {exc})"
