"""Crawls run by the job runner against a synthetic shop on 127.0.0.1, on SQLite and
PostgreSQL: every page kept as evidence (bad input with its reason), the kept HTML loading
nothing, indicators once per agency with a sighting per page, the site told when it was
crawled, and a crawl interrupted between steps resuming from its recorded frontier."""

from __future__ import annotations

import gzip
import hashlib
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from builders import Network, make_agency
from commerce.sites import (
    INTERNAL,
    LOOPBACK,
    NEVER_REQUESTED,
    SHOP_HOSTS,
    SiteServer,
    assert_loads_nothing,
    html,
    install_shop,
    redirect,
    serving,
    standin_extract,
)
from conftest import migrated_engine
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from taskforce import demo_shops
from taskforce.agencies.models import Agency
from taskforce.cases import wallets
from taskforce.commerce import crawling, service
from taskforce.commerce.fetcher import TextFetcher
from taskforce.commerce.kinds import Found, IndicatorKind
from taskforce.commerce.models import (
    CommerceCrawl,
    CommerceIndicator,
    CommercePage,
    CommerceSighting,
    CommerceSite,
)
from taskforce.commerce.recording import upsert_indicators
from taskforce.core.db import make_sessionmaker, unit_of_work
from taskforce.core.jobs import runner as jobs
from taskforce.core.settings import Settings
from taskforce.reports import assessment

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def shop() -> Iterator[tuple[SiteServer, dict[str, str]]]:
    with serving() as server:
        yield server, install_shop(server)


@pytest.fixture
def crawl_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "commerce_crawl_allow_networks": LOOPBACK,
            "commerce_page_bytes": 200_000,
            "commerce_page_seconds": 3.0,
            "commerce_kept_html_bytes": 4096,
        }
    )


def fetcher(server: SiteServer, settings: Settings) -> TextFetcher:
    return TextFetcher(
        server.resolver(*SHOP_HOSTS, internal=INTERNAL),
        allow_networks=settings.commerce_crawl_allow_networks,
        page_bytes=settings.commerce_page_bytes,
        page_seconds=settings.commerce_page_seconds,
    )


def open_site(
    session: Session, settings: Settings, network: Network, urls: dict[str, str]
) -> tuple[CommerceSite, CommerceCrawl]:
    agency = session.get(Agency, network.gb.caller.agency_id)
    assert agency is not None
    hotline = assessment.hotline_case(session, agency)
    caller = network.gb_analyst.caller
    site, _ = service.add_site(
        session,
        caller,
        settings,
        url=urls["landing"],
        case_id=hotline.id,
        pathway=[service.PathwayHop(urls["gate"])] if "gate" in urls else [],
        recrawl_days=7,
        now=NOW,
    )
    crawl = service.queue_crawl(session, caller, site, now=NOW)
    session.commit()
    return site, crawl


def pages_of(session: Session, crawl: CommerceCrawl) -> list[CommercePage]:
    return list(
        session.scalars(
            select(CommercePage)
            .where(CommercePage.crawl_id == crawl.id)
            .order_by(CommercePage.fetched_at, CommercePage.depth, CommercePage.url)
        )
    )


