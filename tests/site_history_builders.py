"""Sites and finished crawls written straight through the models, for the tests of recrawls
and changes (they do not wait for the crawler): each page with the indicators sighted on it."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import commerce_builders
from sqlalchemy.orm import Session

from taskforce.commerce.models import (
    CommerceCrawl,
    CommercePage,
    CommerceSighting,
    CommerceSite,
)
from taskforce.core.caller import Caller


@dataclass(frozen=True)
class Page:
    url: str
    status: int | None = 200
    outcome: str = "fetched"
    reason: str = ""
    found: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)  # (kind, value, detail)


def make_site(
    session: Session,
    caller: Caller,
    url: str = "https://shop.example/",
    *,
    recrawl_days: int | None = None,
    next_crawl_at: datetime | None = None,
    last_crawled_at: datetime | None = None,
    status: str = "active",
) -> CommerceSite:
    assert caller.agency_id is not None
    host = url.split("/")[2]
    site = CommerceSite(
        owner_agency_id=caller.agency_id,
        url=url,
        host=host,
        registrable_domain=host,
        recrawl_days=recrawl_days,
        next_crawl_at=next_crawl_at,
        last_crawled_at=last_crawled_at,
        status=status,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    session.add(site)
    session.flush()
    return site


def make_crawl(
    session: Session,
    site: CommerceSite,
    at: datetime,
    pages: list[Page],
    *,
    status: str = "done",
    reason: str = "manual",
) -> CommerceCrawl:
    """A crawl that started at `at` and finished ten minutes later, with its pages."""
    finished = at + timedelta(minutes=10) if status in ("done", "failed") else None
    crawl = CommerceCrawl(
        site_id=site.id,
        owner_agency_id=site.owner_agency_id,
        reason=reason,
        requested_at=at,
        status=status,
        started_at=at,
        finished_at=finished,
        next_step_at=None if finished else at,
    )
    session.add(crawl)
    session.flush()
    for number, page in enumerate(pages):
        row = CommercePage(
            id=uuid.uuid4(),
            crawl_id=crawl.id,
            site_id=site.id,
            url=page.url,
            final_url=page.url,
            fetched_at=at + timedelta(seconds=number),
            outcome=page.outcome,
            reason=page.reason,
            status_code=page.status,
            body_sha256=hashlib.sha256(page.url.encode()).hexdigest(),
        )
        session.add(row)
        session.flush()
        for offset, (kind, value, detail) in enumerate(page.found):
            indicator = commerce_builders.make_indicator(
                session, site, kind, value, detail, row.fetched_at
            )
            session.add(
                CommerceSighting(
                    indicator_id=indicator.id,
                    site_id=site.id,
                    page_id=row.id,
                    crawl_id=crawl.id,
                    seen_at=row.fetched_at,
                    offset=offset * 10,
                    snippet=value,
                )
            )
    session.flush()
    return crawl
