"""Fetching one page of a commercial site, text only, through the SSRF-safe client.

A crawl opens pages of sites that sell abuse material, so the fetcher is built to take text
and nothing else, and to let no server reach past it:

1. Only `http` and `https` URLs are fetched; a URL whose path ends in a media extension
   (`takedown.fetch.MEDIA_EXTENSIONS`: images, video, audio, archives) is never requested.
2. Every request goes through `core.outbound` (`Exchange.fetch`): every address of every hop
   judged, the connection pinned to a judged address, nothing taken from the environment, one
   deadline (`page_seconds`) for the page and its redirects, enforced at the socket. An
   internal address is REFUSED with the reason; nothing is connected.
3. Redirects are followed here, hop by hop, at most `max_redirects`, each judged again; a loop
   or one too many FAILS with the reason; a redirect to a media URL is REFUSED, not followed.
4. A body is read only when the head declares `text/html`, `application/xhtml+xml` or
   `text/plain` (uncompressed); anything else is REFUSED before a byte of it is read. At most
   `page_bytes` are read (the page is marked truncated). The first bytes are then sniffed: a
   body that is an image, video, audio, archive, PDF or font (`filetype`), or holds NUL bytes,
   is REFUSED and discarded whatever its header claims; only its SHA-256 and size are kept.
5. Text is decoded with the charset the header declares, else a `<meta charset>` near the
   top, else UTF-8, with replacement characters for what does not decode.
6. The referrer given (the recorded pathway, or the page a link was on) is sent; cookies go
   only to the registrable domain that set them, from the crawl's own jar (never between
   sites, never from anywhere else); no JavaScript is run, nothing the page names is loaded.
7. Nothing a remote server does raises: every page ends as a `FetchedPage` whose `outcome`
   is fetched, refused or failed, with the reason in plain words.
"""

from __future__ import annotations

import codecs
import hashlib
import ipaddress
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import filetype
import httpx
from publicsuffixlist import PublicSuffixList

from taskforce.core.outbound import (
    Exchange,
    Fetched,
    HostGone,
    Outbound,
    OutOfTime,
    Refused,
    Unreachable,
    status_words,
    url_problem,
)
from taskforce.core.resolver import Resolver
from taskforce.takedown.fetch import MEDIA_EXTENSIONS

__all__ = [
    "TEXT_TYPES",
    "FetchedPage",
    "Outcome",
    "TextFetcher",
    "is_media_url",
    "registrable_domain",
]

TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
KEPT_HEADERS = (
    "content-type",
    "content-length",
    "content-language",
    "date",
    "last-modified",
    "etag",
    "server",
    "x-powered-by",
    "via",
    "x-cache",
    "cf-ray",
    "x-served-by",
    "location",
    "refresh",
)
"""Headers kept as evidence: what says who served the page and how (never cookies)."""

SNIFF_BYTES = 8192
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.I
)
_SUFFIXES = PublicSuffixList()


class Outcome(StrEnum):
    FETCHED = "fetched"
    REFUSED = "refused"
    FAILED = "failed"


@dataclass(frozen=True)
class FetchedPage:
    """One page as evidence: what was asked, what answered, and the text if it is kept."""

    url: str
    referrer: str | None
    outcome: Outcome
    reason: str  # plain words: why refused or failed, or the status for a fetched page
    final_url: str = ""
    status: int | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    ip: str | None = None
    hops: tuple[dict[str, Any], ...] = ()  # every request: url, ip, status
    body: bytes = b""  # as received (empty when refused or failed)
    sha256: str | None = None  # of the bytes as received, even when they were discarded
    body_bytes: int = 0
    truncated: bool = False
    charset: str | None = None
    text: str | None = None  # the decoded body of a fetched page


def is_media_url(url: httpx.URL) -> bool:
    """Whether a URL names a media file by its path's ending (judged like the re-checker:
    the decoded last segment without `;parameters` and trailing dots or spaces)."""
    segment = url.path.rsplit("/", 1)[-1].split(";", 1)[0].rstrip(". ")
    _, dot, extension = segment.rpartition(".")
    return bool(dot) and extension.lower() in MEDIA_EXTENSIONS


def registrable_domain(host: str) -> str:
    """The domain a brand registered (`shop.example.co.uk` → `example.co.uk`); an address or a
    bare suffix is its own."""
    host = host.strip("[]").removesuffix(".").lower()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return _SUFFIXES.privatesuffix(host) or host
    return host


