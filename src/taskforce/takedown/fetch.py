"""Re-checking a reported URL after a takedown notice: is the content still there?

After a notice goes to a hosting provider, a scheduler re-checks the reported URL until it is
gone. A re-check opens a connection to a place where abuse material was reported, on behalf of a
police agency or hotline, so it is built to learn one thing (status and headers) and nothing else:

1. Only `http` and `https` URLs are checked; any other scheme, or no host, is REFUSED with the
   reason. Non-default ports are allowed.
2. Every request goes through `core.outbound`, the SSRF-safe client that webhooks use too:
   before every connection (the first request and every redirect hop) the host is resolved with
   the given `Resolver` and EVERY address returned is judged by `core.resolver.refusal()`. If
   any one is refused the check is REFUSED and nothing is connected. The connection then goes to
   one of the addresses just checked, never to a second DNS answer (DNS rebinding). The original
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

import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import httpx

from taskforce.core.outbound import (
    Answer,
    Exchange,
    HostGone,
    Outbound,
    OutOfTime,
    Refused,
    Unreachable,
    status_words,
    url_problem,
)
from taskforce.core.resolver import Network, Resolver

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


# --- the check --------------------------------------------------------------------------------


def _is_media(url: httpx.URL) -> bool:
    """Judged on the decoded last path segment, without `;parameters` and trailing dots/spaces
    (which some servers ignore)."""
    segment = url.path.rsplit("/", 1)[-1].split(";", 1)[0].rstrip(". ")
    _, dot, extension = segment.rpartition(".")
    return bool(dot) and extension.lower() in MEDIA_EXTENSIONS


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
        if max_redirects < 0:
            raise ValueError(f"max_redirects must be 0 or more, not {max_redirects}")
        self.outbound = Outbound(
            resolver,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            total_timeout=total_timeout,
            max_header_bytes=max_header_bytes,
            allow_networks=allow_networks,
            verify_tls=verify_tls,
        )
        self.max_redirects = max_redirects
        self.user_agent = user_agent

    @property
    def resolver(self) -> Resolver:
        return self.outbound.resolver

    @property
    def total_timeout(self) -> float:
        return self.outbound.total_timeout

    @property
    def allow_networks(self) -> tuple[Network, ...]:
        return self.outbound.allow_networks

    def check(self, url: str) -> CheckResult:
        """Re-check one URL; never raises for anything the remote side does (rule 7)."""
        run = _Run(self, url)
        try:
            return run.check()
        finally:
            run.close()


class _Run:
    """The state of one check: its exchange (deadline, connections, cookies) and hops."""

    def __init__(self, checker: UrlChecker, url: str) -> None:
        self.checker = checker
        self.url = url
        self.started = time.monotonic()
        self.exchange: Exchange = checker.outbound.exchange()
        self.hops: list[Hop] = []
        self.headers = {
            "User-Agent": checker.user_agent,
            "Accept": "*/*",
            "Accept-Encoding": "identity",
            "Connection": "close",
        }

    def close(self) -> None:
        self.exchange.close()

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
        problem = url_problem(current)
        if problem is not None:
            return self.result(Outcome.REFUSED, problem)
        method = "HEAD" if _is_media(current) else "GET"
        seen = {str(current)}
        redirects = 0
        while True:
            answer = self.request(method, current)
            if isinstance(answer, CheckResult):
                return answer
            status, location, content_type = answer.status, answer.location, answer.content_type
            if status not in _REDIRECTS:
                return self.judge(method, status, content_type)
            if location is None:
                return self.result(
                    Outcome.UNREACHABLE,
                    f"the server answered {status_words(status)} without a Location header",
                    status=status,
                    content_type=content_type,
                )
            step = self.follow(current, location, seen, redirects, status, content_type)
            if isinstance(step, CheckResult):
                return step
            current = step
            seen.add(str(current))
            redirects += 1

    def request(self, method: str, url: httpx.URL) -> CheckResult | Answer:
        """One hop through the SSRF-safe exchange; its failures become this check's outcome."""
        self.hops.append(Hop(str(url), None, None))
        try:
            answer = self.exchange.send(method, url, headers=self.headers)
        except HostGone as exc:
            return self.result(Outcome.GONE, f"the host name no longer exists ({exc.reason})")
        except Refused as exc:
            return self.result(Outcome.REFUSED, exc.reason)
        except OutOfTime as exc:
            self.hops[-1] = Hop(str(url), exc.ip, None)
            return self.result(
                Outcome.UNREACHABLE,
                f"gave up: the whole check may take at most {self.checker.total_timeout:g} s",
            )
        except Unreachable as exc:
            self.hops[-1] = Hop(str(url), exc.ip, None)
            return self.result(Outcome.UNREACHABLE, exc.reason)
        self.hops[-1] = Hop(str(url), answer.ip, answer.status)
        return answer

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
        problem = url_problem(target)
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
        words = f"the server answered {status_words(status)}"
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
