"""In a real browser, with the in-process worker of the embedded default: a member of the public
reports a URL; the worker routes it to the hotline of the country where it is hosted; the
hotline's analyst sees why, confirms it, and the takedown notice goes out. A child in danger
reaches the police desk, which acknowledges the lead; another hotline sees neither."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_builders import PASSWORD, sign_in
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.schemas import AgencyCreate, AgencyKind
from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Role, system_caller
from taskforce.core.settings import Settings
from taskforce.hosting import networks as hosting_networks

NETWORKS = """network,provider,asn,country,abuse_email
203.0.113.0/26,Fictional Hosting NL B.V.,64500,NL,abuse@nlhost.example.net
"""

pytestmark = pytest.mark.browser


def seed(session: Session, _settings: Settings) -> None:
    for code, country, tz, phone, kind in (
        ("NL-HOTLINE", "NL", "Europe/Amsterdam", "+31201234500", AgencyKind.HOTLINE),
        ("NL-NP", "NL", "Europe/Amsterdam", "+31201234567", AgencyKind.LAW_ENFORCEMENT),
        ("GB-HOTLINE", "GB", "Europe/London", "+442079460100", AgencyKind.HOTLINE),
        ("INT-COORD", "FR", "Europe/Paris", "+33199001234", AgencyKind.COORDINATOR),
    ):
        agency_service.register_agency(
            session,
            system_caller(),
            AgencyCreate(
                code=code,
                name=f"{code} (fictional)",
                country=country,
                timezone=tz,
                contact_desk=f"{code} 24/7 desk",
                contact_phone=phone,
                contact_email=f"desk@{code.lower()}.example.com",
                kind=kind,
            ),
        )
        auth_service.create_user(
            session,
            system_caller(),
            email=f"analyst@{code.lower()}.example.com",
            agency_code=code,
            role=Role.ANALYST,
            password=PASSWORD,
        )
    hosting_networks.import_networks(
        session, system_caller(), NETWORKS.splitlines(keepends=True), source="browser test"
    )


def report(page: Page, base: str, kind: str, country: str, fields: dict[str, str]) -> None:
    page.goto(f"{base}/report")
    page.check(f"input[name=kind][value={kind}]")
    page.select_option("select[name=country]", country)
    page.click("button[type=submit]")
    for name, value in fields.items():
        page.fill(f"[name={name}]", value)
    page.click("button[type=submit]")
    expect(page.locator("body")).to_contain_text("Your report has been received")


@pytest.mark.seed.with_args(seed)
@pytest.mark.hosts({"files.example.net": "203.0.113.10"})
def test_a_public_report_is_routed_confirmed_and_noticed(
    live_server: object, browser: Browser, tmp_path: Path
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    public = browser.new_page()
    report(public, base, "url", "GB", {"url": "https://files.example.net/gallery/7"})
    report(public, base, "danger", "NL", {"what": "(fictional) a child is being hurt now"})
    assert public.context.cookies() == []  # the public pages set no cookie

    analyst = browser.new_context().new_page()
    sign_in(analyst, base, "analyst@nl-hotline.example.com")
    analyst.goto(f"{base}/ui/hotline")
    link = analyst.locator("a.ref").first
    expect(link).to_be_visible(timeout=15_000)  # routed by the in-process worker
    for _ in range(30):  # the queue shows where it is hosted once routing is done
        if "routing…" not in analyst.content():
            break
        analyst.wait_for_timeout(500)
        analyst.reload()
    link = analyst.locator("a.ref").first
    link.click()
    body = analyst.locator("body")
    expect(body).to_contain_text("files.example.net resolved to 203.0.113.10")
    expect(body).to_contain_text("routed to NL-HOTLINE, the hotline of NL")
    expect(body).to_contain_text("Fictional Hosting NL B.V.")
    analyst.check("input[name=assessment][value=illegal_material]")
    analyst.select_option("select[name=category]", "baseline")
    analyst.click("text=Save assessment")
    expect(body).to_contain_text("What followed")
    expect(body).to_contain_text("added in version 1")
    analyst.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    analyst.click("a.ref >> text=/^TD-/")
    expect(body).to_contain_text("Notice sent to abuse@nlhost.example.net")
    analyst.screenshot(path=str(tmp_path / "notice.png"), full_page=True)

    police = browser.new_context().new_page()
    sign_in(police, base, "analyst@nl-np.example.com")
    expect(police.locator("nav.mainnav")).to_contain_text(re.compile(r"Leads\s*1"))
    police.goto(f"{base}/ui/leads")
    police.locator("a", has_text=re.compile("Child in immediate danger|danger", re.I)).first.click()
    expect(police.locator("body")).to_contain_text("(fictional) a child is being hurt now")
    police.fill("textarea[name=note]", "(fictional) patrol on its way")
    police.locator("button", has_text="Acknowledge").click()
    expect(police.locator("body")).to_contain_text("Acknowledged")

    other = browser.new_context().new_page()
    sign_in(other, base, "analyst@gb-hotline.example.com")
    other.goto(f"{base}/ui/hotline?view=all")
    expect(other.locator("body")).to_contain_text("No report here.")
    lead_path = police.url.removeprefix(base)
    response = other.goto(f"{base}{lead_path}")
    assert response is not None
    assert response.status == 404
