"""The crawl step without a database: the pathway replayed with its referrers, links followed
on the site only, depth and page limits, and every bad input one link away recorded with a
reason while the crawl goes on. Nothing but HTML and text is ever requested."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from commerce.sites import (
    INTERNAL,
    LOOPBACK,
    NEVER_REQUESTED,
    SHOP_HOSTS,
    SiteServer,
    install_shop,
    serving,
    standin_extract,
)

from taskforce.commerce import crawler
from taskforce.commerce.crawler import Crawled, State, follow
from taskforce.commerce.fetcher import Outcome, TextFetcher
from taskforce.commerce.kinds import Extraction


@pytest.fixture
def shop() -> Iterator[tuple[SiteServer, dict[str, str]]]:
    with serving() as server:
        yield server, install_shop(server)


def fetcher(server: SiteServer) -> TextFetcher:
    return TextFetcher(
        server.resolver(*SHOP_HOSTS, internal=INTERNAL),
        allow_networks=LOOPBACK,
        page_bytes=200_000,
        page_seconds=3.0,
    )


def start(urls: dict[str, str], *, depth: int = 2, limit: int = 50) -> State:
    return State(
        site_url=urls["landing"],
        depth=depth,
        page_limit=limit,
        pathway=[{"url": urls["gate"], "referrer": None}],
        frontier=[
            {"url": urls["gate"], "depth": 0, "referrer": None, "pathway": True},
            {"url": urls["landing"], "depth": 0, "referrer": urls["gate"], "pathway": False},
        ],
        visited=[],
    )


def crawl_all(state: State, server: SiteServer, pages: int = 10) -> list[Crawled]:
    done: list[Crawled] = []
    for _ in range(50):
        step = crawler.step(state, fetcher(server), standin_extract, pages=pages)
        done += step.crawled
        if step.finished:
            return done
    raise AssertionError("the crawl did not finish")


def test_the_whole_shop_is_crawled_text_only(shop: tuple[SiteServer, dict[str, str]]) -> None:
    server, urls = shop
    crawled = crawl_all(start(urls), server)
    shop_url = urls["landing"].rstrip("/")
    assert [c.page.url for c in crawled] == [
        urls["gate"],
        urls["landing"],
        *(
            shop_url + path
            for path in ("/catalogue", "/pay", "/fake.html", "/big", "/loop1", "/broken")
        ),
        urls["admin"],
        shop_url + "/item1",
    ]
    gate, landing = crawled[0], crawled[1]
    assert gate.entry["pathway"]
    assert gate.links_added == 0  # a pathway hop's links are not followed
    assert landing.extraction is not None
    assert landing.extraction.title == "Fake Shop"
    assert landing.entry["referrer"] == urls["gate"]
    assert server.seen[1].referrer == urls["gate"]
    assert crawled[2].page.referrer == urls["landing"]
    outcomes = {c.page.url.rsplit("/", 1)[1]: (c.page.outcome, c.page.reason) for c in crawled}
    assert outcomes["fake.html"][0] == Outcome.REFUSED
    assert "image/png" in outcomes["fake.html"][1]
    assert outcomes["loop1"][0] == Outcome.FAILED
    assert "redirect loop" in outcomes["loop1"][1]
    assert outcomes["big"][0] == Outcome.FETCHED
    admin = next(c for c in crawled if c.page.url == urls["admin"])
    assert admin.page.outcome == Outcome.REFUSED
    assert "10.0.0.7" in admin.page.reason
    big = next(c for c in crawled if c.page.url.endswith("/big"))
    assert big.page.truncated
    # never requested: media, scripts, stylesheets, another registrable domain, too deep
    requested = [(s.host, s.path) for s in server.seen]
    assert not [p for _, p in requested if p.startswith(NEVER_REQUESTED)]
    assert "other.test" not in {h for h, _ in requested}
    assert ("shop.test", "/item2") not in requested
    assert ("gate.test", "/elsewhere") not in requested
    assert len(requested) == len(set(requested))  # nothing asked for twice


def test_without_the_pathway_the_landing_page_is_the_decoy(
    shop: tuple[SiteServer, dict[str, str]],
) -> None:
    server, urls = shop
    state = start(urls)
    state.frontier = [state.frontier[1] | {"referrer": None}]
    state.pathway = []
    step = crawler.step(state, fetcher(server), standin_extract)
    assert step.crawled[0].extraction is not None
    assert step.crawled[0].extraction.title == "Welcome"
    assert step.finished


def test_the_page_limit_and_steps(shop: tuple[SiteServer, dict[str, str]]) -> None:
    server, urls = shop
    state = start(urls, limit=3)
    crawled = crawl_all(state, server, pages=2)
    assert [c.entry["pathway"] for c in crawled] == [True, False, False, False]
    assert state.pages_done == 3
    assert state.frontier == []


def test_depth_zero_fetches_the_landing_page_only(
    shop: tuple[SiteServer, dict[str, str]],
) -> None:
    server, urls = shop
    crawled = crawl_all(start(urls, depth=0), server)
    assert [c.page.url for c in crawled] == [urls["gate"], urls["landing"]]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/a#frag", "http://shop.test/a"),
        ("b?x=1", "http://shop.test/dir/b?x=1"),
        ("http://www.shop.test/c", "http://www.shop.test/c"),
        ("HTTP://SHOP.TEST/../d", "http://shop.test/d"),
        ("http://other.test/", None),
        ("/photo.JPEG", None),
        ("javascript:alert(1)", None),
        ("mailto:x@shop.test", None),
        ("ftp://shop.test/f", None),
        ("", None),
        ("http://[::1", None),
    ],
)
def test_which_links_are_followed(raw: str, expected: str | None) -> None:
    assert follow(raw, "http://shop.test/dir/page", frozenset({"shop.test"})) == expected


def test_a_page_the_extraction_fails_on_is_kept_and_the_crawl_goes_on(
    shop: tuple[SiteServer, dict[str, str]],
) -> None:
    server, urls = shop

    def fragile(html: str, *, url: str) -> Extraction:
        if url.endswith("/pay"):
            raise ValueError("a bug in extraction")
        return standin_extract(html, url=url)

    state = start(urls)
    crawled: list[Crawled] = []
    while True:
        step = crawler.step(state, fetcher(server), fragile)
        crawled += step.crawled
        if step.finished:
            break
    pay = next(c for c in crawled if c.page.url.endswith("/pay"))
    assert pay.extraction is None
    assert "not searched for indicators (ValueError)" in pay.page.reason
    assert len(crawled) == 10


def test_a_step_starts_no_page_after_its_time(shop: tuple[SiteServer, dict[str, str]]) -> None:
    server, urls = shop
    state = start(urls)
    step = crawler.step(state, fetcher(server), standin_extract, seconds=0)
    assert len(step.crawled) == 1  # one page at least, so every step moves on
    assert not step.finished
