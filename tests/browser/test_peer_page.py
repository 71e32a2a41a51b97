"""In a real browser: the network admin opens a peer's page from the Network page, ticks what
may cross, saves, and reads back in words what the peer receives; the page holds at a phone's
and a desktop's width (screenshots into $TASKFORCE_SCREENSHOTS when set)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from builders import PASSWORD, make_agency, make_person
from node_builders import OtherNode
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session

from taskforce.core.caller import Role, system_caller
from taskforce.core.settings import Settings
from taskforce.federation import identity, peering

pytestmark = pytest.mark.browser

ADMIN = "admin@eu-ec3.example.com"
PEER = OtherNode(name="NL national node", url="https://taskforce.nl.example.org")
WIDER_THAN_THE_WINDOW = """() => {
  const vw = window.innerWidth, out = [];
  if (document.documentElement.scrollWidth > vw) out.push('the page scrolls sideways');
  for (const el of document.querySelectorAll('main *')) {
    const r = el.getBoundingClientRect();
    if (r.width && r.right > vw + 1 && !el.closest('.table-wrap'))
      out.push(el.tagName + ' ' + (el.textContent || '').trim().slice(0, 40));
  }
  return out;
}"""


def seed(session: Session, settings: Settings) -> None:
    make_person(session, make_agency(session, "EU-EC3"), role=Role.NETWORK_ADMIN, email=ADMIN)
    peering.init_node(
        session, settings, system_caller(), name="GB national node", country="GB",
        url="https://taskforce.gb.example.org",
    )  # fmt: skip
    peer = peering.add_peer(session, system_caller(), identity.read_document(PEER.document()))
    peer.synced_at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    peer.feed_seq, peer.feed_head = 1200, 1450
    peer.sync_error = "NL national node did not answer within 10 s"
    peer.sync_failures, peer.next_sync_at = 2, datetime(2026, 3, 1, 9, 34, tzinfo=UTC)


@pytest.mark.seed.with_args(seed)
def test_the_admin_sets_what_a_peer_receives_in_the_browser(
    live_server: object, browser: Browser, tmp_path: Path
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    shots = Path(os.environ.get("TASKFORCE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    for width in (375, 1440):
        page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
        page.goto(f"{base}/ui/login")
        page.fill("input[name=email]", ADMIN)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{base}/ui/")
        page.goto(f"{base}/ui/network")
        page.click("text=Profile and status")
        expect(page).to_have_url(f"{base}/ui/network/peers/{PEER.id}")
        expect(page.locator("#lag")).to_contain_text("250 entries behind")
        if width == 375:
            expect(page.locator("#receives")).to_contain_text("Receives nothing.")
            page.check("input[name=kinds][value=email]")
            page.check("input[name=kinds][value=phone]")
            page.check("input[name=levels][value=red]")
            page.check("input[name=levels][value=amber]")
            page.click("text=Save profile")
            expect(page.locator("#receives")).to_contain_text(
                "Receives blinded tokens of e-mail and phone number selectors of RED and AMBER "
                "cases: it can match them, not read them."
            )
            expect(page.locator("input[name=kinds][value=email]")).to_be_checked()
        assert page.evaluate(WIDER_THAN_THE_WINDOW) == []
        page.screenshot(path=str(shots / f"network-peer-{width}.png"), full_page=True)
        page.context.close()
