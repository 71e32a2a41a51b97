"""In a real browser over the demo's network: the network coordinator signs in and reaches
every page of its seat from the menu and the dashboard (no "Not allowed", no 404), sees the
network on its dashboard, and manages people from the pages: a new user, a token shown once,
revoked. Screenshots go to $TASKFORCE_SCREENSHOTS when set (else the test's tmp_path)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from taskforce.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

COORDINATOR = "admin@hub.example.org"
PAGES = (
    "/ui/",
    "/ui/leads",
    "/ui/hotline",
    "/ui/takedown",
    "/ui/blocklist",
    "/ui/takedown/statistics",
    "/ui/statistics/identification",
    "/ui/hosting",
    "/ui/agencies",
    "/ui/agencies/new",
    "/ui/agencies/GB-NCA/edit",
    "/ui/users",
    "/ui/users/new",
    "/ui/sign-in-locks",
    "/ui/audit",
)


def _sign_in(page: Page, base: str) -> None:
    page.goto(f"{base}/ui/login")
    page.fill("input[name=email]", COORDINATOR)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/ui/")


def _shot(page: Page, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"coordinator-{name}-1440.png"), full_page=True)


def test_the_coordinator_opens_every_page_of_its_seat(
    browser: Browser, demo_server: object, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("TASKFORCE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    base = demo_server.url  # type: ignore[attr-defined]
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    _sign_in(page, base)

    for section in ("leads", "hits", "reports", "takedown"):
        expect(page.locator(f"#network-{section}")).to_be_visible()
    _shot(page, shots, "dashboard")

    # every link of the menu opens
    menu = page.locator("nav.mainnav a")
    links = sorted(set(menu.evaluate_all("els => els.map(e => e.getAttribute('href'))")))
    for href in ("/ui/leads", "/ui/hotline", "/ui/users", "/ui/audit"):
        assert href in links, href
    for path in sorted(set(PAGES) | set(links)):
        response = page.goto(f"{base}{path}")
        assert response is not None
        assert response.status == 200, (path, response.status)
        expect(page.locator("h1")).not_to_have_text(re.compile("Not allowed|Not found"))
        name = path.strip("/").replace("/", "-").removeprefix("ui-") or "home"
        if path in ("/ui/leads", "/ui/hotline", "/ui/blocklist", "/ui/agencies", "/ui/users"):
            _shot(page, shots, name)


def test_the_coordinator_adds_a_person_and_a_token_from_the_pages(
    browser: Browser, demo_server: object, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("TASKFORCE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    base = demo_server.url  # type: ignore[attr-defined]
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    _sign_in(page, base)
    page.goto(f"{base}/ui/users/new")
    page.fill("input[name=email]", "desk.officer@hub.example.org")
    page.select_option("select[name=agency]", "INT-HUB")
    page.select_option("select[name=role]", "analyst")
    page.fill("input[name=password]", "short")
    page.click("#user-form button[type=submit]")
    expect(page.locator("#err-password")).to_be_visible()
    expect(page.locator("input[name=email]")).to_have_value("desk.officer@hub.example.org")
    page.fill("input[name=password]", "a-long-enough-password")
    page.click("#user-form button[type=submit]")
    expect(page.locator(".alert-ok")).to_contain_text("The user was created")

    page.fill("#token-form input[name=name]", "night shift script")
    page.click("#token-form button[type=submit]")
    expect(page.locator("#new-token")).to_contain_text("shown this once")
    _shot(page, shots, "token-shown-once")
    page.click("#tokens button:has-text('Revoke')")
    expect(page.locator(".alert-ok")).to_contain_text("The token was revoked")
    expect(page.locator("#tokens")).to_contain_text("revoked")
    expect(page.locator("#new-token")).to_have_count(0)