def _cookie_domain(domain: str) -> str:
    return registrable_domain(domain.lstrip("."))


def sniff(head: bytes) -> str | None:
    """Why the first bytes of a body are not text, if they are not (rule 4)."""
    kind = filetype.guess(head)
    if kind is not None:
        return f"claims to be text but is {kind.mime} (by its first bytes); discarded"
    if b"\x00" in head:
        return "claims to be text but holds NUL bytes (binary); discarded"
    return None


def decode(body: bytes, content_type: str | None) -> tuple[str, str]:
    """The text of a body and the charset used (rule 5)."""
    declared = None
    if content_type:
        found = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", content_type, re.I)
        declared = found.group(1) if found else None
    if declared is None:
        meta = _META_CHARSET.search(body[:4096])
        declared = meta.group(1).decode("ascii") if meta else None
    charset = "utf-8"
    if declared:
        try:
            charset = codecs.lookup(declared).name
        except LookupError:
            charset = "utf-8"
    if charset in ("utf-16-le", "utf-16-be", "utf-16", "utf-32"):
        charset = "utf-8"  # a page that says so in ASCII is not UTF-16 (as the HTML standard)
    return body.decode(charset, errors="replace"), charset


class TextFetcher:
    """Fetches pages by the rules in the module docstring; one may be shared by threads (each
    `fetch` has its own exchange)."""

    def __init__(
        self,
        resolver: Resolver,
        *,
        allow_networks: Sequence[str] = (),
        page_bytes: int = 2_000_000,
        page_seconds: float = 20.0,
        max_redirects: int = 5,
        user_agent: str = "taskforce-crawler/1 (+text only; no images, scripts or media)",
        verify_tls: bool | ssl.SSLContext = True,
    ) -> None:
        if max_redirects < 0:
            raise ValueError(f"max_redirects must be 0 or more, not {max_redirects}")
        if page_bytes < 1:
            raise ValueError(f"page_bytes must be 1 or more, not {page_bytes}")
        self.outbound = Outbound(
            resolver,
            connect_timeout=min(5.0, page_seconds),
            read_timeout=min(10.0, page_seconds),
            total_timeout=page_seconds,
            allow_networks=allow_networks,
            verify_tls=verify_tls,
        )
        self.page_bytes = page_bytes
        self.page_seconds = page_seconds
        self.max_redirects = max_redirects
        self.user_agent = user_agent

    def fetch(
        self, url: str, *, referrer: str | None = None, cookies: httpx.Cookies | None = None
    ) -> FetchedPage:
        """One page, its redirects followed; never raises for what a server does (rule 7).
        `cookies` is the crawl's jar: read and added to, per registrable domain (rule 6)."""
        run = _Run(self, url, referrer, cookies if cookies is not None else httpx.Cookies())
        try:
            return run.fetch()
        finally:
            run.exchange.close()


