"""Crawls run by the background worker through `core.jobs`, a step at a time.

A crawl due for its next step (`next_step_at`, queued or running) is claimed with a lease; the
step (up to `crawler.STEP_PAGES` pages: fetch, extract) runs outside any transaction; then the
pages, what they hold, the frontier left and the counts are recorded in one transaction. While
pages remain the crawl is due again at once; when none remain it is done (or failed, when not
one page could be fetched), and its site learns when it was crawled, where its landing page
answered from and, if it is recrawled, when next. A worker that dies mid-step records nothing:
the lease runs out and the step is run again from the frontier last recorded, so an
interrupted crawl resumes where it stopped.

Cookies live for one step (the pathway is replayed in the first step, with the landing page).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session, sessionmaker

from taskforce.commerce import crawler
from taskforce.commerce.crawler import Extractor, State, Step
from taskforce.commerce.extract import extract_page
from taskforce.commerce.fetcher import TextFetcher
from taskforce.commerce.models import CommerceCrawl, CommercePage, CommerceSite
from taskforce.commerce.recording import record_page
from taskforce.core.db import unit_of_work, utcnow
from taskforce.core.jobs import runner as jobs
from taskforce.core.resolver import Resolver, make_resolver
from taskforce.core.settings import Settings

__all__ = [
    "Claim",
    "crawl_job",
    "default_extractor",
    "make_fetcher",
    "record_step",
    "run_until_done",
]

LEASE = timedelta(minutes=15)  # a step: at most STEP_PAGES pages of page_seconds each, and more
ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class Claim:
    crawl_id: uuid.UUID
    state: State


def make_fetcher(settings: Settings, resolver: Resolver | None = None) -> TextFetcher:
    """The crawler's fetcher as the settings say (the settings' resolver unless one is given)."""
    return TextFetcher(
        resolver or make_resolver(settings),
        allow_networks=settings.commerce_crawl_allow_networks,
        page_bytes=settings.commerce_page_bytes,
        page_seconds=settings.commerce_page_seconds,
    )


def default_extractor() -> Extractor:
    """What the crawl searches each page with: `extract.extract_page`."""
    return extract_page


def _take(crawl: CommerceCrawl) -> Claim:
    """What a step needs, copied out of the claimed row (and its site, for the domains)."""
    session = object_session(crawl)
    assert session is not None
    site = session.get(CommerceSite, crawl.site_id)
    assert site is not None
    hop_urls = {hop["url"] for hop in crawl.pathway}
    return Claim(
        crawl.id,
        State(
            site_url=site.url,
            depth=crawl.depth,
            page_limit=crawl.page_limit,
            pathway=[dict(hop) for hop in crawl.pathway],
            frontier=[dict(entry) for entry in crawl.frontier],
            visited=list(crawl.visited),
            pages_done=sum(1 for url in crawl.visited if url not in hop_urls),
        ),
    )


def crawl_job(
    settings: Settings,
    fetcher: TextFetcher,
    *,
    extract: Extractor | None = None,
    only: uuid.UUID | None = None,
    pages: int = crawler.STEP_PAGES,
) -> jobs.Job[CommerceCrawl, Claim, Step]:
    """Crawl steps as a background job (module docstring); `only`: one crawl's steps."""
    extractor = extract or extract_page

    def due(now: datetime) -> list[Any]:
        conditions = [
            CommerceCrawl.status.in_(ACTIVE),
            CommerceCrawl.next_step_at.is_not(None),
            CommerceCrawl.next_step_at <= now,
        ]
        if only is not None:
            conditions.append(CommerceCrawl.id == only)
        return conditions

    def work(claim: Claim) -> Step:
        return crawler.step(claim.state, fetcher, extractor, pages=pages, cookies=httpx.Cookies())

    return jobs.Job(
        name="commerce.crawl",
        model=CommerceCrawl,
        lease_column=CommerceCrawl.next_step_at,
        lease=LEASE,
        due=due,
        order=(CommerceCrawl.next_step_at, CommerceCrawl.id),
        take=_take,
        work=work,
        record=lambda session, claim, step, now: record_step(session, settings, claim, step, now),
    )


