"""A site recrawled on its schedule by the real crawler and extraction, against a synthetic
shop on 127.0.0.1 that rebranded between the two crawls: the scheduled crawl is queued when
due, its date follows the finished crawl, and what changed names the wallets, the analytics id,
the template and the pages, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from builders import Network, make_case
from commerce.sites import LOOPBACK, SiteServer, html, serving
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from taskforce import demo_shops
from taskforce.cases import wallets
from taskforce.commerce import changes, crawling, recrawls, service
from taskforce.commerce.fetcher import TextFetcher
from taskforce.commerce.models import CommerceCrawl
from taskforce.core.settings import Settings

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def crawl_once(
    factory: sessionmaker[Session], settings: Settings, server: SiteServer, host: str,
    crawl: CommerceCrawl, now: datetime,
) -> str:  # fmt: skip
    fetcher = TextFetcher(server.resolver(host), allow_networks=LOOPBACK, page_bytes=200_000)
    return crawling.run_until_done(factory, settings, fetcher, crawl.id, now).status


def addresses(shop: demo_shops.Brand) -> list[tuple[str, str]]:
    found = [wallets.check(address) for _, address in shop.wallets]
    return [(w.chain.value, w.address) for w in found if w is not None]


def test_a_rebranded_shop_recrawled_on_schedule_says_what_changed(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    network: Network,
) -> None:
    crawl_settings = settings.model_copy(update={"commerce_crawl_allow_networks": LOOPBACK})
    before = demo_shops.brand(7)
    after = dataclasses.replace(demo_shops.brand(8, template=1), host=before.host)
    caller = network.gb_analyst.caller
    case = make_case(session, network.gb, title="Operation Lantern")
    with serving() as server:
        server.routes[f"{before.host}/"] = html(demo_shops.shop_page(before))
        server.routes[f"{before.host}/join"] = html(demo_shops.shop_page(before, seed=1))
        site, _ = service.add_site(
            session, caller, crawl_settings, url=server.url(before.host, "/"),
            case_id=case.id, depth=1, recrawl_days=7, now=NOW,
        )  # fmt: skip
        first = service.queue_crawl(session, caller, site, now=NOW)
        session.commit()
        assert (
            crawl_once(session_factory, crawl_settings, server, before.host, first, NOW) == "done"
        )
        session.expire_all()
        finished = first.finished_at
        assert finished is not None
        assert site.next_crawl_at == finished + timedelta(days=7)
        assert recrawls.queue_due(session, now=NOW + timedelta(days=6)) == 0

        # a week later the same address shows another brand; its join page is gone
        server.routes[f"{before.host}/"] = html(demo_shops.shop_page(after))
        del server.routes[f"{before.host}/join"]
        due = NOW + timedelta(days=7, hours=1)
        assert recrawls.queue_due(session, now=due) == 1
        second = session.scalars(
            select(CommerceCrawl).where(CommerceCrawl.reason == "scheduled")
        ).one()
        session.commit()
        assert (
            crawl_once(session_factory, crawl_settings, server, before.host, second, due) == "done"
        )
    session.expire_all()
    assert site.next_crawl_at == due + timedelta(days=7)

    found = changes.latest(session, caller, site.id)
    assert found is not None
    assert (found.older.crawl_id, found.newer.crawl_id) == (first.id, second.id)
    said = [c.text for c in found.indicators]
    for chain, address in addresses(after):
        assert f"new wallet {chain} {address}" in said
    for chain, address in addresses(before):
        assert f"wallet {chain} {address} no longer shown" in said
    assert f"analytics id changed (ga4): {before.analytics} → {after.analytics}" in said
    assert any(line.startswith("template changed: ") for line in said)
    assert f"new merchant account {after.merchant_id} at {after.processor}" in said
    assert f"merchant descriptor {before.descriptor} no longer shown" in said
    join = server.url(before.host, "/join")
    assert f"{join}: 200 → 404" in [c.text for c in found.pages]  # and each plan's link
    (latest, earliest) = changes.history(session, caller, site.id)
    assert latest.changes is not None
    assert (latest.crawl.reason, earliest.changes) == ("scheduled", None)
