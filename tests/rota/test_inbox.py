"""The inbox page lists the agency's notices (a new gap in the rota told to the coordinator)
above its hits, the header's badge counts the unread ones, and marking one read is the
agency's alone (another agency gets 404 and never sees it)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from builders import csrf_field, web_login
from fastapi.testclient import TestClient
from rota_builders import NOW, RotaNet
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.core.inbox.models import InboxNotice
from taskforce.rota import directory
from taskforce.rota.schemas import UnavailabilityCreate

TITLE = "New gap in the 24/7 rota: Any desk on duty, from Tue 08 Dec 2026 01:00 UTC"


def _badge(html: str) -> int:
    found = re.search(r'href="/ui/hits"[^>]*>Hits <span class="count"[^>]*>(\d+)</span>', html)
    return int(found.group(1)) if found else 0


def test_a_gap_notice_in_the_coordinators_inbox(
    client: TestClient, session: Session, net: RotaNet
) -> None:
    directory.add_unavailability(
        session,
        net.coord.caller,
        net.desks["US-HSI"].id,
        UnavailabilityCreate(
            starts_at=datetime(2026, 12, 8, 1, tzinfo=UTC),
            ends_at=datetime(2026, 12, 8, 3, tzinfo=UTC),
            reason="storm",
        ),
        now=NOW,
    )
    [notice] = session.scalars(select(InboxNotice)).all()
    token = web_login(client, session, net.coord)
    home = client.get("/ui/").text
    assert _badge(home) == 1
    page = client.get("/ui/hits").text
    assert _badge(page) == 1
    assert TITLE in page
    assert 'href="/ui/rota/gaps"' in page
    assert "1 unread · 1 in all" in page
    assert "Tue 08 Dec 2026 02:00 CET (Europe/Paris)" in page  # the body, in Details

    done = client.post(
        f"/ui/hits/notices/{notice.id}/read", data={"csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/ui/hits#notices"
    page = client.get("/ui/hits").text
    assert _badge(page) == 0
    assert "0 unread · 1 in all" in page
    assert "Read by coordinator@example.com (INT-WATCH)" in page
    no_csrf = client.post(f"/ui/hits/notices/{notice.id}/read", data={}, follow_redirects=False)
    assert no_csrf.status_code in (400, 403)

    client.post("/ui/logout", data={"csrf_token": csrf_field(page)})
    other = web_login(client, session, net.gb)
    page = client.get("/ui/hits").text
    assert TITLE not in page
    assert _badge(page) == 0
    refused = client.post(
        f"/ui/hits/notices/{notice.id}/read", data={"csrf_token": other}, follow_redirects=False
    )
    assert refused.status_code == 404
