"""The public pages in a real browser, as a visitor whose browser speaks another language: an
address that does not exist is a page in their language (not JSON), the warning page's "blocked
by mistake" link opens a form that takes the report, and the report form says when a URL
cannot be read and still takes it when the reporter insists. No page runs a script or breaks
its policy. Screenshots go to $TASKFORCE_SCREENSHOTS when set (else the test's tmp_path)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

pytestmark = pytest.mark.browser


def _shots(tmp_path: Path) -> Path:
    shots = Path(os.environ.get("TASKFORCE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def _page(browser: Browser, locale: str) -> tuple[Page, list[str]]:
    """A page whose browser asks for `locale` first; it collects console errors (a policy
    violation shows there)."""
    page = browser.new_context(locale=locale, viewport={"width": 1093, "height": 800}).new_page()
    errors: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        if message.type == "error" and "404" not in message.text:
            errors.append(message.text)

    page.on("console", keep)
    return page, errors


def test_an_unknown_public_address_is_a_page_in_the_visitors_language(
    live_server: object, browser: Browser, tmp_path: Path
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    page, errors = _page(browser, "de-DE")
    response = page.goto(f"{base}/report/gibt-es-nicht/auch-nicht")
    assert response is not None
    assert response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    expect(page).to_have_title("Seite nicht gefunden")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("h1")).to_have_text("Seite nicht gefunden")
    expect(page.locator("body")).not_to_contain_text('"error"')  # not the API's JSON
    link = page.get_by_role("link", name="Sexuellen Missbrauch von Kindern im Internet melden")
    expect(link).to_be_visible()
    page.screenshot(path=str(_shots(tmp_path) / "public-404-de-1093.png"), full_page=True)
    # a method the page does not take, in Dutch this time
    nl, nl_errors = _page(browser, "nl-BE")
    nl.goto(f"{base}/trace/unknown-token/more")
    expect(nl.locator("h1")).to_have_text("Pagina niet gevonden")
    assert errors == nl_errors == []


def test_a_visitor_of_the_warning_page_reports_a_block_made_by_mistake(
    live_server: object, browser: Browser, tmp_path: Path
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    page, errors = _page(browser, "es-ES")
    page.goto(f"{base}/blocked?url=https://bakery.example.com/prices")
    expect(page.locator("h1")).to_have_text("Esta página ha sido bloqueada")
    link = page.get_by_role("link", name="Si cree que esta página se ha bloqueado por error")
    href = link.get_attribute("href")
    assert href is not None
    # the link is on the hub's public address (TASKFORCE_PUBLIC_URL); here, the test server's
    target = urlsplit(href)
    assert target.path == "/report/es"
    page.goto(f"{base}{target.path}?{target.query}")
    expect(page.locator("h1")).to_have_text("Una página bloqueada por error")
    expect(page.locator("input[name=url]")).to_have_value("https://bakery.example.com/prices")
    page.fill("textarea[name=why]", "Es la lista de precios de nuestra panadería (ficticia).")
    page.screenshot(path=str(_shots(tmp_path) / "block-mistake-form-es-1093.png"), full_page=True)
    page.click("button[type=submit]")
    expect(page.locator("body")).to_contain_text("Gracias")
    assert errors == []


@pytest.mark.url_check
@pytest.mark.hosts({"files.example.net": "203.0.113.10"})
def test_the_report_form_says_when_a_url_cannot_be_read_and_takes_it_anyway(
    live_server: object, browser: Browser, tmp_path: Path
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    page, errors = _page(browser, "en-GB")
    page.goto(f"{base}/report/en?kind=url")
    page.fill("input[name=url]", "https://no-such-site.example.net/gallery/7")
    page.fill("textarea[name=description]", "a fictional gallery")
    page.click("button[type=submit]")
    alert = page.locator("[role=alert]")
    expect(alert).to_contain_text("We could not open this address")
    expect(alert).to_contain_text("the site says the page does not exist")
    expect(page.locator("textarea[name=description]")).to_have_value("a fictional gallery")
    page.screenshot(path=str(_shots(tmp_path) / "report-url-unreadable-1093.png"), full_page=True)
    page.check("input[name=insist]")
    page.click("button[type=submit]")
    expect(page.locator("body")).to_contain_text("Your report has been received")
    assert errors == []


def test_the_api_docs_work_offline(live_server: object, browser: Browser, tmp_path: Path) -> None:
    """Swagger UI from the hub's own files: the browser (which reaches nothing else) renders
    the API's operations, and no request left for another host."""
    base = live_server.url  # type: ignore[attr-defined]
    page, errors = _page(browser, "en-GB")
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(base) else elsewhere.append(r.url))
    page.goto(f"{base}/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("taskforce")
    expect(page.locator(".opblock").first).to_be_visible()
    page.screenshot(path=str(_shots(tmp_path) / "api-docs-offline-1093.png"))
    assert elsewhere == []
    assert errors == []