def test_a_crawl_keeps_every_page_as_evidence(
    session: Session,
    session_factory: sessionmaker[Session],
    crawl_settings: Settings,
    network: Network,
    shop: tuple[SiteServer, dict[str, str]],
) -> None:
    server, urls = shop
    site, crawl = open_site(session, crawl_settings, network, urls)
    seen: list[crawling.Progress] = []
    final = crawling.run_until_done(
        session_factory,
        crawl_settings,
        fetcher(server, crawl_settings),
        crawl.id,
        NOW,
        extract=standin_extract,
        progress=seen.append,
    )
    assert final.status == "done"
    assert [p.pages_done for p in seen] == [10]
    session.expire_all()
    assert (crawl.pages_fetched, crawl.pages_refused, crawl.pages_failed) == (7, 2, 1)
    assert crawl.frontier == []
    assert crawl.next_step_at is None
    assert crawl.finished_at == NOW
    assert site.last_crawled_at == NOW
    assert site.last_ip == "127.0.0.1"
    assert site.next_crawl_at == NOW + timedelta(days=7)

    pages = {p.url: p for p in pages_of(session, crawl)}
    gate, landing = pages[urls["gate"]], pages[urls["landing"]]
    assert gate.pathway_hop
    assert not landing.pathway_hop
    assert landing.referrer == urls["gate"]
    assert landing.title == "Fake Shop"
    assert landing.status_code == 200
    assert landing.ip == "127.0.0.1"
    assert landing.media_removed >= 8
    assert landing.html_gz is not None
    kept = gzip.decompress(landing.html_gz).decode()
    assert "Pay to WALLET-AAA" in kept
    assert_loads_nothing(kept)
    fake = pages[urls["landing"] + "fake.html"]
    assert fake.outcome == "refused"
    assert "image/png" in fake.reason
    assert fake.html_gz is None
    assert fake.body_sha256 is not None
    admin = pages[urls["admin"]]
    assert admin.outcome == "refused"
    assert "10.0.0.7" in admin.reason
    loop = pages[urls["landing"] + "loop1"]
    assert loop.outcome == "failed"
    assert "redirect loop" in loop.reason
    big = pages[urls["landing"] + "big"]
    assert big.truncated
    assert big.body_bytes == 200_000
    assert big.html_gz is not None
    assert "kept HTML was cut at 4096 bytes" in big.reason
    assert len(gzip.decompress(big.html_gz)) <= 4096
    assert landing.body_sha256 is not None
    assert len(landing.body_sha256) == 64
    pay = pages[urls["landing"] + "pay"]
    pay_body = b"<title>Pay</title><p>Send to WALLET-AAA, merchant ACME-1.</p>"
    assert pay.body_sha256 == hashlib.sha256(pay_body).hexdigest()
    assert not [s.path for s in server.seen if s.path.startswith(NEVER_REQUESTED)]
    assert "other.test" not in {s.host for s in server.seen}

    indicators = {
        (i.kind, i.value): i
        for i in session.scalars(
            select(CommerceIndicator).where(
                CommerceIndicator.owner_agency_id == site.owner_agency_id
            )
        )
    }
    assert set(indicators) == {
        ("wallet", "WALLET-AAA"),
        ("wallet", "WALLET-BBB"),
        ("merchant", "ACME-1"),
        ("ip", "127.0.0.1"),
    }
    aaa = indicators[("wallet", "WALLET-AAA")]
    sightings = list(
        session.scalars(select(CommerceSighting).where(CommerceSighting.indicator_id == aaa.id))
    )
    where = {session.get(CommercePage, s.page_id) for s in sightings}
    assert {page.url for page in where if page} == {urls["landing"], urls["landing"] + "pay"}
    assert crawl.indicators_found == 4  # AAA twice, BBB, ACME-1


def test_an_interrupted_crawl_resumes_from_its_frontier(
    session: Session,
    session_factory: sessionmaker[Session],
    crawl_settings: Settings,
    network: Network,
    shop: tuple[SiteServer, dict[str, str]],
) -> None:
    server, urls = shop
    _, crawl = open_site(session, crawl_settings, network, urls)
    one = fetcher(server, crawl_settings)
    job = crawling.crawl_job(crawl_settings, one, extract=standin_extract, pages=3)
    assert jobs.run(session_factory, job, limit=5, now=NOW).done == 1
    # the next step is claimed by a worker that dies before recording it
    with session_factory() as dying:
        [claimed] = jobs.claim(dying, job, limit=5, now=NOW)
        dying.commit()
    job.work(claimed.item)  # fetched, never recorded
    assert jobs.run(session_factory, job, limit=5, now=NOW).claimed == 0  # leased
    later = NOW + crawling.LEASE + timedelta(seconds=1)
    final = crawling.run_until_done(
        session_factory, crawl_settings, one, crawl.id, later, extract=standin_extract
    )
    assert final.status == "done"
    session.expire_all()
    urls_kept = [p.url for p in pages_of(session, crawl)]
    assert len(urls_kept) == len(set(urls_kept)) == 10
    sightings = select(func.count()).where(CommerceSighting.crawl_id == crawl.id)
    assert session.scalar(sightings) == 4 + 9  # the wallets and merchant, an ip a page connected


def test_a_crawl_that_fetches_nothing_fails_with_the_reason(
    session: Session,
    session_factory: sessionmaker[Session],
    crawl_settings: Settings,
    network: Network,
    shop: tuple[SiteServer, dict[str, str]],
) -> None:
    server, urls = shop
    _, crawl = open_site(session, crawl_settings, network, urls)
    closed = TextFetcher(server.resolver(*SHOP_HOSTS))  # the loopback is not allowed
    final = crawling.run_until_done(
        session_factory, crawl_settings, closed, crawl.id, NOW, extract=standin_extract
    )
    assert final.status == "failed"
    session.expire_all()
    assert crawl.detail.startswith("no page could be fetched")
    assert [p.outcome for p in pages_of(session, crawl)] == ["refused", "refused"]
    assert server.seen == []


