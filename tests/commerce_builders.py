"""Commerce test data written straight into the tables, as a finished crawl leaves them: a site
opened from a case, a crawl, its pages (one refused), indicators and their sightings. Benign
and fictional: `.example` hosts, documentation addresses, generated wallet strings."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from builders import Person, make_case
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases.models import Case
from taskforce.commerce import service
from taskforce.commerce.models import (
    CommerceCrawl,
    CommerceIndicator,
    CommercePage,
    CommerceSighting,
    CommerceSite,
)
from taskforce.core.settings import Settings

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
WALLET = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"  # a BIP-173 test vector: checksum holds
SHOP_HTML = (
    "<html><head><title>Lantern Shop</title></head><body><h1>Lantern Shop</h1>"
    "<p>Pay by Bitcoin to " + WALLET + " or card via FictiPay merchant LNT-4471.</p>"
    '<a href="/members">members</a><script>alert(1)</script></body></html>'
)


@dataclass
class Crawled:
    case: Case
    site: CommerceSite
    crawl: CommerceCrawl
    page: CommercePage
    refused: CommercePage
    wallet: CommerceIndicator
    merchant: CommerceIndicator


def crawled_site(
    session: Session,
    settings: Settings,
    person: Person,
    *,
    url: str = "https://lantern-shop.example/",
    label: str = "Lantern",
    case: Case | None = None,
    now: datetime = NOW,
    like: Crawled | None = None,
) -> Crawled:
    """A site opened from a case of `person`'s agency and crawled once: two pages (one
    fetched, one refused as an image), a wallet and a merchant id seen on the first."""
    case = case or make_case(session, person, title="Operation Lantern")
    site, _ = service.add_site(
        session, person.caller, settings, url=url, label=label, case_id=case.id, now=now
    )
    crawl = service.queue_crawl(session, person.caller, site, now=now)
    crawl.status = "done"
    crawl.started_at = now
    crawl.finished_at = now + timedelta(seconds=4)
    crawl.next_step_at = None
    crawl.frontier = []
    crawl.pages_fetched, crawl.pages_refused, crawl.indicators_found = 1, 1, 2
    crawl.wallets_rejected = 1
    body = SHOP_HTML.encode()
    kept = SHOP_HTML.replace("<script>alert(1)</script>", "")
    page = CommercePage(
        crawl_id=crawl.id,
        site_id=site.id,
        url=site.url,
        final_url=site.url,
        fetched_at=now + timedelta(seconds=1),
        outcome="fetched",
        status_code=200,
        content_type="text/html; charset=utf-8",
        headers={"content-type": "text/html; charset=utf-8", "server": "fictional"},
        ip="203.0.113.20",
        body_sha256=hashlib.sha256(body).hexdigest(),
        body_bytes=len(body),
        html_gz=gzip.compress(kept.encode()),
        media_removed=1,
        title="Lantern Shop",
        template="ab12" * 16,
    )
    refused = CommercePage(
        crawl_id=crawl.id,
        site_id=site.id,
        url=url.rstrip("/") + "/banner.jpg",
        fetched_at=now + timedelta(seconds=2),
        outcome="refused",
        reason="an image URL: never fetched",
        depth=1,
    )
    session.add_all([page, refused])
    session.flush()
    if like is None:  # a sister site (`like`) carries the same wallet and merchant account
        wallet = make_indicator(session, site, "wallet", WALLET, "btc", now)
        merchant = make_indicator(session, site, "merchant", "LNT-4471", "fictipay", now)
    else:
        wallet, merchant = like.wallet, like.merchant
    for indicator, offset in ((wallet, SHOP_HTML.index(WALLET)), (merchant, 160)):
        session.add(
            CommerceSighting(
                indicator_id=indicator.id,
                site_id=site.id,
                page_id=page.id,
                crawl_id=crawl.id,
                seen_at=now + timedelta(seconds=1),
                offset=offset,
                snippet=f"Pay by Bitcoin to {WALLET} or card via FictiPay merchant LNT-4471.",
            )
        )
    site.last_crawled_at = crawl.finished_at
    site.last_ip = "203.0.113.20"
    session.flush()
    return Crawled(case, site, crawl, page, refused, wallet, merchant)


def make_indicator(
    session: Session, site: CommerceSite, kind: str, value: str, detail: str, at: datetime
) -> CommerceIndicator:
    """The site's agency's indicator (kind, value), as recording upserts it: made when first
    seen, its last sighting moved to `at` when seen again."""
    row = session.scalar(
        select(CommerceIndicator).where(
            CommerceIndicator.owner_agency_id == site.owner_agency_id,
            CommerceIndicator.kind == kind,
            CommerceIndicator.value == value,
        )
    )
    if row is None:
        row = CommerceIndicator(
            owner_agency_id=site.owner_agency_id,
            kind=kind,
            value=value,
            detail=detail,
            first_seen_at=at,
            last_seen_at=at,
        )
        session.add(row)
        session.flush()
    row.last_seen_at = at
    return row
