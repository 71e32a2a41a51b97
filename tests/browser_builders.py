"""What browser tests start from: an agency with an investigator who signs in with a password
through the real sign-in page."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.schemas import AgencyCreate
from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Caller, Role, system_caller

PASSWORD = "browser-test-password"
INVESTIGATOR = "inv@gb-nca.example.com"


def gb_investigator(session: Session) -> Caller:
    """GB-NCA registered and its investigator (`INVESTIGATOR`, `PASSWORD`); the investigator as
    a caller, to seed what the test then sees in the browser."""
    agency_service.register_agency(
        session,
        system_caller(),
        AgencyCreate(
            code="GB-NCA",
            name="GB-NCA (fictional)",
            country="GB",
            timezone="Europe/London",
            contact_desk="GB-NCA 24/7 desk",
            contact_phone="+442079460001",
            contact_email="desk@gb-nca.example.com",
        ),
    )
    user = auth_service.create_user(
        session,
        system_caller(),
        email=INVESTIGATOR,
        agency_code="GB-NCA",
        role=Role.INVESTIGATOR,
        password=PASSWORD,
    )
    return auth_service.caller_for(session, user, channel="cli")


def sign_in(page: Page, base: str, email: str = INVESTIGATOR, password: str = PASSWORD) -> None:
    """Through the sign-in page, landing on the start page."""
    page.goto(f"{base}/ui/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/ui/")
