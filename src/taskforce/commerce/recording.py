"""Recording a fetched page as evidence: the page row (what was asked, what answered, the
SHA-256 of the body as received, the sanitised HTML compressed), the indicators it holds
(one row per agency, kind and value, with first and last seen), one sighting per indicator
found (page, offset, snippet), the address that answered as an `ip` indicator, and the counts
on the crawl.

Two workers may record pages of two crawls of one agency at once, holding the same wallet:
indicators are upserted on their unique constraint in one statement (PostgreSQL and SQLite
alike), in (kind, value) order so that two such transactions wait for each other instead of
deadlocking, and never raise on the other's insert.
"""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Table, case
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from taskforce.commerce.fetcher import FetchedPage, Outcome
from taskforce.commerce.kinds import Extraction, Found, IndicatorKind
from taskforce.commerce.models import (
    CommerceCrawl,
    CommerceIndicator,
    CommercePage,
    CommerceSighting,
    CommerceSite,
)
from taskforce.commerce.sanitise import cap, keep
from taskforce.core.db import is_postgres

__all__ = ["kept_html", "record_page", "upsert_indicators"]

_INDICATORS: Table = CommerceIndicator.__table__  # type: ignore[assignment]


def kept_html(text: str, max_bytes: int) -> tuple[bytes, int, bool]:
    """The page as kept: sanitised (nothing left that loads), capped, gzip-compressed; with
    the media references removed and whether it was cut."""
    clean, removed = keep(text)
    clean, cut = cap(clean, max_bytes)
    return gzip.compress(clean.encode("utf-8"), compresslevel=6, mtime=0), removed, cut


def upsert_indicators(
    session: Session, owner_agency_id: uuid.UUID, found: Sequence[Found], now: datetime
) -> dict[tuple[str, str], uuid.UUID]:
    """The indicator row of each (kind, value), made or touched (last seen now): one
    statement, safe against a concurrent insert of the same value."""
    rows: dict[tuple[str, str], dict[str, object]] = {}
    for item in found:
        key = (item.kind.value, item.value[:500])
        rows.setdefault(
            key,
            {
                "id": uuid.uuid4(),
                "owner_agency_id": owner_agency_id,
                "kind": key[0],
                "value": key[1],
                "detail": item.detail[:64],
                "first_seen_at": now,
                "last_seen_at": now,
            },
        )
    if not rows:
        return {}
    dialect_insert = pg_insert if is_postgres(session) else sqlite_insert
    insert = dialect_insert(_INDICATORS)
    table = _INDICATORS.c
    statement = insert.on_conflict_do_update(
        index_elements=[table.owner_agency_id, table.kind, table.value],
        set_={
            "last_seen_at": case(
                (table.last_seen_at < insert.excluded.last_seen_at, insert.excluded.last_seen_at),
                else_=table.last_seen_at,
            ),
            "first_seen_at": case(
                (
                    table.first_seen_at > insert.excluded.first_seen_at,
                    insert.excluded.first_seen_at,
                ),
                else_=table.first_seen_at,
            ),
        },
    ).returning(table.id, table.kind, table.value)
    ids: dict[tuple[str, str], uuid.UUID] = {}
    for key in sorted(rows):  # one row a statement, in order: no deadlock, no double update
        for row_id, kind, value in session.execute(statement, [rows[key]]):
            ids[(kind, value)] = row_id
    return ids


def record_page(
    session: Session,
    crawl: CommerceCrawl,
    site: CommerceSite,
    page: FetchedPage,
    extraction: Extraction | None,
    now: datetime,
    *,
    depth: int = 0,
    pathway_hop: bool = False,
    kept_html_bytes: int = 1_000_000,
) -> CommercePage:
    """Keep one page of a crawl with what it holds (module docstring); flushes."""
    reason = page.reason
    html_gz = None
    removed = 0
    if page.outcome == Outcome.FETCHED and page.text is not None:
        html_gz, removed, cut = kept_html(page.text, kept_html_bytes)
        if cut:
            reason += f"; the kept HTML was cut at {kept_html_bytes} bytes"
    row = CommercePage(
        id=uuid.uuid4(),
        crawl_id=crawl.id,
        site_id=site.id,
        url=page.url,
        final_url=page.final_url,
        referrer=page.referrer,
        depth=depth,
        pathway_hop=pathway_hop,
        fetched_at=now,
        outcome=page.outcome.value,
        reason=reason[:500],
        status_code=page.status,
        content_type=page.content_type,
        headers=dict(page.headers),
        ip=page.ip,
        hops=list(page.hops),
        body_sha256=page.sha256,
        body_bytes=page.body_bytes,
        truncated=page.truncated,
        html_gz=html_gz,
        media_removed=removed,
        title=(extraction.title if extraction else "")[:300],
        template=extraction.template if extraction else None,
    )
    session.add(row)
    session.flush()
    found = list(extraction.found) if extraction else []
    sightings = list(found)
    if page.ip:
        where = page.final_url or page.url
        sightings.append(
            Found(IndicatorKind.IP, page.ip, "", 0, f"{where} answered from {page.ip}")
        )
    ids = upsert_indicators(session, site.owner_agency_id, sightings, now)
    for item in sightings:
        session.add(
            CommerceSighting(
                id=uuid.uuid4(),
                indicator_id=ids[(item.kind.value, item.value[:500])],
                site_id=site.id,
                page_id=row.id,
                crawl_id=crawl.id,
                seen_at=now,
                offset=item.offset,
                snippet=item.snippet[:300],
            )
        )
    if page.outcome == Outcome.FETCHED:
        crawl.pages_fetched += 1
    elif page.outcome == Outcome.REFUSED:
        crawl.pages_refused += 1
    else:
        crawl.pages_failed += 1
    crawl.indicators_found += len(found)
    crawl.wallets_rejected += extraction.rejected_wallets if extraction else 0
    session.flush()
    return row