def record_step(
    session: Session, settings: Settings, claim: Claim, step: Step, now: datetime
) -> bool:
    """The pages of one step, the frontier left and the counts, in the caller's transaction."""
    crawl = session.get(CommerceCrawl, claim.crawl_id)
    if crawl is None or crawl.status not in ACTIVE:
        return False
    site = session.get(CommerceSite, crawl.site_id)
    assert site is not None
    if crawl.status == "queued":
        crawl.status = "running"
        crawl.started_at = now
    for item in step.crawled:
        entry = item.entry
        record_page(
            session,
            crawl,
            site,
            item.page,
            item.extraction,
            now,
            depth=int(entry.get("depth", 0)),
            pathway_hop=bool(entry.get("pathway")),
            kept_html_bytes=settings.commerce_kept_html_bytes,
        )
        if entry["url"] == site.url and not entry.get("pathway") and item.page.ip:
            site.last_ip = item.page.ip
    crawl.frontier = list(claim.state.frontier)
    crawl.visited = list(claim.state.visited)
    if step.finished:
        _finish(session, crawl, site, now)
    else:
        crawl.next_step_at = now
    session.flush()
    return bool(step.crawled) or step.finished


def _finish(session: Session, crawl: CommerceCrawl, site: CommerceSite, now: datetime) -> None:
    crawl.next_step_at = None
    crawl.finished_at = now
    counts = (
        f"{crawl.pages_fetched} fetched, {crawl.pages_refused} refused, "
        f"{crawl.pages_failed} failed; {crawl.indicators_found} indicators, "
        f"{crawl.wallets_rejected} wallet-like strings with bad checksums"
    )
    if crawl.pages_fetched == 0:
        landing = session.scalar(
            select(CommercePage.reason)
            .where(CommercePage.crawl_id == crawl.id, CommercePage.pathway_hop.is_(False))
            .order_by(CommercePage.depth, CommercePage.fetched_at)
            .limit(1)
        )
        why = f"; the landing page: {landing}" if landing else ""
        crawl.status = "failed"
        crawl.detail = f"no page could be fetched ({counts}){why}"[:1000]
    else:
        crawl.status = "done"
        crawl.detail = counts[:1000]
    site.last_crawled_at = now
    if site.recrawl_days:
        site.next_crawl_at = now + timedelta(days=site.recrawl_days)


@dataclass(frozen=True)
class Progress:
    pages_done: int
    page_limit: int
    status: str


def run_until_done(
    factory: sessionmaker[Session],
    settings: Settings,
    fetcher: TextFetcher,
    crawl_id: uuid.UUID,
    now: datetime | None = None,
    *,
    extract: Extractor | None = None,
    progress: Callable[[Progress], None] | None = None,
    max_steps: int = 10_000,
) -> Progress:
    """Step one crawl in this process until it is finished (tests, the CLI, the demo)."""
    now = now or utcnow()
    job = crawl_job(settings, fetcher, extract=extract, only=crawl_id)
    state = _progress(factory, crawl_id)
    for _ in range(max_steps):
        run = jobs.run(factory, job, limit=1, now=now)
        state = _progress(factory, crawl_id)
        if progress is not None:
            progress(state)
        if run.claimed == 0 or state.status not in ACTIVE:
            break
    return state


def _progress(factory: sessionmaker[Session], crawl_id: uuid.UUID) -> Progress:
    with unit_of_work(factory) as session:
        crawl = session.get(CommerceCrawl, crawl_id)
        if crawl is None:
            raise LookupError(f"no crawl {crawl_id}")
        done = crawl.pages_fetched + crawl.pages_refused + crawl.pages_failed
        return Progress(done, crawl.page_limit, crawl.status)
