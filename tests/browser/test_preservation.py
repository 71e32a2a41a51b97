"""In a real browser: a desk records a preservation request from the form (a bad identifier is
refused naming its line, what was typed stays), lands on the request's page with its
normalised identifiers and the hit another agency's case made, extends it once, and finds it
in its list; the other agency's desk gets "not found" for it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.schemas import AgencyCreate, AgencyKind
from taskforce.cases import additions as case_additions
from taskforce.cases import service as case_service
from taskforce.cases.schemas import CaseCreate, SelectorCreate
from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Role, system_caller
from taskforce.core.settings import Settings

pytestmark = pytest.mark.browser

PASSWORD = "a-long-browser-passphrase"
DESKS = {
    "GB-NCA": ("GB", "Europe/London", "+442079460001"),
    "NL-NP": ("NL", "Europe/Amsterdam", "+31201234567"),
}


def seed(session: Session, settings: Settings) -> None:
    """Two desks; NL-NP's RED case already holds the address GB-NCA will ask a provider about."""
    users = {}
    for code, (country, zone, phone) in DESKS.items():
        agency_service.register_agency(
            session,
            system_caller(),
            AgencyCreate(
                code=code,
                name=f"{code} (fictional)",
                country=country,
                timezone=zone,
                contact_desk=f"{code} 24/7 desk",
                contact_phone=phone,
                contact_email=f"desk@{code.lower()}.example.com",
                kind=AgencyKind.LAW_ENFORCEMENT,
            ),
        )
        users[code] = auth_service.create_user(
            session,
            system_caller(),
            email=f"investigator@{code.lower()}.example.com",
            agency_code=code,
            role=Role.INVESTIGATOR,
            password=PASSWORD,
        )
    nl = auth_service.caller_for(session, users["NL-NP"], channel="web")
    case = case_service.open_case(session, nl, CaseCreate(title="Operation Heron"))
    case_additions.add_selector(
        session,
        nl,
        settings,
        case_id=case.id,
        data=SelectorCreate(type="email", value="night.fox@example.com"),
    )


def _sign_in(page: Page, base: str, code: str) -> None:
    page.goto(f"{base}/ui/login")
    page.fill("input[name=email]", f"investigator@{code.lower()}.example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/ui/")


@pytest.mark.seed.with_args(seed)
def test_a_desk_records_a_preservation_from_the_form(browser: Browser, live_server: object) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _sign_in(page, base, "GB-NCA")
    page.click("nav.mainnav >> text=24/7 watch")
    page.click("nav.tabs >> text=Preservation requests")
    expect(page.locator("h1")).to_have_text("Preservation requests")
    page.get_by_role("link", name="Record a request").click()
    expect(page.locator("h1")).to_have_text("Record a preservation request")
    expect(page.locator("input[name=requesting_country]")).to_have_value("GB")

    page.fill("input[name=provider]", "Fictional Mail Ltd")
    page.fill("input[name=provider_country]", "IE")
    page.fill("textarea[name=identifiers]", "email:Night.Fox@Example.COM\nphone:not a number")
    page.fill("input[name=provider_reference]", "FM-2207")
    page.get_by_role("button", name="Record the request").click()
    expect(page.locator("#err-identifiers")).to_contain_text("Line 2 (value)")
    expect(page.locator("input[name=provider]")).to_have_value("Fictional Mail Ltd")

    page.fill("textarea[name=identifiers]", "email:Night.Fox@Example.COM\nip:203.0.113.9")
    page.get_by_role("button", name="Record the request").click()
    expect(page).to_have_url(re.compile(r"/ui/preservations/[0-9a-f-]{36}$"))
    expect(page.locator("h1")).to_contain_text(re.compile(r"Preservation PR-GB-\d{4}-0001"))
    expect(page.locator("h1")).to_contain_text("Sent")
    expect(page.locator("text=night.fox@example.com").first).to_be_visible()
    expect(page.locator("text=1 hit with other agencies").first).to_be_visible()
    request_url = page.url

    page.get_by_role("button", name="Extend once").click()
    expect(page.locator("h1")).to_contain_text("Extended")
    expect(page.get_by_role("button", name="Extend once")).to_have_count(0)  # once only

    page.goto(f"{base}/ui/preservations")
    row = page.locator("tr", has_text="Fictional Mail Ltd")
    expect(row).to_contain_text("FM-2207")
    expect(row).to_contain_text("Extended")

    other = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _sign_in(other, base, "NL-NP")
    response = other.goto(request_url)
    assert response is not None
    assert response.status == 404
    expect(other.locator("body")).not_to_contain_text("Fictional Mail")

    # on a phone the pages do not scroll sideways (wide tables scroll inside their cards)
    phone = browser.new_context(viewport={"width": 375, "height": 800}).new_page()
    _sign_in(phone, base, "GB-NCA")
    for path in ("/ui/preservations", "/ui/preservations/new", "/ui/preservations/counts"):
        phone.goto(f"{base}{path}")
        wide = phone.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 0, (path, wide)
    phone.goto(request_url)
    wide = phone.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 0, (request_url, wide)
