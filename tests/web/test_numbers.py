"""One number for one thing: the Hits badge of the header and the dashboard count the same
unacknowledged hits (one service function), before and after one is acknowledged."""

from __future__ import annotations

import re

from builders import Network, add_selector, csrf_field, make_case, web_login
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from taskforce.cases import hits as case_hits
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel


def _badge(html: str) -> int:
    found = re.search(r'href="/ui/hits"[^>]*>Hits <span class="count"[^>]*>(\d+)</span>', html)
    return int(found.group(1)) if found else 0


def _dashboard(html: str) -> int:
    found = re.search(r'id="hits-waiting"><span class="stat-n">(\d+)</span>', html)
    assert found, "the dashboard shows no count of unacknowledged hits"
    return int(found.group(1))


def test_badge_and_dashboard_count_the_same_hits(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    gb_case = make_case(session, network.gb, sharing=SharingLevel.GREEN)
    nl_case = make_case(session, network.nl, sharing=SharingLevel.GREEN)
    for value in ("one@example.com", "two@example.com"):
        add_selector(session, settings, network.gb, gb_case, "email", value)
        add_selector(session, settings, network.nl, nl_case, "email", value)
    # the analyst was notified of nothing, yet two hits wait for the agency
    token = web_login(client, session, network.gb_analyst)
    home = client.get("/ui/").text
    assert _badge(home) == _dashboard(home) == 2
    assert case_hits.unacknowledged_count(session, network.gb_analyst.caller) == 2

    hit = case_hits.list_hits(session, network.gb_analyst.caller, unacknowledged=True)[0]
    done = client.post(
        f"/ui/hits/{hit.id}/assess",
        data={"csrf_token": token, "assessment": "related"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    home = client.get("/ui/").text
    assert _badge(home) == _dashboard(home) == 1
    hits_page = client.get("/ui/hits").text
    assert _badge(hits_page) == 1
    assert csrf_field(hits_page)
    # NL-NP has acknowledged nothing: both its hits still wait for it
    assert case_hits.unacknowledged_count(session, network.nl.caller) == 2
