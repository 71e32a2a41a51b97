"""In a real browser, under the pages' Content-Security-Policy: the main pages of the demo
network load without a single policy violation, and htmx still swaps fragments in place.

Violations are caught twice: the page's own `securitypolicyviolation` events (recorded by a
script Playwright adds, which the policy does not govern) and Chromium's console messages.
A canary first checks that an injected inline handler is caught, so the test can fail."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from sqlalchemy.orm import Session

from taskforce.core.settings import Settings
from taskforce.demo import DEMO_PASSWORD, build_scenario

pytestmark = pytest.mark.browser

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}`);
});
"""

INVESTIGATOR_PAGES = (
    "/ui/",
    "/ui/cases",
    "/ui/cases/new",
    "/ui/hits",
    "/ui/search",
    "/ui/hashsets",
    "/ui/series",
    "/ui/statistics/identification",
    "/ui/notices",
    "/ui/agencies",
    "/ui/chats",
)
HOTLINE_PAGES = (
    "/ui/hotline",
    "/ui/takedown",
    "/ui/takedown/statistics",
    "/ui/leads",
    "/ui/hosting",
    "/ui/blocklist",
)


def seed(session: Session, settings: Settings) -> None:
    build_scenario(session, settings=settings)


def _watched(browser: Browser, base: str, email: str) -> tuple[Page, list[str]]:
    context = browser.new_context()
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    console: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            console.append(message.text)

    page.on("console", on_console)
    page.goto(f"{base}/ui/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/ui/")
    return page, console


def _violations(page: Page) -> list[str]:
    found: list[str] = page.evaluate("window.__violations")
    return found


def _visit(page: Page, console: list[str], base: str, paths: tuple[str, ...]) -> list[str]:
    problems: list[str] = []
    for path in paths:
        response = page.goto(f"{base}{path}")
        assert response is not None, path
        assert response.status == 200, path
        page.wait_for_load_state("load")
        problems += [f"{path}: {v}" for v in _violations(page)]
    problems += console
    return problems


@pytest.mark.seed.with_args(seed)
def test_main_pages_load_without_a_policy_violation_and_htmx_swaps(
    live_server: object, browser: Browser
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    page, console = _watched(browser, base, "investigator@nca.example.com")

    # Canary: an inline event handler is refused and reported, so silence below means something.
    page.evaluate(
        "document.body.insertAdjacentHTML('beforeend', '<img src=/none.png onerror=\"1\">')"
    )
    page.wait_for_function("window.__violations.length > 0")
    assert "script-src" in _violations(page)[0]
    console.clear()

    problems = _visit(page, console, base, INVESTIGATOR_PAGES)
    # detail pages: the first link of each list
    details: list[str] = []
    for listing, pattern in (
        ("/ui/cases", r"^/ui/cases/[0-9a-f-]{36}$"),
        ("/ui/hits", r"^/ui/hits/[0-9a-f-]{36}$"),
        ("/ui/series", r"^/ui/series/[0-9a-f-]{36}$"),
        ("/ui/notices", r"^/ui/notices/[0-9a-f-]{36}$"),
        ("/ui/chats", r"^/ui/chats/conversations/[0-9a-f-]{36}(\?at=flagged)?$"),
        ("/ui/chats", r"^/ui/chats/cases/[0-9a-f-]{36}$"),
    ):
        page.goto(f"{base}{listing}")
        hrefs = page.eval_on_selector_all(
            "main a[href]", "els => els.map(e => e.getAttribute('href'))"
        )
        details.append(next(h for h in hrefs if re.match(pattern, h)))
    problems += _visit(page, console, base, tuple(details))
    assert problems == []

    # htmx: adding a selector on one of the investigator's open cases swaps the selector list
    # in place (no page load: a marker set on the window survives) and deconflicts.
    page.goto(f"{base}/ui/")  # the dashboard lists the investigator's open cases
    hrefs = page.eval_on_selector_all("main a[href]", "els => els.map(e => e.getAttribute('href'))")
    case_url = next(h for h in hrefs if re.match(r"^/ui/cases/[0-9a-f-]{36}$", h))
    page.goto(f"{base}{case_url}")
    page.evaluate("window.__marker = 'still here'")
    page.select_option("select[name=type]", "email")
    page.fill("input[name=value]", "csp.check@example.com")
    with page.expect_response(lambda r: r.url.endswith("/selectors")) as answer:
        page.click("text=Add and deconflict")
    assert answer.value.request.headers.get("hx-request") == "true"
    expect(page.locator("#selectors")).to_contain_text("csp.check@example.com")
    assert page.evaluate("window.__marker") == "still here"
    assert _violations(page) == []
    assert console == []

    hotline, hotline_console = _watched(browser, base, "analyst@gb-hotline.example.org")
    assert _visit(hotline, hotline_console, base, HOTLINE_PAGES) == []
