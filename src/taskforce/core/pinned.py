"""The network stack under `core.outbound`: httpcore streams and a backend that connect a host
only to the addresses pinned for it, give every socket operation at most the time the exchange
has left (the TLS handshake included, over memory buffers), and stop reading an answer's head
past a size limit. Nothing here decides what may be reached; `core.outbound` does, and is the
only user of this module.
"""

from __future__ import annotations

import functools
import re
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import httpcore
import httpx
from typing_extensions import override

_HEAD_READ_BYTES = 4096
_TLS_RECORD_BYTES = 16384
_END_OF_HEAD = re.compile(rb"\n\r?\n")  # what h11 takes as the blank line after the headers
_INTERIM_HEAD = re.compile(rb"HTTP/\d(?:\.\d)? +1\d\d\b")


# --- time and size limits at the socket ---------------------------------------------------------


class OutOfTimeSignal(Exception):
    """The deadline has passed (`core.outbound.Exchange` turns it into `OutOfTime`)."""


class HeadTooLarge(Exception):
    """The response head grew past the limit before it ended."""


class _NotPinned(RuntimeError):
    """httpcore asked to connect to a host that was not judged: a bug, never a fallback to DNS."""


class Budget:
    """The time one exchange has left."""

    def __init__(self, total: float) -> None:
        self.total = total
        self.deadline = time.monotonic() + total

    def left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise OutOfTimeSignal
        return left

    def grant(self, timeout: float | None) -> tuple[float, bool]:
        """Seconds an operation may take, and whether the deadline (not its own timeout) set it."""
        left = self.left()
        if timeout is None or left <= timeout:
            return left, True
        return timeout, False


_T = TypeVar("_T")


def _within(budget: Budget, timeout: float | None, operation: Callable[[float], _T]) -> _T:
    granted, by_deadline = budget.grant(timeout)
    try:
        return operation(granted)
    except httpcore.TimeoutException:
        if by_deadline:
            raise OutOfTimeSignal from None
        raise


class _SocketStream(httpcore.NetworkStream):
    """A TCP stream whose every operation gets min(its own timeout, the time left)."""

    def __init__(
        self, inner: httpcore.NetworkStream, budget: Budget, tls_context: ssl.SSLContext
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

    @override
    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # Our context, not the one httpcore passes: httpcore sets ALPN on the pool's context
        # before every connection, and changing a context that other threads' exchanges use is
        # not safe. The pool gets a throwaway context instead (see PinnedTransport).
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

    @override
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


class BodyMeter:
    """How much of a body may be read from the socket, and how much was: once `limit` bytes
    after the head have been read, the stream reads no more (it answers as if closed)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.read = 0

    @property
    def capped(self) -> bool:
        return self.read >= self.limit


class _HeadStream(httpcore.NetworkStream):
    """What httpcore reads the answer from: counts the head and keeps reads small until it ends;
    then, with a `BodyMeter`, reads at most its limit of the body."""

    def __init__(
        self, inner: httpcore.NetworkStream, limit: int, meter: BodyMeter | None = None
    ) -> None:
        self._inner = inner
        self._limit = limit
        self._meter = meter
        self._head = bytearray()
        self._start = 0  # where the head being read begins (after any 1xx heads)
        self._done = False

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._done:
            meter = self._meter
            if meter is None:
                return self._inner.read(max_bytes, timeout)
            if meter.capped:
                return b""
            data = self._inner.read(min(max_bytes, meter.limit - meter.read), timeout)
            meter.read += len(data)
            return data
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
                    raise HeadTooLarge
                return
            if end.end() > self._limit:
                raise HeadTooLarge
            if _INTERIM_HEAD.match(self._head, self._start):
                self._start = search_from = end.end()
                continue
            self._done = True
            if self._meter is not None:  # body bytes that came with the end of the head
                self._meter.read += len(self._head) - end.end()
            self._head = bytearray()
            return

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    @override
    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _HeadStream(
            self._inner.start_tls(ssl_context, server_hostname, timeout), self._limit, self._meter
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class PinnedBackend(httpcore.NetworkBackend):
    """Connects a host only to the addresses pinned for it: the ones that were just judged."""

    def __init__(self, budget: Budget, head_limit: int, tls_context: ssl.SSLContext) -> None:
        self._budget = budget
        self._head_limit = head_limit
        self._tls_context = tls_context
        self._sync = httpcore.SyncBackend()
        self._pins: dict[str, list[str]] = {}
        self.connected_ip: str | None = None
        self.meter: BodyMeter | None = None  # set for a capped body read; None: unmetered

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
            raise _NotPinned(f"connection to {host!r}, which was not resolved and judged")
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for ip in ips:  # every one of them was judged; try the next if one does not answer
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
            return _HeadStream(raw, self._head_limit, self.meter)
        assert failure is not None
        raise failure

    @override
    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise _NotPinned("outbound requests never use Unix sockets")

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


class PinnedTransport(httpx.BaseTransport):
    """httpx over an httpcore pool that connects through the pinned backend and keeps nothing."""

    def __init__(self, backend: PinnedBackend) -> None:
        self._pool = httpcore.ConnectionPool(
            # never used for TLS (the backend uses the Outbound's); httpcore may change it freely
            ssl_context=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT),
            max_keepalive_connections=0,  # every request gets a new connection to its pinned ip
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


def causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


NETWORK_FAILURES = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.ProxyError,
    httpcore.UnsupportedProtocol,
    OSError,
)
