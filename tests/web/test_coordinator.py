"""The coordinator's seat: the network admin of the coordinating agency reaches the leads, the
hotline, the block list and the statistics by the permissions of its role, and its dashboard
shows the network (open urgent leads, unacknowledged hits per agency, reports waiting per
hotline, takedown notices past deadline), each figure from its domain's service."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from builders import Person, add_selector, make_case, make_person, web_login
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from watch_builders import Watch, make_report, make_watch, open_lead

from taskforce.agencies.models import Agency
from taskforce.cases import hits as case_hits
from taskforce.cases.schemas import Assessment
from taskforce.core.caller import Permission, Role
from taskforce.core.db import utcnow
from taskforce.core.errors import Forbidden
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.reports import queue as reports_queue
from taskforce.takedown import removal
from taskforce.takedown.models import TakedownNotice
from taskforce.watch import reading as watch_reading
from taskforce.watch import service as watch_service

PAGES = (
    "/ui/leads",
    "/ui/hotline",
    "/ui/blocklist",
    "/ui/takedown",
    "/ui/takedown/statistics",
    "/ui/statistics/identification",
    "/ui/hosting",
    "/ui/audit",
)


@pytest.fixture
def watch(session: Session) -> Watch:
    return make_watch(session)


def _agency(session: Session, code: str) -> Agency:
    return session.scalars(select(Agency).where(Agency.code == code)).one()


def _coordinator(session: Session) -> Person:
    return make_person(session, _agency(session, "INT-WATCH"), role=Role.NETWORK_ADMIN)


@pytest.mark.usefixtures("watch")
def test_the_coordinator_opens_every_page_of_its_seat(client: TestClient, session: Session) -> None:
    admin = _coordinator(session)
    assert admin.caller.can(Permission.HANDLE_REPORTS)
    assert admin.caller.can(Permission.OVERSEE_NETWORK)
    web_login(client, session, admin)
    home = client.get("/ui/")
    for href in ("/ui/leads", "/ui/hotline", "/ui/audit"):
        assert f'href="{href}"' in home.text, href  # reachable from the navigation
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, (path, page.status_code)


def test_the_network_section_is_the_coordinators_only(
    client: TestClient, session: Session, watch: Watch
) -> None:
    for person in (watch.gb, watch.coord):  # an investigator; an analyst at the coordinator
        assert not person.caller.can(Permission.OVERSEE_NETWORK)
        with pytest.raises(Forbidden):
            watch_reading.open_leads(session, person.caller)
        with pytest.raises(Forbidden):
            case_hits.unacknowledged_per_agency(session, person.caller)
        with pytest.raises(Forbidden):
            reports_queue.waiting_per_agency(session, person.caller)
        with pytest.raises(Forbidden):
            removal.past_deadline(session, person.caller, now=utcnow())
    web_login(client, session, watch.gb)
    assert 'id="network"' not in client.get("/ui/").text


def _section(html: str, name: str) -> str:
    match = re.search(rf'<section class="card" id="network-{name}">(.*?)</section>', html, re.S)
    assert match, name
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1)))


def test_the_coordinators_dashboard_shows_the_network(
    client: TestClient, session: Session, settings: Settings, watch: Watch
) -> None:
    now = utcnow()
    # an urgent lead nobody took, 25 minutes old; another one GB-NCA took
    waiting = open_lead(session, settings, country="NL", received_at=now - timedelta(minutes=25))
    taken = open_lead(session, settings, country="GB", received_at=now - timedelta(minutes=5))
    watch_service.acknowledge(session, watch.gb.caller, taken.id)
    # two hits between GB-NCA and NL-NP, one acknowledged by GB-NCA
    gb_case = make_case(session, watch.gb, sharing=SharingLevel.GREEN)
    nl_case = make_case(session, watch.nl, sharing=SharingLevel.GREEN)
    for value in ("shared@example.com", "other@example.com"):
        add_selector(session, settings, watch.gb, gb_case, "email", value)
        add_selector(session, settings, watch.nl, nl_case, "email", value)
    first = case_hits.list_hits(session, watch.gb.caller, unacknowledged=True)[0]
    case_hits.assess_hit(session, watch.gb.caller, first.id, Assessment.RELATED)
    # three new reports at GB-IWF (one two days old), one at nobody (the coordinator's)
    iwf = _agency(session, "GB-IWF")
    for age in (timedelta(days=2), timedelta(hours=1), timedelta(minutes=3)):
        report = make_report(session, kind="url", received_at=now - age)
        report.urgent = False
        report.receiving_agency_id = iwf.id
    # a takedown notice of IE-HL three hours past its deadline; one of GB-IWF still in time
    for agency, deadline in ((_agency(session, "IE-HL"), -3), (iwf, 5)):
        session.add(
            TakedownNotice(
                agency_id=agency.id,
                url="https://files.example.net/x",
                url_hash="0" * 64,
                host="files.example.net",
                status="open",
                deadline_at=now + timedelta(hours=deadline),
            )
        )
    session.flush()

    web_login(client, session, _coordinator(session))
    page = client.get("/ui/")
    assert page.status_code == 200
    leads = _section(page.text, "leads")
    assert waiting.id.hex[:8].upper() in leads
    assert taken.id.hex[:8].upper() not in leads
    assert re.search(r"Child in immediate danger (25|26) min NL-NP", leads)
    hits = _section(page.text, "hits")
    assert re.search(r"GB-NCA GB-NCA \(fictional\) 1 ", hits)
    assert re.search(r"NL-NP NL-NP \(fictional\) 2 ", hits)
    reports = _section(page.text, "reports")
    assert re.search(r"GB-IWF GB-IWF \(fictional\) 3 0 2(\.0)? days", reports)
    # the two leads' reports nobody routed: two new, one still urgent (a desk took the other)
    assert re.search(r"no member: the coordinator 2 1 (25|26) min", reports)
    overdue = _section(page.text, "takedown")
    assert re.search(r"IE-HL IE-HL \(fictional\) 1 (3(\.0)? h|180 min)", overdue)
    assert "GB-IWF" not in overdue
