"""In a real browser: an investigator of agency A adds a selector that agency B also holds →
both see the hit; agency C sees nothing."""

from __future__ import annotations

import uuid

import pytest
from browser_builders import PASSWORD, sign_in
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.schemas import AgencyCreate
from taskforce.cases import additions as case_additions
from taskforce.cases import service as case_service
from taskforce.cases.schemas import CaseCreate, SelectorCreate
from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Role, system_caller
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel

CASE_IDS: dict[str, uuid.UUID] = {}

pytestmark = pytest.mark.browser


def seed(session: Session, settings: Settings) -> None:
    for code, country, tz, phone in (
        ("GB-NCA", "GB", "Europe/London", "+442079460001"),
        ("NL-NP", "NL", "Europe/Amsterdam", "+31201234567"),
        ("US-HSI", "US", "America/New_York", "+12025550123"),
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
            ),
        )
        user = auth_service.create_user(
            session,
            system_caller(),
            email=f"inv@{code.lower()}.example.com",
            agency_code=code,
            role=Role.INVESTIGATOR,
            password=PASSWORD,
        )
        caller = auth_service.caller_for(session, user, channel="cli")
        case = case_service.open_case(
            session,
            caller,
            CaseCreate(title=f"Operation {code} Heron", sharing=SharingLevel.GREEN),
        )
        CASE_IDS[code] = case.id
        if code == "NL-NP":
            case_additions.add_selector(
                session,
                caller,
                settings,
                case_id=case.id,
                data=SelectorCreate(type="username", value="@Night_Owl", platform="chatapp"),
            )


@pytest.mark.seed.with_args(seed)
def test_both_sides_see_the_hit_and_the_third_agency_nothing(
    live_server: object, browser: Browser
) -> None:
    base = live_server.url  # type: ignore[attr-defined]

    a = browser.new_context().new_page()
    sign_in(a, base, "inv@gb-nca.example.com")
    a.goto(f"{base}/ui/cases/{CASE_IDS['GB-NCA']}")
    a.select_option("select[name=type]", "username")
    a.fill("input[name=value]", "night_owl")
    a.fill("input[name=platform]", "ChatApp")
    a.click("text=Add and deconflict")
    expect(a.locator("#selectors")).to_contain_text("1 new hit")
    expect(a.locator("#selectors")).to_contain_text("Operation NL-NP Heron")

    b = browser.new_context().new_page()
    sign_in(b, base, "inv@nl-np.example.com")
    b.goto(f"{base}/ui/hits")
    expect(b.locator("main")).to_contain_text("Operation GB-NCA Heron")
    expect(b.locator("main")).to_contain_text("night_owl")

    c = browser.new_context().new_page()
    sign_in(c, base, "inv@us-hsi.example.com")
    c.goto(f"{base}/ui/hits")
    expect(c.locator("main")).to_contain_text("No hit on your agency's cases yet")
    assert "night_owl" not in c.content()
    c.goto(f"{base}/ui/")
    assert "night_owl" not in c.content()
