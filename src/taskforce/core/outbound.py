"""Outbound HTTP that can reach nothing internal: the one way taskforce connects to a URL that
someone else chose (a reported URL under re-check, an agency's webhook).

Such a URL may point anywhere — at the hub's database, a cloud metadata service, an admin page
on the loopback interface — so every request made here keeps these rules:

1. Only `http` and `https` URLs with a valid host and port are used (`url_problem`).
2. Before every connection the host is turned into addresses and EVERY address is judged by
   `core.resolver.refusal()`; if any one is refused, nothing is connected (`Refused`). A host
   written as a number in any form a C library accepts (`2130706433`, `0x7f.1`, `0177.0.0.1`) is
   that address (WHATWG URL rules), never a name for a resolver to interpret; IPv4 wrapped in
   IPv6 (`[::ffff:127.0.0.1]`, NAT64, 6to4) is judged by the IPv4 address inside.
3. The connection goes to one of the addresses just judged, never to a second DNS answer (DNS
   rebinding): the network backend maps the host to the pinned addresses and has no other way
   to connect. The host name stays in the Host header, the TLS SNI and the certificate check.
   Nothing is taken from the environment (no proxy, no CA bundle, no .netrc), user:password in
   a URL is not sent, and cookies live only for the requests of one `Exchange`.
4. Redirects are never followed here: the caller sees the 3xx and decides (the re-checker
   follows them hop by hop, each hop judged again by rule 2; a webhook does not follow them).
5. The status line and headers are read, at most `max_header_bytes` of them (interim 1xx
   heads included), in reads of at most 4 KiB. `send` never reads the body. `fetch` (the
   commercial-site crawler's text-only GET) reads a body only after looking at the head: not
   for a 3xx answer, not when its Content-Type is missing or not one of the media types the
   caller allows, not when it is compressed (`Accept-Encoding: identity` is sent; a
   Content-Encoding other than identity is refused), and then at most `max_body_bytes` of it
   (and one byte more, to know that the body went on): the socket is read no further, the
   rest is never read. The connection is closed after every request.
6. Time is bounded: each connect and each read has its own timeout, and one `Exchange` (all its
   requests) has a hard deadline (`total_timeout`) enforced at the socket — every operation, the
   TLS handshake included, gets at most the time left — so a server that trickles bytes cannot
   hold it longer. (A resolver call cannot be interrupted; `SystemResolver` has its own limit.)
7. Whatever the remote side does ends in an `OutboundError` with the reason in plain words; only
   programming errors raise anything else.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus

import httpcore
import httpx

from taskforce.core.pinned import (
    NETWORK_FAILURES,
    BodyMeter,
    Budget,
    HeadTooLarge,
    OutOfTimeSignal,
    PinnedBackend,
    PinnedTransport,
    causes,
)
from taskforce.core.resolver import HostNotFound, Network, ResolveFailed, Resolver, refusal

__all__ = [
    "Answer",
    "Exchange",
    "Fetched",
    "HostGone",
    "OutOfTime",
    "Outbound",
    "OutboundError",
    "Refused",
    "Unreachable",
    "configured_url_problem",
    "media_type",
    "numeric_ipv4",
    "parse_networks",
    "status_words",
    "url_problem",
]

# --- what can go wrong ------------------------------------------------------------------------


class OutboundError(Exception):
    """A request that did not get an answer; `reason` says why in plain words."""

    def __init__(self, reason: str, *, ip: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ip = ip
        """The address connected to, if a connection was made."""


class Refused(OutboundError):
    """Not connected: the URL is unusable or its host is (or resolves to) an address that may
    not be reached. Asking again will not help until the URL or DNS changes."""


class HostGone(OutboundError):
    """The host name does not exist (the resolver said so): nothing was connected."""


class Unreachable(OutboundError):
    """Tried and failed: the resolver failed, or the connection, TLS, or the answer did."""


class OutOfTime(Unreachable):
    """The exchange's deadline passed."""


# --- URLs and hosts ---------------------------------------------------------------------------

_HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?", re.IGNORECASE)
_NUMBER_PART = re.compile(r"(?:0[xX][0-9a-fA-F]*|[0-9]+)")


def numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host written as numbers stands for, by the WHATWG URL standard's IPv4
    parser (what browsers and C's `inet_aton` accept): `2130706433`, `0x7f.1`, `0177.0.0.1` are
    all 127.0.0.1. None when the host is a name (its last label is not a number); ValueError when
    it ends in a number but is no address (`1.2.3.999`).
    """
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()  # one trailing dot
    if not parts or not _NUMBER_PART.fullmatch(parts[-1]):
        return None
    if len(parts) > 4:
        raise ValueError(f"{host!r} ends in a number but has more than four parts")
    numbers: list[int] = []
    for part in parts:
        if not _NUMBER_PART.fullmatch(part):
            raise ValueError(f"{host!r} ends in a number but {part!r} is not one")
        if part[:2].lower() == "0x":
            numbers.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            if any(c in "89" for c in part):
                raise ValueError(f"{host!r}: {part!r} is not an octal number")
            numbers.append(int(part, 8))
        else:
            numbers.append(int(part))
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        raise ValueError(f"{host!r} is out of range for an IPv4 address")
    value = last
    for index, n in enumerate(leading):
        value += n << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def url_problem(url: httpx.URL) -> str | None:
    """What makes an http(s) URL unusable, if anything (its scheme is the caller's to judge).

    httpx percent-encodes what it cannot take in a host, and accepts any port number; such a URL
    is simply bad.
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
        try:
            numeric_ipv4(host)
        except ValueError:
            return f"the URL's host {host!r} is not a valid IPv4 address"
    if url.port is not None and not 0 < url.port < 65536:
        return f"the URL's port {url.port} is not a port number (1 to 65535)"
    return None


_LOCAL_ONLY = ("localhost", "local", "internal", "home.arpa")  # RFC 6761, 6762, 8375; ICANN


def configured_url_problem(text: str, allow_networks: Sequence[Network] = ()) -> str | None:
    """Why a URL someone configures for taskforce to call (an agency's webhook) can never be
    used, judged without DNS, so the person setting it is told at once; None if it may be.

    Names are resolved and judged again at every request (rule 2): DNS can change after this.
    """
    try:
        url = httpx.URL(text.strip())
    except httpx.InvalidURL as exc:
        return f"must be a valid URL ({exc})"
    if url.scheme not in ("http", "https") or not url.raw_host:
        return "must be an http(s) URL with a host, like https://hooks.example.org/taskforce"
    problem = url_problem(url)
    if problem is not None:
        return problem.replace("the URL's ", "its ")
    if url.userinfo:
        return (
            "must not hold a user name or password (they are never sent); "
            "put a secret token in the path instead"
        )
    host = url.raw_host.decode("ascii").removesuffix(".").lower()
    try:
        literal: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = numeric_ipv4(host)  # url_problem refused the invalid ones
    if literal is not None:
        why = refusal(str(literal), allow_networks)
        return None if why is None else f"is an address taskforce does not reach ({why})"
    if any(host == name or host.endswith("." + name) for name in _LOCAL_ONLY):
        return f"names a local-only host ({host}), which taskforce does not reach"
    if "." not in host:
        return "must name its host in full (a name without a dot is looked up in local domains)"
    return None


def status_words(status: int) -> str:
    """`404 Not Found`; just the number for a status HTTP does not name."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def parse_networks(networks: Sequence[str], field: str = "allow_networks") -> tuple[Network, ...]:
    """Address blocks from settings text; ValueError naming the field for a bad one."""
    if isinstance(networks, str):
        raise ValueError(f"{field} must be a list of networks, not one string")
    parsed = []
    for text in networks:
        try:
            parsed.append(ipaddress.ip_network(text, strict=False))
        except ValueError as exc:
            raise ValueError(f"{field}: {text!r} is not an IP network ({exc})") from None
    return tuple(parsed)


# --- the client -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """The head of one answer: its status, headers and the address it came from."""

    status: int
    headers: httpx.Headers
    ip: str | None

    @property
    def location(self) -> str | None:
        locations = self.headers.get_list("location")
        return locations[0] if locations else None

    @property
    def content_type(self) -> str | None:
        value: str | None = self.headers.get("content-type")
        return value


@dataclass(frozen=True)
class Fetched(Answer):
    """The head of one answer and as much of its body as was read (rule 5): `unread` says why
    no body byte was read, `truncated` that the body went on past the cap."""

    body: bytes = b""
    truncated: bool = False
    unread: str | None = None

    @property
    def media_type(self) -> str | None:
        return media_type(self.content_type)


def media_type(content_type: str | None) -> str | None:
    """`text/html` of `Text/HTML; charset=utf-8`; None when there is none."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


class Outbound:
    """The limits and the resolver every outbound request goes through (rules in the module
    docstring). One may be shared by threads: each `Exchange` has its own connections, deadline
    and cookies."""

    def __init__(
        self,
        resolver: Resolver,
        *,
        connect_timeout: float = 5,
        read_timeout: float = 5,
        total_timeout: float = 15,
        max_header_bytes: int = 32_768,
        allow_networks: Sequence[str] = (),
        verify_tls: bool | ssl.SSLContext = True,
    ) -> None:
        for field, seconds in (
            ("connect_timeout", connect_timeout),
            ("read_timeout", read_timeout),
            ("total_timeout", total_timeout),
        ):
            if not seconds > 0:
                raise ValueError(f"{field} must be more than 0 seconds, not {seconds}")
        if max_header_bytes < 1:
            raise ValueError(f"max_header_bytes must be 1 or more, not {max_header_bytes}")
        self.resolver = resolver
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total_timeout = total_timeout
        self.max_header_bytes = max_header_bytes
        self.allow_networks = parse_networks(allow_networks)
        self.ssl_context = self._make_ssl_context(verify_tls)

    @staticmethod
    def _make_ssl_context(verify_tls: bool | ssl.SSLContext) -> ssl.SSLContext:
        """httpx's roots (certifi), never a CA bundle named by the environment; a context given is
        used as it is (a lab's own CA)."""
        if isinstance(verify_tls, ssl.SSLContext):
            return verify_tls
        return httpx.create_ssl_context(verify=verify_tls, trust_env=False)

    def exchange(self) -> Exchange:
        """Requests that share one deadline and one cookie jar; close it (or use `with`)."""
        return Exchange(self)

    def addresses(self, host: str) -> list[str]:
        """The addresses of a host, judged: rule 2. Raises `Refused`, `HostGone`, `Unreachable`."""
        try:
            number = None if ":" in host else numeric_ipv4(host)  # IPv6 literals have colons
        except ValueError as exc:
            raise Refused(f"the URL's host is not a valid IPv4 address ({exc})") from None
        if number is not None:
            ips = [str(number)]
        else:
            try:
                ips = self.resolver.resolve(host)
            except HostNotFound as exc:
                raise HostGone(f"{exc}; asked {self.resolver.name}") from None
            except ResolveFailed as exc:
                raise Unreachable(f"could not resolve {host}: {exc.reason}") from None
        if not ips:
            raise Unreachable(f"{self.resolver.name} gave no address for {host}")
        refused = [why for ip in ips if (why := refusal(ip, self.allow_networks))]
        if refused:
            raise Refused(
                f"not connected: {host} resolves to an address taskforce does not reach "
                f"({'; '.join(refused)})"
            )
        return ips


class Exchange:
    """One or more requests under one deadline (a re-check and its redirects, one webhook)."""

    def __init__(self, outbound: Outbound) -> None:
        self.outbound = outbound
        self.budget = Budget(outbound.total_timeout)
        self.backend = PinnedBackend(self.budget, outbound.max_header_bytes, outbound.ssl_context)
        # No httpx.Client: requests go straight to the pinned transport, so nothing is taken from
        # the environment (proxies, CA bundles, .netrc) and httpx follows no redirect by itself.
        self.transport = PinnedTransport(self.backend)
        self.cookies = httpx.Cookies()  # for the requests of this exchange only
        self.timeouts = httpx.Timeout(
            connect=outbound.connect_timeout,
            read=outbound.read_timeout,
            write=outbound.read_timeout,
            pool=outbound.connect_timeout,
        ).as_dict()

    def __enter__(self) -> Exchange:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    def _out_of_time(self, ip: str | None = None) -> OutOfTime:
        return OutOfTime(
            f"gave up: at most {self.outbound.total_timeout:g} s for the whole exchange", ip=ip
        )

    def send(
        self,
        method: str,
        url: httpx.URL,
        *,
        headers: Mapping[str, str],
        content: bytes | None = None,
    ) -> Answer:
        """One request to an http(s) URL that `url_problem` accepted: resolve, judge every
        address, connect to a judged one, send, read the head only, close."""
        response, request, _, _, _ = self._open(method, url, headers, content)
        try:
            response.request = request
            self.cookies.extract_cookies(response)
            return Answer(response.status_code, response.headers, self.backend.connected_ip)
        finally:
            response.close()  # unread (rule 5)

    def _open(
        self, method: str, url: httpx.URL, headers: Mapping[str, str], content: bytes | None
    ) -> tuple[httpx.Response, httpx.Request, str, int, list[str]]:
        """Rules 1 to 3 and 6: the answer's head, read; the body still on the wire."""
        if url.scheme not in ("http", "https"):
            raise Refused(f"only http and https URLs are used, not {url.scheme or 'no'} scheme")
        problem = url_problem(url)
        if problem is not None:
            raise Refused(problem)
        host = url.raw_host.decode("ascii")
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            self.budget.left()
            ips = self.outbound.addresses(host)
            self.budget.left()
        except OutOfTimeSignal:
            raise self._out_of_time() from None
        self.backend.pin(host, ips)
        try:
            request = httpx.Request(
                method,
                url,  # user:password is not sent: the transport takes host, port and path only
                headers=dict(headers),
                cookies=self.cookies,
                content=content,
                extensions={"timeout": self.timeouts},
            )
            response = self.transport.handle_request(request)
        except OutOfTimeSignal:
            raise self._out_of_time(self.backend.connected_ip) from None
        except (HeadTooLarge, *NETWORK_FAILURES) as exc:
            ip = self.backend.connected_ip
            raise Unreachable(self._describe(exc, host, port, ips), ip=ip) from None
        return response, request, host, port, ips

    def fetch(
        self,
        url: httpx.URL,
        *,
        headers: Mapping[str, str],
        media_types: Collection[str],
        max_body_bytes: int,
    ) -> Fetched:
        """A GET whose body is read only when the head allows it, and capped (rule 5): the
        head as `send` reads it, then the body of a non-3xx answer whose media type is one of
        `media_types`, at most `max_body_bytes` of it. Raises what `send` raises; a deadline
        passed while the body trickles in is `OutOfTime`."""
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be 1 or more, not {max_body_bytes}")
        allowed = {t.lower() for t in media_types}
        sent = {**headers, "Accept-Encoding": "identity"}
        meter = BodyMeter(max_body_bytes + 1)  # one byte more tells a longer body
        self.backend.meter = meter
        try:
            response, request, host, port, ips = self._open("GET", url, sent, None)
        finally:
            self.backend.meter = None
        try:
            response.request = request
            self.cookies.extract_cookies(response)
            ip = self.backend.connected_ip
            status, answer_headers = response.status_code, response.headers
            unread = self._unread(status, answer_headers, allowed)
            if unread is not None:
                return Fetched(status, answer_headers, ip, unread=unread)
            body = bytearray()
            truncated = False
            try:
                for chunk in response.iter_raw():
                    body += chunk
                    if len(body) > max_body_bytes:
                        truncated = True
                        del body[max_body_bytes:]
                        break
            except OutOfTimeSignal:
                raise self._out_of_time(ip) from None
            except NETWORK_FAILURES as exc:
                if meter.capped:  # the stream stopped reading at the cap: not the server's end
                    del body[max_body_bytes:]
                    return Fetched(status, answer_headers, ip, bytes(body), True)
                reason = self._describe(exc, host, port, ips)
                raise Unreachable(f"while reading the body: {reason}", ip=ip) from None
            return Fetched(status, answer_headers, ip, bytes(body), truncated)
        finally:
            response.close()  # the rest unread (rule 5)

    @staticmethod
    def _unread(status: int, headers: httpx.Headers, allowed: set[str]) -> str | None:
        """Why the body of this answer is not read, if it is not (rule 5)."""
        if 300 <= status < 400:
            return f"a redirect ({status_words(status)}): its body is not read"
        kind = media_type(headers.get("content-type"))
        if kind is None:
            return "the answer names no Content-Type: only declared text is read"
        if kind not in allowed:
            return f"Content-Type {kind} is not one of {', '.join(sorted(allowed))}"
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            return f"the body is compressed ({encoding}) although identity was asked for"
        return None

    def _describe(self, exc: BaseException, host: str, port: int, ips: list[str]) -> str:
        """Plain words for a failed request."""
        outbound = self.outbound
        where = f"{host} ({', '.join(ips)}) port {port}"
        if isinstance(exc, HeadTooLarge):
            return f"response headers over {outbound.max_header_bytes} bytes"
        if isinstance(exc, httpcore.ConnectTimeout):
            return f"no connection to {where} within {outbound.connect_timeout:g} s"
        if isinstance(exc, httpcore.ReadTimeout):
            return f"no answer from {where} within {outbound.read_timeout:g} s"
        if isinstance(exc, httpcore.WriteTimeout):
            return f"could not send the request to {where} within {outbound.read_timeout:g} s"
        for cause in causes(exc):
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
