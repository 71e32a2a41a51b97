"""What changed between two crawls of a site, in the analyst's words, and a site's history;
crawls, pages and sightings are written through the models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from builders import Network
from site_history_builders import Page, make_crawl, make_site
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.commerce import changes
from taskforce.commerce.changes import Snapshot
from taskforce.core.audit.models import AuditEntry
from taskforce.core.errors import Forbidden, Invalid, NotFound

T0 = datetime(2026, 2, 1, 8, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=7)
T2 = T1 + timedelta(days=7)
BTC_OLD = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
BTC_NEW = "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297"
ETH = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
HOME, PAY, ABOUT = "https://shop.example/", "https://shop.example/pay", "https://shop.example/about"

FIRST = [
    Page(HOME, found=(("ip", "203.0.113.10", ""), ("analytics", "G-OLD111", "ga4"))),
    Page(
        PAY,
        found=(
            ("wallet", BTC_OLD, "btc"),
            ("processor", "ExamplePay", "examplepay"),
            ("template", "a" * 64, ""),
            ("ip", "203.0.113.10", ""),
        ),
    ),
    Page(ABOUT, found=(("email", "sales@shop.example", ""),)),
]
SECOND = [
    Page(HOME, found=(("ip", "198.51.100.7", ""), ("analytics", "G-NEW222", "ga4"))),
    Page(
        PAY,
        status=404,
        found=(
            ("wallet", BTC_NEW, "btc"),
            ("wallet", ETH, "eth"),
            ("template", "b" * 64, ""),
            ("messenger", "@shopdesk", "telegram"),
        ),
    ),
    Page("https://shop.example/join", found=(("ip", "198.51.100.7", ""),)),
]


def texts(found: tuple[changes.Change, ...]) -> list[str]:
    return [c.text for c in found]


def test_what_changed_between_two_crawls(session: Session, network: Network) -> None:
    caller = network.gb.caller
    site = make_site(session, caller)
    first = make_crawl(session, site, T0, FIRST)
    second = make_crawl(session, site, T1, SECOND, reason="scheduled")
    found = changes.between(session, caller, site.id, first.id, second.id)
    assert texts(found.indicators) == [
        f"new wallet btc {BTC_NEW}",
        f"new wallet eth {ETH}",
        f"wallet btc {BTC_OLD} no longer shown",
        "processor ExamplePay no longer named",
        "analytics id changed (ga4): G-OLD111 → G-NEW222",
        "new telegram handle @shopdesk",
        "e-mail address sales@shop.example no longer shown",
        "moved host: 203.0.113.10 → 198.51.100.7",
        f"template changed: {'a' * 12} → {'b' * 12}",
    ]
    assert texts(found.pages) == [
        "new page https://shop.example/join",
        "page https://shop.example/about no longer reached",
        "https://shop.example/pay: 200 → 404",
    ]
    moved = found.indicators[7]
    assert (moved.kind, moved.change, moved.before, moved.after) == (
        "ip",
        "changed",
        "203.0.113.10",
        "198.51.100.7",
    )
    assert (found.older.crawl_id, found.newer.crawl_id) == (first.id, second.id)
    assert (found.older.pages, found.older.indicators) == (3, 6)
    assert (found.newer.pages, found.newer.indicators, found.newer.reason) == (3, 6, "scheduled")
    assert found.changed
    # given the other way round, the older is still the one that finished first
    again = changes.between(session, caller, site.id, second.id, first.id)
    assert again.older.crawl_id == first.id
    assert again.indicators == found.indicators
    read = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "commerce.site.changes", AuditEntry.subject_id == site.id
        )
    ).all()
    assert len(read) == 2
    assert read[0].detail["crawls"] == [str(first.id), str(second.id)]


def test_the_same_shop_twice_changed_nothing(session: Session, network: Network) -> None:
    caller = network.gb.caller
    site = make_site(session, caller)
    make_crawl(session, site, T0, FIRST)
    make_crawl(session, site, T1, FIRST)
    found = changes.latest(session, caller, site.id)
    assert found is not None
    assert not found.changed


def test_wording_of_lone_new_and_gone_values() -> None:
    older = Snapshot(
        frozenset({("ip", "203.0.113.10", ""), ("merchant", "SHOP-42", "ExamplePay")}), {}
    )
    newer = Snapshot(
        frozenset(
            {
                ("ip", "203.0.113.10", ""),
                ("ip", "203.0.113.11", ""),
                ("affiliate", "ref=9001", ""),
                ("analytics", "GTM-ABC1", "gtm"),
                ("template", "c" * 64, ""),
            }
        ),
        {"https://shop.example/": ("failed", None, "timed out")},
    )
    indicators, pages = changes.compare(older, newer)
    assert [c.text for c in indicators] == [
        "merchant account SHOP-42 no longer named",
        "new analytics id GTM-ABC1 (gtm)",
        "new affiliate parameter ref=9001",
        "now also answers from 203.0.113.11",
        f"new page template {'c' * 12}",
    ]
    assert [c.text for c in pages] == ["new page https://shop.example/"]
    older_page = Snapshot(frozenset(), {"https://shop.example/": ("fetched", 200, "")})
    _, pages = changes.compare(older_page, newer)
    assert [c.text for c in pages] == ["https://shop.example/: 200 → failed (timed out)"]


def test_latest_compares_the_last_two_finished_crawls(session: Session, network: Network) -> None:
    caller = network.gb.caller
    site = make_site(session, caller)
    assert changes.latest(session, caller, site.id) is None
    make_crawl(session, site, T0, FIRST)
    assert changes.latest(session, caller, site.id) is None
    second = make_crawl(session, site, T1, SECOND)
    make_crawl(session, site, T2, [Page(HOME, status=None, outcome="failed")], status="failed")
    make_crawl(session, site, T2 + timedelta(days=1), [], status="running")
    third = make_crawl(session, site, T2 - timedelta(days=1), FIRST)
    found = changes.latest(session, caller, site.id)
    assert found is not None
    assert (found.older.crawl_id, found.newer.crawl_id) == (second.id, third.id)
    assert f"wallet btc {BTC_OLD}" not in texts(found.indicators)
    assert f"new wallet btc {BTC_OLD}" in texts(found.indicators)


def test_a_sites_history_crawl_by_crawl(session: Session, network: Network) -> None:
    caller = network.gb.caller
    site = make_site(session, caller)
    first = make_crawl(session, site, T0, FIRST)
    second = make_crawl(session, site, T1, SECOND, reason="scheduled")
    failed = make_crawl(session, site, T2, [Page(HOME, None, "failed", "refused")], status="failed")
    failed.detail = "the landing page did not answer"
    third = make_crawl(session, site, T2 + timedelta(days=1), SECOND)
    entries = changes.history(session, caller, site.id)
    assert [e.crawl.crawl_id for e in entries] == [third.id, failed.id, second.id, first.id]
    assert entries[0].changes == ()  # the same as the last crawl that finished
    assert entries[1].changes is None
    assert entries[1].crawl.detail.startswith("the landing")
    assert entries[1].crawl.pages == 0
    assert entries[1].crawl.status == "failed"
    assert entries[2].changes is not None
    assert "moved host: 203.0.113.10 → 198.51.100.7" in [c.text for c in entries[2].changes]
    assert entries[3].changes is None  # the first crawl
    assert (entries[3].crawl.finished_at, entries[3].crawl.pages) == (T0 + timedelta(minutes=10), 3)
    # a page of history still says what its oldest crawl changed
    (oldest_shown,) = changes.history(session, caller, site.id, limit=3)[2:]
    assert oldest_shown.crawl.crawl_id == second.id
    assert oldest_shown.changes
    with pytest.raises(Invalid) as refused:
        changes.history(session, caller, site.id, limit=0)
    assert refused.value.field == "limit"


def test_crawls_that_cannot_be_compared_are_refused(session: Session, network: Network) -> None:
    caller = network.gb.caller
    site = make_site(session, caller)
    other = make_site(session, caller, "https://other.example/")
    first = make_crawl(session, site, T0, FIRST)
    running = make_crawl(session, site, T1, [], status="running")
    elsewhere = make_crawl(session, other, T1, FIRST)
    for older, newer, field in (
        (first.id, running.id, "newer"),
        (elsewhere.id, first.id, "older"),
        (first.id, first.id, "newer"),
    ):
        with pytest.raises(Invalid) as refused:
            changes.between(session, caller, site.id, older, newer)
        assert refused.value.field == field


def test_another_agency_sees_nothing(session: Session, network: Network) -> None:
    site = make_site(session, network.gb.caller)
    first = make_crawl(session, site, T0, FIRST)
    second = make_crawl(session, site, T1, SECOND)
    mine = make_site(session, network.us.caller, "https://mine.example/")
    mine_crawl = make_crawl(session, mine, T1, SECOND)
    us = network.us.caller
    with pytest.raises(NotFound):
        changes.between(session, us, site.id, first.id, second.id)
    with pytest.raises(NotFound):  # its own site, another agency's crawls
        changes.between(session, us, mine.id, first.id, mine_crawl.id)
    with pytest.raises(NotFound):
        changes.latest(session, us, site.id)
    with pytest.raises(NotFound):
        changes.history(session, network.nl.caller, site.id)
    with pytest.raises(Forbidden):
        changes.history(session, network.gb_reader.caller, site.id)
    refused = session.scalars(
        select(AuditEntry).where(
            AuditEntry.outcome == "not_found", AuditEntry.subject_id == site.id
        )
    ).all()
    assert len(refused) == 3
