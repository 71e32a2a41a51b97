"""The demo's commercial sites: the five synthetic brands of `demo_shops.network()` (two
distribution groups: three brands bill through ExamplePay, two through DemoBill), each on two
hosts, opened from one of GB-NCA's cases and crawled for real while the demo is seeded.

The shops are served from a web server in this process on 127.0.0.1, for as long as the seed
runs; a fetcher made for the seed alone maps their `.example` names to that address and may
reach 127.0.0.1/32. The running demo's settings stay closed to internal networks: a crawl
asked for later from its pages is refused, as it should be. One brand sits behind a gateway
page (its pathway is replayed with a referrer) and is crawled twice, its second crawl showing
a wallet changed; the graph is computed; both groups' shared wallets go on the watch list and
the ExamplePay merchant account is notified (the provider's abuse address is fictional).
"""

from __future__ import annotations

import dataclasses
import http.server
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce import demo_shops
from taskforce.cases.models import Case
from taskforce.commerce import crawling, graphs, payments, service, watchlist
from taskforce.commerce.fetcher import TextFetcher
from taskforce.commerce.models import CommerceCrawl, CommerceIndicator, PaymentProvider
from taskforce.core import sharing
from taskforce.core.caller import Caller
from taskforce.core.jobs import runner as jobs
from taskforce.core.resolver import StaticResolver
from taskforce.core.settings import Settings

PREFERRED_PORT = 18418  # the same URLs on every run where it is free; any free port if not
PROVIDER_EMAIL = {"ExamplePay": "abuse@pay.example", "DemoBill": "abuse@billing.test"}
SEED = 18


