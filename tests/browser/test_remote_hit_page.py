"""In a real browser: an investigator finds a cross-node hit in the hits inbox, marked with the
other node, opens it, reads whom to call, and asks the other node to release the details; the
owning agency's investigator decides on their own page. Both pages hold at a phone's and a
desktop's width (screenshots into $TASKFORCE_SCREENSHOTS when set)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from builders import PASSWORD, make_agency, make_person
from hit_builders import remote_hit
from node_builders import OtherNode
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from taskforce.cases.models import Selector
from taskforce.core.caller import system_caller
from taskforce.core.settings import Settings
from taskforce.federation import identity, peering, release
from taskforce.federation.models import Publication
from taskforce.federation.schemas import ReleaseAsk

pytestmark = pytest.mark.browser

INVESTIGATOR = "investigator.gb-nca@example.com"
# a loopback port nothing listens on: the worker's deliveries fail (kept, retried), as offline
PEER = OtherNode(name="NL national node", url="http://127.0.0.1:9")
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
REQUEST = uuid.UUID("7e1ea5e0-0000-4000-8000-000000000001")


def seed(session: Session, settings: Settings) -> None:
    gb = make_person(session, make_agency(session, "GB-NCA"), email=INVESTIGATOR)
    peering.init_node(
        session, settings, system_caller(), name="GB national node", country="GB",
        url="https://taskforce.gb.example.org",
    )  # fmt: skip
    peering.add_peer(session, system_caller(), identity.read_document(PEER.document()))
    hit = remote_hit(session, settings, gb, PEER, "harbour.contact@example.com")
    # and a request from the other node about the same case, waiting for GB's decision
    selector = session.get(Selector, hit.selector_id)
    assert selector is not None
    session.add(Publication(peer_id=PEER.id, selector_id=selector.id, ref="r-1", fingerprint="f"))
    session.flush()
    release.receive_request(
        session,
        PEER.id,
        PEER.name,
        ReleaseAsk(
            id=REQUEST,
            ref="r-1",
            kind="email",
            requester="Jan Jansen (Politie (fictional))",
            requester_agency_id=uuid.uuid4(),
            reason="The address opened accounts in our grooming case; we need to coordinate",
        ),
    )


def sign_in(page: Page, base: str) -> None:
    page.goto(f"{base}/ui/login")
    page.fill("input[name=email]", INVESTIGATOR)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/ui/")


@pytest.mark.seed.with_args(seed)
def test_an_investigator_reads_a_cross_node_hit_and_asks_for_release(
    live_server: object, browser: Browser, tmp_path: Path
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    shots = Path(os.environ.get("TASKFORCE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    for width in (375, 1440):
        page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
        sign_in(page, base)
        page.goto(f"{base}/ui/hits")
        expect(page.locator("main")).to_contain_text("node NL national node")
        assert page.evaluate(WIDER_THAN_THE_WINDOW) == []
        page.screenshot(path=str(shots / f"cross-node-inbox-{width}.png"), full_page=True)
        page.click("text=Email hit")
        expect(page.locator("main")).to_contain_text(
            "An agency on node NL national node holds a matching email selector."
        )
        expect(page.locator("main")).to_contain_text("NL-POL 24/7 desk")
        if width == 375:
            page.fill("textarea[name=reason]", "Same suspect in our case: we need to coordinate")
            page.click("text=Ask node NL national node to release")
            expect(page.locator("#releases")).to_contain_text("waiting for node NL national node")
        assert page.evaluate(WIDER_THAN_THE_WINDOW) == []
        page.screenshot(path=str(shots / f"cross-node-hit-{width}.png"), full_page=True)

        page.goto(f"{base}/ui/releases/{REQUEST}")
        expect(page.locator("main")).to_contain_text("Jan Jansen (Politie (fictional))")
        assert page.evaluate(WIDER_THAN_THE_WINDOW) == []
        page.screenshot(path=str(shots / f"release-request-{width}.png"), full_page=True)
