"""The hotline queue and the 24/7 watch agree: a report whose urgent lead a police desk has
acknowledged no longer shows as new and urgent-first in the hotline's queue."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from builders import make_person, web_login
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from watch_builders import Watch, make_report, make_watch, open_lead

from taskforce.agencies.models import Agency
from taskforce.core.caller import Role
from taskforce.core.db import utcnow
from taskforce.core.settings import Settings
from taskforce.reports.models import Report
from taskforce.watch import service as watch_service


@pytest.fixture
def watch(session: Session) -> Watch:
    return make_watch(session)


def _row(html: str, report_id: uuid.UUID) -> str:
    match = re.search(
        rf'<tr[^>]*>\s*<td[^>]*><a class="ref" href="/ui/hotline/{report_id}".*?</tr>', html, re.S
    )
    assert match, f"no row for {report_id}"
    return match.group(0)


def test_a_lead_taken_by_a_desk_is_no_longer_new_in_the_hotline_queue(
    client: TestClient, session: Session, settings: Settings, watch: Watch
) -> None:
    now = utcnow()
    iwf = session.scalars(select(Agency).where(Agency.code == "GB-IWF")).one()
    analyst = make_person(session, iwf, role=Role.ANALYST)
    older = make_report(session, kind="url", received_at=now - timedelta(hours=2))
    older.urgent = False
    taken = open_lead(session, settings, received_at=now - timedelta(minutes=30))
    waiting = open_lead(session, settings, received_at=now - timedelta(minutes=20))
    for report_id in (older.id, taken.report_id, waiting.report_id):
        report = session.get(Report, report_id)
        assert report is not None
        report.receiving_agency_id = iwf.id
    watch_service.acknowledge(session, watch.gb.caller, taken.id, note="on our way")

    web_login(client, session, analyst)
    page = client.get("/ui/hotline")
    assert page.status_code == 200
    order = list(dict.fromkeys(re.findall(r'href="/ui/hotline/([0-9a-f-]{36})"', page.text)))
    # the lead nobody took first; the taken one waits by age like any report
    assert order == [str(waiting.report_id), str(older.id), str(taken.report_id)]
    row = _row(page.text, taken.report_id)
    assert "Lead acknowledged by GB-NCA" in row
    assert "chip-alert" not in row
    assert ">New<" not in row
    still = _row(page.text, waiting.report_id)
    assert "chip-alert" in still
    assert ">New<" in still