@dataclass
class CommerceSummary:
    sites: int
    pages: int
    indicators: int
    groups: int
    brands: int
    watched: int
    notices: int
    group_id: str | None  # the largest distribution group: its page


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _ShopServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the crawl records every request as evidence."""

    def do_GET(self) -> None:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()
        page = self.server.pages.get((host, self.path.split("?", 1)[0]))
        body = (page or "<!doctype html><title>Not found</title><p>Not found.</p>").encode()
        self.send_response(200 if page else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _ShopServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int) -> None:
        self.pages: dict[tuple[str, str], str] = {}
        super().__init__(("127.0.0.1", port), _Handler)


@contextmanager
def _serving() -> Iterator[_ShopServer]:
    """The shops' server on 127.0.0.1 while the block runs."""
    try:
        server = _ShopServer(PREFERRED_PORT)
    except OSError:
        server = _ShopServer(0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def _crawl(
    session: Session,
    settings: Settings,
    fetcher: TextFetcher,
    crawl: CommerceCrawl,
    now: datetime,
) -> None:
    """Step the crawl in the seed's own transaction until it is finished."""
    job = crawling.crawl_job(settings, fetcher, only=crawl.id)
    for _ in range(50):
        jobs.run_here(session, job, limit=1, now=now)
        session.refresh(crawl)
        if crawl.status not in service.ACTIVE:
            return


def _providers(session: Session, admin: Caller) -> dict[str, PaymentProvider]:
    """The directory seeded from the lexicon, with the fictional processors' abuse contacts."""
    payments.seed_from_lexicon(session, admin)
    found = {}
    for name, email in PROVIDER_EMAIL.items():
        provider = session.scalar(select(PaymentProvider).where(PaymentProvider.name == name))
        if provider is None:
            continue
        fields = payments.ProviderFields(
            name=provider.name,
            kind=provider.kind,
            country=provider.country,
            abuse_email=email,
            website=provider.website,
            terms=provider.terms,
            chains=provider.chains,
            notes="Fictional: the demo's shops bill through it.",
        )
        found[name] = payments.edit_provider(session, admin, provider.id, fields)
    return found


def _indicator(session: Session, caller: Caller, kind: str, value: str) -> CommerceIndicator:
    row = session.scalar(
        select(CommerceIndicator).where(
            sharing.owned_by(CommerceIndicator.owner_agency_id, caller),
            CommerceIndicator.kind == kind,
            CommerceIndicator.value == value,
        )
    )
    assert row is not None, (kind, value)
    return row


def shops(seed: int = SEED) -> list[demo_shops.Brand]:
    """The demo's ten shop sites: each brand of `demo_shops.network()` on a template of its
    own with its own wallet, on two hosts (its name and a `join-` mirror: one shop under two
    names, so a brand), and the brands of one distribution group sharing the merchant account,
    the processor and the analytics id: linked, never one brand."""
    sites = []
    for index, brand in enumerate(b for group in demo_shops.network(seed) for b in group.brands):
        own = dataclasses.replace(brand, template=index, wallets=(brand.wallets[1],))
        sites += [own, dataclasses.replace(own, host=f"join-{brand.host}")]
    return sites


def build(
    session: Session,
    settings: Settings,
    investigator: Caller,
    admin: Caller,
    case: Case,
    now: datetime,
) -> CommerceSummary:
    """Open, crawl and map the demo's shops for `investigator`'s agency from `case`."""
    sites = shops()
    providers = _providers(session, admin)
    rng = random.Random(SEED)  # noqa: S311 - fictional demo data, not security
    gated = sites[0]
    changed = dataclasses.replace(gated, wallets=(("eth", demo_shops.random_wallet(rng, "eth")),))
    hosts = {b.host: ["127.0.0.1"] for b in sites} | {"gallery.example": ["127.0.0.1"]}
    with _serving() as server:
        port = server.server_address[1]
        fetcher = TextFetcher(
            StaticResolver(hosts),
            allow_networks=["127.0.0.1/32"],  # this fetcher only: the demo's settings stay closed
            page_bytes=settings.commerce_page_bytes,
            page_seconds=settings.commerce_page_seconds,
        )

        def url(host: str, path: str = "/") -> str:
            return f"http://{host}:{port}{path}"

        for shop in sites:
            for path, page in demo_shops.site_pages(shop, seed=SEED).items():
                server.pages[(shop.host, path)] = page
        server.pages[("gallery.example", "/")] = demo_shops.gateway_page(url(gated.host))
        crawls = []
        for index, shop in enumerate(sites):
            pathway = (
                [service.PathwayHop(url("gallery.example"), "https://search.example/?q=gallery")]
                if shop is gated
                else []
            )
            site, _new = service.add_site(
                session,
                investigator,
                settings,
                url=url(shop.host),
                label=shop.name if index % 2 == 0 else f"{shop.name} (mirror)",
                case_id=case.id,
                depth=1,
                page_limit=10,
                pathway=pathway,
                recrawl_days=7 if shop is gated else None,
                now=now - timedelta(days=9, hours=index),
            )
            first = now - timedelta(days=8, hours=index)
            crawl = service.queue_crawl(session, investigator, site, now=first)
            _crawl(session, settings, fetcher, crawl, first)
            crawls.append(crawl)
            if shop is gated:  # a week later it takes another wallet
                for path, page in demo_shops.site_pages(changed, seed=SEED).items():
                    server.pages[(shop.host, path)] = page
                again = now - timedelta(days=1)
                crawl = service.queue_crawl(
                    session, investigator, site, reason="scheduled", now=again
                )
                _crawl(session, settings, fetcher, crawl, again)
                crawls.append(crawl)
    run = graphs.compute_for(session, investigator, now - timedelta(hours=2))
    watched = 0
    for shop in (sites[0], sites[-1]):  # a brand of each group
        wallet = _indicator(session, investigator, "wallet", shop.wallets[0][1])
        watchlist.add(
            session,
            investigator,
            indicator_id=wallet.id,
            reason=f"wallet of {shop.name}, a commercial site selling abuse material "
            "(evidence kept by GB-NCA)",
            now=now - timedelta(hours=1),
        )
        watched += 1
    notices = 0
    provider = providers.get(gated.processor)
    if provider is not None:
        merchant = _indicator(session, investigator, "merchant", gated.merchant_id)
        payments.send_notice(
            session,
            investigator,
            settings,
            indicator_id=merchant.id,
            provider_id=provider.id,
            site_id=crawls[0].site_id,
            now=now - timedelta(minutes=30),
        )
        notices = 1
    latest = graphs.latest_groups(session, investigator)
    largest = next((g for g in latest if g.kind == "distribution_group"), None)
    return CommerceSummary(
        sites=len(sites),
        pages=sum(c.pages_fetched for c in crawls),
        indicators=run.indicators,
        groups=run.groups,
        brands=run.brands,
        watched=watched,
        notices=notices,
        group_id=str(largest.id) if largest else None,
    )
