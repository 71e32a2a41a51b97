"""Builders for acting on commercial sites (casework, payment notices, the watch list): a site
of an agency with indicators seen on a page, written through the models (no crawler), and
wallets generated with valid checksums (never a real one)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

import base58
import commerce_builders
from builders import Person
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases.models import Case
from taskforce.commerce import service as commerce_service
from taskforce.commerce.models import (
    CommerceCrawl,
    CommerceIndicator,
    CommercePage,
    CommerceSighting,
    CommerceSite,
)
from taskforce.core.settings import Settings

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def wallet(seed: int) -> str:
    """A Bitcoin P2PKH address built from a hash of the seed: its checksum holds, nobody owns
    its key."""
    payload = hashlib.sha256(f"taskforce test wallet {seed}".encode()).digest()[:20]
    return base58.b58encode_check(b"\x00" + payload).decode()


def make_site(
    session: Session,
    settings: Settings,
    person: Person,
    case: Case,
    url: str = "https://shop.example/",
    label: str = "",
) -> CommerceSite:
    site, _ = commerce_service.add_site(
        session, person.caller, settings, url=url, label=label, case_id=case.id, now=NOW
    )
    return site


def _crawl_and_page(
    session: Session, site: CommerceSite, url: str
) -> tuple[CommerceCrawl, CommercePage]:
    crawl = session.scalar(select(CommerceCrawl).where(CommerceCrawl.site_id == site.id))
    if crawl is None:
        crawl = CommerceCrawl(
            id=uuid.uuid4(),
            site_id=site.id,
            owner_agency_id=site.owner_agency_id,
            requested_at=NOW,
            status="done",
            started_at=NOW,
            finished_at=NOW,
        )
        session.add(crawl)
        session.flush()
    page = session.scalar(
        select(CommercePage).where(CommercePage.crawl_id == crawl.id, CommercePage.url == url)
    )
    if page is None:
        page = CommercePage(
            id=uuid.uuid4(),
            crawl_id=crawl.id,
            site_id=site.id,
            url=url,
            final_url=url,
            fetched_at=NOW,
            outcome="fetched",
            status_code=200,
            content_type="text/html",
            body_sha256=hashlib.sha256(url.encode()).hexdigest(),
            body_bytes=1000,
            title="Fictional shop",
        )
        session.add(page)
        session.flush()
    return crawl, page


def seen(
    session: Session,
    site: CommerceSite,
    kind: str,
    value: str,
    detail: str = "",
    *,
    page_url: str | None = None,
    at: datetime = NOW,
) -> CommerceIndicator:
    """An indicator of the site's agency seen once on a page of the site."""
    crawl, page = _crawl_and_page(session, site, page_url or site.url)
    indicator = commerce_builders.make_indicator(session, site, kind, value, detail, at)
    session.add(
        CommerceSighting(
            id=uuid.uuid4(),
            indicator_id=indicator.id,
            site_id=site.id,
            page_id=page.id,
            crawl_id=crawl.id,
            seen_at=at,
            offset=10,
            snippet=f"pay to {value}"[:200],
        )
    )
    session.flush()
    return indicator