class _Run:
    """One page: its exchange (deadline, connections) and hops."""

    def __init__(
        self, fetcher: TextFetcher, url: str, referrer: str | None, jar: httpx.Cookies
    ) -> None:
        self.fetcher = fetcher
        self.url = url
        self.referrer = referrer
        self.jar = jar
        self.exchange: Exchange = fetcher.outbound.exchange()
        self.hops: list[dict[str, Any]] = []

    def page(self, outcome: Outcome, reason: str, **more: Any) -> FetchedPage:
        final = self.hops[-1]["url"] if self.hops else self.url
        ip = self.hops[-1]["ip"] if self.hops else None
        values: dict[str, Any] = {"final_url": final, "ip": ip, "hops": tuple(self.hops)}
        values.update(more)
        return FetchedPage(self.url, self.referrer, outcome, reason, **values)

    def fetch(self) -> FetchedPage:
        try:
            current = httpx.URL(self.url).copy_with(fragment=None)
        except httpx.InvalidURL as exc:
            return self.page(Outcome.REFUSED, f"not a valid URL: {exc}")
        problem = self.judge_url(current)
        if problem is not None:
            return self.page(Outcome.REFUSED, problem)
        seen = {str(current)}
        while True:
            answer = self.request(current)
            if isinstance(answer, FetchedPage):
                return answer
            if answer.status not in _REDIRECTS:
                return self.result(answer)
            location = answer.location
            if location is None:
                return self.result(answer)
            try:
                target = current.join(location).copy_with(fragment=None)
            except httpx.InvalidURL as exc:
                return self.failed(answer, f"redirects to an invalid URL ({exc})")
            problem = self.judge_url(target)
            if problem is not None:
                return self.page(
                    Outcome.REFUSED, f"redirects to {target}: {problem}", **self.head(answer)
                )
            if str(target) in seen:
                return self.failed(answer, f"redirect loop: {target} was visited before")
            if len(self.hops) > self.fetcher.max_redirects:
                return self.failed(answer, f"more than {self.fetcher.max_redirects} redirects")
            seen.add(str(target))
            current = target

    @staticmethod
    def judge_url(url: httpx.URL) -> str | None:
        if url.scheme not in ("http", "https"):
            scheme = f"{url.scheme}: URLs" if url.scheme else "URLs without a scheme"
            return f"only http and https URLs are fetched, not {scheme}"
        problem = url_problem(url)
        if problem is not None:
            return problem
        if is_media_url(url):
            return "a media file by its name: never fetched (text only)"
        return None

    def headers(self) -> dict[str, str]:
        headers = {
            "User-Agent": self.fetcher.user_agent,
            "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9",
            "Connection": "close",
        }
        if self.referrer:
            headers["Referer"] = self.referrer
        return headers

    def request(self, url: httpx.URL) -> Fetched | FetchedPage:
        """One hop: cookies of its registrable domain only, in and out (rule 6)."""
        self.hops.append({"url": str(url), "ip": None, "status": None})
        domain = registrable_domain(url.host)
        self.exchange.cookies = httpx.Cookies()
        for cookie in self.jar.jar:
            if _cookie_domain(cookie.domain) == domain:
                self.exchange.cookies.jar.set_cookie(cookie)
        try:
            answer = self.exchange.fetch(
                url,
                headers=self.headers(),
                media_types=TEXT_TYPES,
                max_body_bytes=self.fetcher.page_bytes,
            )
        except HostGone as exc:
            return self.page(Outcome.FAILED, f"the host name does not exist ({exc.reason})")
        except Refused as exc:
            return self.page(Outcome.REFUSED, exc.reason)
        except OutOfTime as exc:
            self.hops[-1]["ip"] = exc.ip
            return self.page(
                Outcome.FAILED,
                f"gave up: a page, its redirects included, may take at most "
                f"{self.fetcher.page_seconds:g} s",
            )
        except Unreachable as exc:
            self.hops[-1]["ip"] = exc.ip
            return self.page(Outcome.FAILED, exc.reason)
        for cookie in self.exchange.cookies.jar:
            if _cookie_domain(cookie.domain) == domain:
                self.jar.jar.set_cookie(cookie)
        self.hops[-1].update(ip=answer.ip, status=answer.status)
        return answer

    @staticmethod
    def head(answer: Fetched) -> dict[str, Any]:
        kept = {name: answer.headers[name][:500] for name in KEPT_HEADERS if name in answer.headers}
        return {
            "status": answer.status,
            "content_type": (answer.content_type or "")[:200] or None,
            "headers": kept,
        }

    def failed(self, answer: Fetched, reason: str) -> FetchedPage:
        return self.page(Outcome.FAILED, reason, **self.head(answer))

    def result(self, answer: Fetched) -> FetchedPage:
        """The final answer judged (rule 4)."""
        head = self.head(answer)
        words = f"the server answered {status_words(answer.status)}"
        if answer.status in _REDIRECTS:
            return self.failed(answer, f"{words} without a Location header")
        if answer.unread is not None:
            return self.page(Outcome.REFUSED, f"{words}; not read: {answer.unread}", **head)
        body = answer.body
        digest = hashlib.sha256(body).hexdigest()
        sizes = {"sha256": digest, "body_bytes": len(body), "truncated": answer.truncated}
        why = sniff(body[:SNIFF_BYTES])
        if why is not None:
            return self.page(Outcome.REFUSED, why, **head, **sizes)
        text, charset = decode(body, answer.content_type)
        if answer.truncated:
            words += f"; cut at {self.fetcher.page_bytes} bytes (the rest was not read)"
        return self.page(
            Outcome.FETCHED, words, **head, **sizes, body=body, charset=charset, text=text
        )
