"""What browser tests start from: an agency with an investigator who signs in with a password
through the real sign-in page."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page, expect
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


@dataclass
class Watched:
    """A page whose console and requests are watched: `refused` holds what the strict policy
    refused (the console's "Refused …" lines), `images` every image the page asked for;
    screenshots go to `shots` ($TASKFORCE_SCREENSHOTS when set, else the test's folder)."""

    page: Page
    shots: Path
    refused: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


def watched_page(browser: Browser, width: int, tmp_path: Path) -> Watched:
    """A new page `width` pixels wide, watched from its first request."""
    shots = Path(os.environ.get("TASKFORCE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    watched = Watched(browser.new_page(viewport={"width": width, "height": 900}), shots)
    refused, images = watched.refused, watched.images
    watched.page.on("console", lambda m: refused.append(m.text) if "Refused" in m.text else None)
    watched.page.on(
        "request", lambda r: images.append(r.url) if r.resource_type == "image" else None
    )
    return watched
