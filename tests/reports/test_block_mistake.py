"""A visitor of /blocked can say the block is wrong: the warning page links the report form's
"blocked by mistake" kind, the report goes to the queue of the agency that keeps the entry
blocking the address (the coordinator's when none does), it is rate-limited like every public
report, and the visitor is told the same whether or not the address is listed."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from hotline_builders import Hotlines, form_token
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.blocklist import service as blocklist_service
from taskforce.blocklist.schemas import EntryCreate
from taskforce.reports import intake, queue
from taskforce.reports.models import Report, RoutingStep

LISTED = "https://files.example.net/shop"


def _mistake_link(page: str) -> str:
    links = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', page)]
    (link,) = [h for h in links if "block_mistake" in h]
    return link


def _send_mistake(client: TestClient, url: str, **more: str) -> str:
    form = client.get("/report/en?kind=block_mistake")
    assert form.status_code == 200
    data = {
        "form_token": form_token(form.text),
        "kind": "block_mistake",
        "lang": "en",
        "url": url,
        "why": "This is our bakery's price list; there is nothing else on the page.",
        **more,
    }
    r = client.post("/report", data=data)
    assert r.status_code in (200, 429), r.text
    return r.text


def test_the_warning_page_links_a_form_for_a_block_made_by_mistake(client: TestClient) -> None:
    page = client.get(f"/blocked?lang=es&url={LISTED}")
    assert "esa misma página" not in page.text  # no promise of a route that does not exist
    link = _mistake_link(page.text)
    parts = urlsplit(link)
    assert parts.path == "/report/es"
    assert parse_qs(parts.query) == {"kind": ["block_mistake"], "url": [LISTED]}
    form = client.get(f"{parts.path}?{parts.query}")
    assert form.status_code == 200
    assert "Una página bloqueada por error" in form.text
    assert f'value="{LISTED}"' in form.text  # the blocked address filled in
    assert 'name="why"' in form.text
    # the general chooser does not offer it: it is the warning page's
    assert 'value="block_mistake"' not in client.get("/report/en").text


def test_the_report_goes_to_the_entrys_keeper_and_appears_in_its_queue(
    client: TestClient, session: Session, hotlines: Hotlines
) -> None:
    blocklist_service.add_entry(
        session,
        hotlines.nl_hotline.caller,
        EntryCreate(url="https://files.example.net/shop", match="prefix", category="x"),
    )
    session.flush()
    thanks_listed = _send_mistake(client, "files.example.net/shop/prices?page=2")
    thanks_unlisted = _send_mistake(client, "https://bakery.example.com/")
    # the visitor learns nothing about the list: the same page, only the receipt differs
    strip = re.compile(r"[A-Z0-9]{4}(-[A-Z0-9]{4})+")
    assert strip.sub("", thanks_listed) == strip.sub("", thanks_unlisted)

    listed, unlisted = (
        session.scalars(select(Report).where(Report.details["url"].as_string() == url)).one()
        for url in ("files.example.net/shop/prices?page=2", "https://bakery.example.com/")
    )
    nl = hotlines.nl_hotline.caller
    assert listed.kind == "block_mistake"
    assert listed.receiving_agency_id == nl.agency_id
    assert not listed.urgent
    assert set(listed.details) <= {"url", "url_normalised", "why", "contact"}
    steps = session.scalars(select(RoutingStep).where(RoutingStep.report_id == listed.id)).all()
    assert any("kept by NL-HOTLINE" in s.outcome for s in steps)
    assert [row.report.id for row in queue.queue(session, nl)] == [listed.id]
    # an address no entry blocks goes to the network coordinator
    assert unlisted.receiving_agency_id == hotlines.coordinator.caller.agency_id
    assert unlisted.id in [r.report.id for r in queue.queue(session, hotlines.coordinator.caller)]
    assert listed.id not in [r.report.id for r in queue.queue(session, hotlines.gb_hotline.caller)]


def test_a_removed_entry_no_longer_decides(session: Session, hotlines: Hotlines) -> None:
    entry = blocklist_service.add_entry(
        session, hotlines.gb_hotline.caller, EntryCreate(url=LISTED, match="exact")
    )
    assert blocklist_service.entry_blocking(session, LISTED) is entry
    assert blocklist_service.entry_blocking(session, LISTED + "/deeper") is None  # exact only
    blocklist_service.remove_entry(session, hotlines.gb_hotline.caller, entry.id, reason="gone")
    assert blocklist_service.entry_blocking(session, LISTED) is None


@pytest.mark.usefixtures("hotlines")
def test_mistake_reports_are_rate_limited_like_every_public_report(
    client: TestClient, session: Session
) -> None:
    pages = [
        _send_mistake(client, f"https://bakery.example.com/{i}")
        for i in range(intake.REPORTS_PER_ADDRESS + 1)
    ]
    assert "too many reports from your connection" in pages[-1]
    count = session.scalars(select(Report).where(Report.kind == "block_mistake")).all()
    assert len(count) == intake.REPORTS_PER_ADDRESS
