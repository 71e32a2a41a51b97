"""In a real browser, over the builders' follow-the-sun rota (GB-NCA, NL-NP, US-HSI and the
INT-WATCH coordinator) seen at a fixed `NOW`: the rota page shows who is on duty and the
timeline with its red gaps; the coordinator replaces a desk with an override from the plan's
form and finds it on the timeline; a desk's page and the on-duty search work; every page holds
at a laptop's 1366 px and a phone's 390 px, the timeline scrolling sideways in its own box.
Screenshots go to $TASKFORCE_SCREENSHOTS when set (else the test's tmp_path)."""

from __future__ import annotations

import os
from pathlib import Path

import browser_builders
import pytest
from builders import PASSWORD
from playwright.sync_api import Browser, Page, expect
from rota_builders import NOW, make_rota
from sqlalchemy.orm import Session

from taskforce.core.settings import Settings
from taskforce.rota import forms, service, web
from taskforce.rota.schemas import Power, RequirementCreate

pytestmark = pytest.mark.browser

COORDINATOR = "coordinator@example.com"
DESK = "investigator.nl-np@example.com"
WIDTHS = {"laptop": 1366, "phone": 390}


def seed(session: Session, _settings: Settings) -> None:
    net = make_rota(session)
    service.add_requirement(
        session,
        net.coord.caller,
        RequirementCreate(name="Preservation", power=Power.PRESERVATION),
        now=NOW,
    )


@pytest.fixture
def at_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages read the clock through these names: the server (a thread of this process)
    sees `NOW`, Monday 7 December 2026 00:00 UTC, not the real time."""
    monkeypatch.setattr(web, "utcnow", lambda: NOW)
    monkeypatch.setattr(forms, "utcnow", lambda: NOW)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("TASKFORCE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sign_in(browser: Browser, base: str, email: str, width: int) -> Page:
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    browser_builders.sign_in(page, base, email, PASSWORD)
    return page


def page_is_no_wider_than_the_window(page: Page) -> None:
    wide = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 0, f"{page.url} scrolls {wide}px sideways"


@pytest.mark.seed.with_args(seed)
@pytest.mark.usefixtures("at_now")
def test_the_timeline_shows_the_gaps_and_an_override_added_from_the_form(
    live_server: object, browser: Browser, shots: Path
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    page = sign_in(browser, base, COORDINATOR, WIDTHS["laptop"])
    page.click("nav.mainnav >> text=24/7 watch")
    expect(page.locator("h1")).to_have_text("24/7 duty rota")
    expect(page.locator("#now")).to_contain_text("US-HSI")  # Monday 00:00 UTC: New York's night
    timeline = page.locator("svg.rota-timeline")
    expect(timeline).to_be_visible()
    gap = page.locator("rect.bar-gap").first
    expect(gap).to_be_visible()
    assert gap.get_attribute("fill") == "#c62828"
    expect(page.locator("rect.bar-gap title").first).to_contain_text("Preservation: not covered")
    page.screenshot(path=str(shots / "rota-laptop.png"), full_page=True)
    page_is_no_wider_than_the_window(page)

    # the coordinator replaces NL-NP by GB-NCA for Tuesday evening, on Amsterdam's clock
    page.click("nav.rota-subtabs >> text=Plan")
    form = page.locator("#overrides form")
    form.locator("input[name=starts_at]").fill("2026-12-08T15:00")
    form.locator("input[name=ends_at]").fill("2026-12-08T23:00")
    form.locator("input[name=tz]").fill("Europe/Amsterdam")
    form.locator("select[name=add]").select_option("GB-NCA")
    form.locator("select[name=remove]").select_option("NL-NP")
    form.locator("input[name=reason]").fill("NL-NP training evening")
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{base}/ui/rota?tz=Europe/Amsterdam&start=2026-12-08#timeline")
    override = page.locator("rect.bar-override")
    expect(override).to_have_count(1)
    expect(override).to_be_visible()
    expect(page.locator("rect.bar-override title")).to_contain_text(
        "GB-NCA: on duty (override), Tue 08 Dec 15:00 CET – 23:00 CET"
    )
    page.locator("#timeline").screenshot(path=str(shots / "rota-timeline-override-laptop.png"))
    page.click("nav.rota-subtabs >> text=Plan")
    expect(page.locator("#overrides table")).to_contain_text("NL-NP training evening")
    page.screenshot(path=str(shots / "rota-plan-laptop.png"), full_page=True)


@pytest.mark.seed.with_args(seed)
@pytest.mark.usefixtures("at_now")
@pytest.mark.parametrize("device", list(WIDTHS))
def test_the_rota_pages_hold_on_a_laptop_and_a_phone(
    live_server: object, browser: Browser, shots: Path, device: str
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    page = sign_in(browser, base, DESK, WIDTHS[device])
    page.goto(f"{base}/ui/rota")
    page_is_no_wider_than_the_window(page)
    box = page.locator(".rota-timeline-box")
    expect(box).to_be_visible()
    if device == "phone":  # the drawing scrolls inside its box, not the page
        sideways = box.evaluate("el => el.scrollWidth - el.clientWidth")
        assert sideways > 0
    page.screenshot(path=str(shots / f"rota-{device}.png"), full_page=True)

    page.goto(f"{base}/ui/rota/on-duty")
    page.fill("input[name=at]", "2026-12-07T10:00")
    page.fill("input[name=tz]", "Europe/Amsterdam")
    page.select_option("select[name=power]", "preservation")
    page.click("text=Find the desks")
    expect(page.locator("#found")).to_contain_text("GB-NCA")  # 09:00 UTC: London's day shift
    page_is_no_wider_than_the_window(page)
    page.screenshot(path=str(shots / f"rota-on-duty-{device}.png"), full_page=True)

    page.goto(f"{base}/ui/rota/gaps")
    expect(page.locator("h1")).to_have_text("Gaps in cover")
    expect(page.locator("body")).to_contain_text("Preservation")
    page_is_no_wider_than_the_window(page)

    page.goto(f"{base}/ui/rota")
    page.locator("#desks a", has_text="NL-NP").click()
    expect(page.locator("h1")).to_contain_text("24/7 desk NL-NP")
    page.click("text=Make a feed address")
    expect(page.locator(".rota-feed-url")).to_contain_text("/rota/feed/")
    page_is_no_wider_than_the_window(page)
    page.screenshot(path=str(shots / f"rota-desk-{device}.png"), full_page=True)
