"""In a real browser: an investigator opens the largest distribution group of the demo's shops
(crawled for real while the test was seeded: served on 127.0.0.1 to the seed's own fetcher),
sees its drawing, its sites and indicators, follows a link's evidence to a site and a page
kept as evidence, and finds the page's HTML only as source text. No image is ever loaded and
the strict policy refuses nothing. Screenshots go to $TASKFORCE_SCREENSHOTS when set."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_builders import gb_investigator, sign_in, watched_page
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session

from taskforce import demo_commerce
from taskforce.cases import service as case_service
from taskforce.cases.schemas import CaseCreate
from taskforce.core.caller import system_caller
from taskforce.core.db import utcnow
from taskforce.core.settings import Settings

pytestmark = pytest.mark.browser


def seed(session: Session, settings: Settings) -> None:
    caller = gb_investigator(session)
    case = case_service.open_case(session, caller, CaseCreate(title="Operation Lantern"))
    demo_commerce.build(session, settings, caller, system_caller(), case, utcnow())


@pytest.mark.seed.with_args(seed)
@pytest.mark.parametrize("width", [1280, 390])
def test_the_group_page_shows_its_drawing_sites_indicators_and_evidence(
    live_server: object, browser: Browser, tmp_path: Path, width: int
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    watched = watched_page(browser, width, tmp_path)
    page, shots, refused, images = watched.page, watched.shots, watched.refused, watched.images
    sign_in(page, base)

    page.goto(f"{base}/ui/commerce/groups")
    expect(page.locator("h1")).to_have_text("Brands and distribution groups")
    page.locator("table a", has_text="merchant EXP-").first.click()
    expect(page.locator("h1")).to_contain_text("merchant EXP-")
    drawing = page.locator("#drawing svg")
    expect(drawing).to_be_visible()
    assert drawing.bounding_box()["height"] > 100  # type: ignore[index]
    assert page.locator("#drawing svg circle").count() >= 6  # the six sites at least
    sites = page.locator("#sites tbody tr")
    expect(sites).to_have_count(6)
    expect(page.locator("#sites")).to_contain_text("join-delta-deck.example")
    expect(page.locator("#indicators")).to_contain_text("EXP-41391")
    expect(page.locator("#indicators")).to_contain_text("Wallet")
    expect(page.locator("#brands tbody tr")).to_have_count(3)
    evidence = page.locator("#links tbody tr").first
    expect(evidence).to_contain_text("Merchant EXP-41391")
    page.screenshot(path=str(shots / f"commerce-group-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    evidence.locator("a").first.click()
    expect(page.locator("#indicators")).to_contain_text("EXP-41391")
    page.locator("#indicators a[href^='/ui/commerce/pages/']").first.click()
    expect(page.locator("h2", has_text="Fetch")).to_be_visible()
    expect(page.locator(".details").first).to_contain_text("SHA-256")
    source = page.locator("pre.source")
    expect(source).to_contain_text("<title>")
    assert page.locator("#source iframe, #source img").count() == 0
    page.screenshot(path=str(shots / f"commerce-evidence-{width}.png"), full_page=True)
    assert refused == []
    assert images == []
