"""One step of a crawl, pure of the database: take up to N entries of the frontier, fetch
each (text only, `fetcher.py`), extract what the page holds, and add the links worth following.

The rules of the walk:

- The recorded pathway comes first, in order, each hop with its recorded referrer (disguised
  sites show their real page only to a visitor who came the right way). A pathway hop is
  evidence like any page, but its links are not followed, and it does not count against the
  page limit.
- A link is followed only when it stays on the site: the same registrable domain as the site
  (`shop.example.com` and `www.example.com` are one site) or as a pathway hop; only `http` and
  `https`; never a URL whose path ends in a media extension; the fragment dropped and the URL
  normalised as the cases domain normalises URL selectors, so one page is fetched once.
- A link found at depth d is added at d + 1 if that is within the crawl's depth, with the page
  it was on as its referrer; the frontier never holds more than the pages left to fetch.
- Links are taken only from pages that answered 2xx with HTML or text.
- A page the extraction fails on is kept with that reason (and the failure logged); the crawl
  goes on.

What a page holds comes from `extract.extract_page` (or any function of that shape, given in);
the crawler only resolves and filters its links. Data URIs are cut out before extraction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from taskforce.cases.selectors import SelectorKind, normalise
from taskforce.commerce.fetcher import FetchedPage, Outcome, TextFetcher, is_media_url
from taskforce.commerce.fetcher import registrable_domain as domain_of
from taskforce.commerce.kinds import Extraction
from taskforce.commerce.sanitise import strip_data_uris
from taskforce.core.errors import Invalid

__all__ = ["STEP_PAGES", "STEP_SECONDS", "Crawled", "Extractor", "State", "Step", "follow", "step"]

_log = logging.getLogger(__name__)

STEP_PAGES = 10  # pages fetched in one step of the runner
STEP_SECONDS = 60.0  # no page started after this long into a step (each page has its deadline)

Extractor = Callable[..., Extraction]
"""`extract_page(html, *, url=...) -> Extraction`."""


@dataclass
class State:
    """What a step needs of a crawl (copied out of the row) and updates."""

    site_url: str
    depth: int
    page_limit: int
    pathway: Sequence[dict[str, Any]]
    frontier: list[dict[str, Any]]
    visited: list[str]
    pages_done: int = 0  # pages counted against the limit (pathway hops are not)

    @property
    def domains(self) -> frozenset[str]:
        """The registrable domains the crawl may follow links into."""
        urls = [self.site_url, *(hop["url"] for hop in self.pathway)]
        return frozenset(domain_of(httpx.URL(url).host) for url in urls)


@dataclass(frozen=True)
class Crawled:
    """One frontier entry, fetched: the page, what it holds, and where it came from."""

    entry: dict[str, Any]  # url, depth, referrer, pathway
    page: FetchedPage
    extraction: Extraction | None
    links_added: int = 0


@dataclass
class Step:
    crawled: list[Crawled] = field(default_factory=list)
    finished: bool = False


def follow(raw: str, base: str, domains: frozenset[str]) -> str | None:
    """The normalised URL a link leads to, if the crawl follows it (module docstring)."""
    raw = raw.strip()
    if not raw or len(raw) > 2000:
        return None
    try:
        target = httpx.URL(base).join(raw).copy_with(fragment=None)
    except (httpx.InvalidURL, ValueError):
        return None
    if target.scheme not in ("http", "https") or not target.host:
        return None
    if is_media_url(target) or domain_of(target.host) not in domains:
        return None
    try:
        return normalise(SelectorKind.URL, str(target)).value
    except Invalid:
        return None


def step(
    state: State,
    fetcher: TextFetcher,
    extract: Extractor | None,
    *,
    pages: int = STEP_PAGES,
    seconds: float | None = STEP_SECONDS,
    cookies: httpx.Cookies | None = None,
) -> Step:
    """Fetch up to `pages` frontier entries, starting no new one after `seconds` (so that a
    slow site does not hold the worker's round); `state` is updated in place (frontier,
    visited, pages_done). `finished` when nothing is left to fetch or the limit is reached."""
    jar = cookies if cookies is not None else httpx.Cookies()
    result = Step()
    domains = state.domains
    stop_at = None if seconds is None else time.monotonic() + seconds
    while state.frontier and len(result.crawled) < pages:
        if stop_at is not None and result.crawled and time.monotonic() >= stop_at:
            break
        entry = state.frontier[0]
        if not entry.get("pathway") and state.pages_done >= state.page_limit:
            break
        state.frontier.pop(0)
        url = entry["url"]
        if url in state.visited:
            continue
        state.visited.append(url)
        if not entry.get("pathway"):
            state.pages_done += 1
        page = fetcher.fetch(url, referrer=entry.get("referrer"), cookies=jar)
        extraction = None
        added = 0
        if page.outcome == Outcome.FETCHED and page.text is not None and extract is not None:
            html, _ = strip_data_uris(page.text)
            try:
                extraction = extract(html, url=page.final_url or url)
            except Exception as exc:  # a page must not stop the crawl; the bug is logged
                _log.exception("extraction failed on %s", url)
                why = f"{page.reason}; not searched for indicators ({type(exc).__name__})"
                page = replace(page, reason=why)
                result.crawled.append(Crawled(entry, page, None))
                continue
            if not entry.get("pathway") and page.status is not None and 200 <= page.status < 300:
                added = _add_links(state, entry, page, extraction, domains)
        result.crawled.append(Crawled(entry, page, extraction, added))
    result.finished = not state.frontier or (
        state.pages_done >= state.page_limit
        and not any(entry.get("pathway") for entry in state.frontier)
    )
    if result.finished:
        state.frontier.clear()
    return result


def _add_links(
    state: State,
    entry: dict[str, Any],
    page: FetchedPage,
    extraction: Extraction,
    domains: frozenset[str],
) -> int:
    depth = int(entry.get("depth", 0)) + 1
    if depth > state.depth:
        return 0
    known = set(state.visited) | {e["url"] for e in state.frontier}
    referrer = page.final_url or entry["url"]
    added = 0
    for raw in extraction.links:
        if state.pages_done + len(state.frontier) >= state.page_limit:
            break
        url = follow(raw, referrer, domains)
        if url is None or url in known:
            continue
        known.add(url)
        state.frontier.append({"url": url, "depth": depth, "referrer": referrer, "pathway": False})
        added += 1
    return added
