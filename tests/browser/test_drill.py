"""In a real browser: a desk opens a reachability drill's link (no login), acknowledges it with
one button, and the coordinator then finds the answer on the statistics page and the drills
page. The drill was sent five minutes before the test; nothing is asserted of the clock."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.schemas import AgencyCreate, AgencyKind
from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Role, system_caller
from taskforce.core.db import utcnow
from taskforce.core.settings import Settings
from taskforce.rota.models import DutyDesk
from taskforce.watch.models import Drill

pytestmark = pytest.mark.browser

PASSWORD = "a-long-browser-passphrase"
SECRET = "a-drill-secret-for-the-browser-test-0123456789"


def _agency(session: Session, code: str, country: str, zone: str, kind: AgencyKind) -> None:
    agency_service.register_agency(
        session,
        system_caller(),
        AgencyCreate(
            code=code,
            name=f"{code} (fictional)",
            country=country,
            timezone=zone,
            contact_desk=f"{code} 24/7 desk",
            contact_phone="+31201234567" if country == "NL" else "+33199000001",
            contact_email=f"desk@{code.lower()}.example.com",
            kind=kind,
        ),
    )


def seed(session: Session, _settings: Settings) -> None:
    _agency(session, "NL-NP", "NL", "Europe/Amsterdam", AgencyKind.LAW_ENFORCEMENT)
    _agency(session, "INT-WATCH", "FR", "Europe/Paris", AgencyKind.COORDINATOR)
    auth_service.create_user(
        session,
        system_caller(),
        email="admin@int-watch.example.com",
        agency_code="INT-WATCH",
        role=Role.NETWORK_ADMIN,
        password=PASSWORD,
    )
    nl = agency_service.get_by_code(session, "NL-NP")
    desk = DutyDesk(agency_id=nl.id, time_zone="Europe/Amsterdam", languages=["nl", "en"])
    session.add(desk)
    session.flush()
    sent = utcnow() - timedelta(minutes=5)
    session.add(
        Drill(
            desk_id=desk.id,
            window_start=sent - timedelta(hours=1),
            window_end=sent + timedelta(hours=1),
            send_at=sent,
            sent_at=sent,
            check_at=sent + timedelta(hours=4),
            secret_hash=hashlib.sha256(SECRET.encode()).hexdigest(),
            created_by="admin@int-watch.example.com (INT-WATCH)",
        )
    )


@pytest.mark.seed.with_args(seed)
def test_a_drill_acknowledged_from_its_link_shows_in_the_statistics(
    browser: Browser, live_server: object
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    desk = browser.new_context(viewport={"width": 390, "height": 800}).new_page()  # a phone
    desk.goto(f"{base}/drills/{SECRET}")
    expect(desk.locator("h1")).to_have_text("Reachability test of the 24/7 desk of NL-NP")
    expect(desk.locator("text=This is a drill")).to_be_visible()
    desk.fill("input[name=name]", "Duty officer (fictional)")
    desk.click("text=Acknowledge the drill")
    expect(desk.locator(".alert-ok")).to_contain_text("by Duty officer (fictional)")
    expect(desk.locator("button", has_text="Acknowledge")).to_have_count(0)
    desk.goto(f"{base}/drills/not-the-secret")
    expect(desk.locator("h1")).to_have_text("Drill not found")

    hub = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    hub.goto(f"{base}/ui/login")
    hub.fill("input[name=email]", "admin@int-watch.example.com")
    hub.fill("input[name=password]", PASSWORD)
    hub.click("button[type=submit]")
    expect(hub).to_have_url(f"{base}/ui/")
    hub.goto(f"{base}/ui/watch/statistics")
    drills = hub.locator("tr", has_text="Drills: 1")
    expect(drills).to_contain_text("NL-NP")
    cells = drills.locator("td")
    expect(cells.nth(2)).to_have_text("1")  # acknowledged
    expect(cells.nth(3)).to_have_text("0")  # not acknowledged
    expect(hub.locator("text=method='inclusive'")).to_be_visible()
    hub.click("nav.tabs >> text=Drills")
    row = hub.locator("tr", has_text="NL-NP")
    expect(row).to_contain_text("Acknowledged")
    expect(row).to_contain_text("by Duty officer (fictional)")