def test_indicators_are_upserted_once_per_agency(session: Session, network: Network) -> None:
    agency = network.gb.caller.agency_id
    assert agency is not None
    found = [Found(IndicatorKind.WALLET, "WALLET-Z", "btc", 1, "s")]
    first = upsert_indicators(session, agency, found, NOW)
    again = upsert_indicators(session, agency, found * 2, NOW + timedelta(days=1))
    early = upsert_indicators(session, agency, found, NOW - timedelta(days=1))
    assert first == again == early
    row = session.get(CommerceIndicator, first[("wallet", "WALLET-Z")])
    assert row is not None
    session.refresh(row)
    assert row.first_seen_at == NOW - timedelta(days=1)
    assert row.last_seen_at == NOW + timedelta(days=1)


@pytest.fixture(params=["sqlite", "postgresql"])
def committed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with migrated_engine(request.param, tmp_path) as engine:
        yield engine


def test_two_workers_upserting_the_same_indicators_lose_nothing(committed: Engine) -> None:
    factory = make_sessionmaker(committed)
    with unit_of_work(factory) as session:
        agency_id = make_agency(session, "GB-NCA").id
    values = [f"WALLET-{n:03d}" for n in range(30)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker(seed: int) -> None:
        order = values[:]
        random.Random(seed).shuffle(order)
        found = [Found(IndicatorKind.WALLET, v, "btc", n, v) for n, v in enumerate(order)]
        try:
            barrier.wait(timeout=10)
            for start in range(0, len(found), 10):  # three pages, each in its own transaction
                with unit_of_work(factory) as session:
                    upsert_indicators(session, agency_id, found[start : start + 10], NOW)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    with unit_of_work(factory) as session:
        rows = session.scalars(select(CommerceIndicator.value)).all()
    assert sorted(rows) == values


def test_a_demo_shop_is_crawled_with_the_real_extraction(
    session: Session,
    session_factory: sessionmaker[Session],
    crawl_settings: Settings,
    network: Network,
) -> None:
    shop = demo_shops.brand(7)
    with serving() as server:
        server.routes[f"{shop.host}/"] = html(demo_shops.shop_page(shop))
        server.routes[f"{shop.host}/join"] = html(demo_shops.shop_page(shop, seed=1, bad=False))
        landing = server.url(shop.host, "/")
        site, crawl = open_site(session, crawl_settings, network, {"landing": landing})
        one = TextFetcher(server.resolver(shop.host), allow_networks=LOOPBACK, page_bytes=200_000)
        final = crawling.run_until_done(session_factory, crawl_settings, one, crawl.id, NOW)
        requested = [(s.host, s.path) for s in server.seen]
    assert final.status == "done"
    session.expire_all()
    assert (shop.host, "/join") in requested
    assert all(host == shop.host for host, _ in requested)  # no tag manager, no checkout host
    assert crawl.wallets_rejected > 0
    found = {
        (i.kind, i.value)
        for i in session.scalars(
            select(CommerceIndicator).where(
                CommerceIndicator.owner_agency_id == site.owner_agency_id
            )
        )
    }
    normalised = [wallets.check(address) for _, address in shop.wallets]
    assert {("wallet", w.address) for w in normalised if w} <= found
    assert len(normalised) == 2
    assert ("analytics", shop.analytics) in found
    landing_page = session.scalars(
        select(CommercePage).where(CommercePage.crawl_id == crawl.id, CommercePage.url == landing)
    ).one()
    assert landing_page.template is not None
    assert landing_page.html_gz is not None
    assert_loads_nothing(gzip.decompress(landing_page.html_gz).decode())


def test_a_failed_crawl_says_why_its_landing_page_failed(
    session: Session,
    session_factory: sessionmaker[Session],
    crawl_settings: Settings,
    network: Network,
    shop: tuple[SiteServer, dict[str, str]],
) -> None:
    server, urls = shop
    server.routes["shop.test/"] = redirect("/")  # a loop on itself
    _, crawl = open_site(session, crawl_settings, network, {"landing": urls["landing"]})
    final = crawling.run_until_done(
        session_factory,
        crawl_settings,
        fetcher(server, crawl_settings),
        crawl.id,
        NOW,
        extract=standin_extract,
    )
    assert final.status == "failed"
    session.expire_all()
    assert "the landing page: " in crawl.detail
    assert "redirect loop" in crawl.detail
