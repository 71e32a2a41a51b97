"""In a real browser: the desk on duty writes its handover from the prefilled form, the
incoming desk finds it in its list and acknowledges it, and the outgoing desk sees that.

The rota hands the duty between GB-NCA and NL-NP every 12 hours around the clock, so one of
them is on duty whenever the test runs; the test asks the page which (no clock in the test)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.schemas import AgencyCreate, AgencyKind
from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Role, system_caller
from taskforce.core.settings import Settings
from taskforce.rota.models import DutyDesk, RotaRule, Rotation, RotationMember

pytestmark = pytest.mark.browser

PASSWORD = "a-long-browser-passphrase"
DESKS = {
    "GB-NCA": ("GB", "Europe/London", "+442079460001"),
    "NL-NP": ("NL", "Europe/Amsterdam", "+31201234567"),
}


def seed(session: Session, _settings: Settings) -> None:
    members = []
    for code, (country, zone, phone) in DESKS.items():
        agency = agency_service.register_agency(
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
        auth_service.create_user(
            session,
            system_caller(),
            email=f"investigator@{code.lower()}.example.com",
            agency_code=code,
            role=Role.INVESTIGATOR,
            password=PASSWORD,
        )
        desk = DutyDesk(
            agency_id=agency.id,
            time_zone=zone,
            languages=["en"],
            powers=["preservation"],
            reliable_hours=[],
            observes_holidays=False,
            is_active=True,
        )
        session.add(desk)
        session.flush()
        members.append(desk)
    rotation = Rotation(
        name="Follow the sun (fictional)",
        kind="hourly",
        shift_length=12,
        time_zone="UTC",
        starts_at=datetime(2026, 1, 5, tzinfo=UTC),
    )
    session.add(rotation)
    session.flush()
    for position, desk in enumerate(members):
        session.add(RotationMember(rotation_id=rotation.id, position=position, desk_id=desk.id))
    session.add(
        RotaRule(
            rotation_id=rotation.id,
            weekdays=list(range(7)),
            start="00:00",
            end="24:00",
            time_zone="UTC",
            label="around the clock",
        )
    )


def _sign_in(page: Page, base: str, code: str) -> None:
    page.goto(f"{base}/ui/login")
    page.fill("input[name=email]", f"investigator@{code.lower()}.example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/ui/")


@pytest.mark.seed.with_args(seed)
def test_the_outgoing_desk_writes_and_the_incoming_desk_acknowledges(
    browser: Browser, live_server: object, tmp_path: Path
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    writer = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    outgoing, incoming = "GB-NCA", "NL-NP"
    _sign_in(writer, base, outgoing)
    writer.goto(f"{base}/ui/watch/handovers")
    writer.click("text=Write a handover")
    expect(writer.locator("h1")).to_have_text("Write a handover")
    if writer.locator("text=is not on duty").count():  # the other desk holds the duty now
        outgoing, incoming = incoming, outgoing
        writer = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        _sign_in(writer, base, outgoing)
        writer.goto(f"{base}/ui/watch/handovers/new")
    expect(writer.locator("select[name=to_desk]")).to_have_value(incoming)
    writer.fill("textarea[name=notes]", "Provider call-back expected; nothing else open.")
    writer.click("text=Hand over to the incoming desk")
    expect(writer).to_have_url(re.compile(r"/ui/watch/handovers/[0-9a-f-]{36}$"))
    expect(writer.locator("h1")).to_have_text(f"Handover {outgoing} → {incoming}")
    expect(
        writer.locator(f"text=Only {incoming}, the incoming desk, acknowledges it.")
    ).to_be_visible()
    handover_url = writer.url

    reader = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _sign_in(reader, base, incoming)
    reader.goto(f"{base}/ui/watch/handovers")
    row = reader.locator("tr", has_text=f"{outgoing} → {incoming}")
    expect(row).to_contain_text("Waiting")
    row.get_by_role("link", name="Open", exact=True).click()
    expect(reader).to_have_url(handover_url)
    expect(reader.locator(".summary")).to_have_text(
        "Provider call-back expected; nothing else open."
    )
    reader.click("text=Acknowledge: my desk takes over")
    expect(reader.locator(".alert-ok")).to_contain_text(
        f"Acknowledged by investigator@{incoming.lower()}.example.com ({incoming})"
    )

    writer.reload()
    expect(writer.locator(".alert-ok")).to_contain_text("Acknowledged by")
    expect(writer.locator("button", has_text="Acknowledge")).to_have_count(0)

    # the three pages hold on a phone: nothing makes them scroll sideways
    writer.set_viewport_size({"width": 375, "height": 800})
    for path in ("/ui/watch/handovers?state=all", "/ui/watch/handovers/new", handover_url):
        writer.goto(path if path.startswith("http") else base + path)
        writer.screenshot(path=str(tmp_path / f"handover-{len(path)}-375.png"), full_page=True)
        wide = writer.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= 375, (path, wide)
