"""The desk's pages: the list with its deadline, the lead page with the report escaped, local
times and deliveries, acknowledging with CSRF, and 404 for any desk the lead was not sent to."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from builders import csrf_field, web_login
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from watch_builders import Watch, open_lead

from taskforce.core.db import utcnow
from taskforce.core.errors import NotFound
from taskforce.core.settings import Settings
from taskforce.reports import queue as reports_queue

SCRIPTED = {"what": "child <script>alert(1)</script> crying", "where": "Secret-Finch Lane 7"}


def test_the_desk_sees_its_leads_and_acknowledges_one(
    client: TestClient, session: Session, settings: Settings, watch: Watch
) -> None:
    received = utcnow() - timedelta(minutes=5)
    lead = open_lead(
        session, settings, country="GB", received_at=received, details=SCRIPTED, now=utcnow()
    )
    late = open_lead(
        session,
        settings,
        country="GB",
        kind="grooming",
        received_at=utcnow() - timedelta(minutes=40),
        now=utcnow(),
    )
    web_login(client, session, watch.gb)

    page = client.get("/ui/leads")
    assert page.status_code == 200
    assert re.search(r'href="/ui/leads"[^>]*>Leads <span class="count"[^>]*>2</span>', page.text)
    assert "Child in immediate danger" in page.text
    assert "Grooming, meeting planned" in page.text
    assert "waiting 5 min" in page.text
    assert re.search(r"(9|10) min left", page.text)
    assert re.search(r"Overdue by (24|25) min", page.text)
    assert "Secret-Finch" not in page.text  # the list shows no report content
    assert page.text.index(str(late.id)) < page.text.index(str(lead.id))  # newest lead first


def test_lead_page_acknowledge_and_conflict(
    client: TestClient, session: Session, settings: Settings, watch: Watch
) -> None:
    lead = open_lead(
        session,
        settings,
        country="GB",
        suspect="NL",
        received_at=utcnow() - timedelta(minutes=3),
        details=SCRIPTED,
    )
    web_login(client, session, watch.nl)
    page = client.get(f"/ui/leads/{lead.id}")
    assert page.status_code == 200
    text = page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<script>alert" not in text
    assert "Secret-Finch Lane 7" in text  # the report's details, read through reports
    assert 'href="tel:+442079460001"' in text
    assert "GB-NCA 24/7 desk" in text
    assert "CET" in text  # NL's local time beside UTC
    assert "Suspect&#39;s country (NL)" in text
    assert "Not acknowledged" in text
    assert "min left" in text
    assert "Waiting to be sent" in text  # nothing delivered yet
    assert "webhook of NL-NP" not in text  # NL sees its own webhook's address
    token = csrf_field(text)

    expired = client.post(f"/ui/leads/{lead.id}/acknowledge", data={"csrf_token": "x" * 40})
    assert expired.status_code == 403
    too_long = client.post(
        f"/ui/leads/{lead.id}/acknowledge", data={"csrf_token": token, "note": "y" * 1001}
    )
    assert too_long.status_code == 422
    assert "At most 1000 characters" in too_long.text
    done = client.post(
        f"/ui/leads/{lead.id}/acknowledge",
        data={"csrf_token": token, "note": "officers <b>sent</b>"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/ui/leads/{lead.id}"
    after = client.get(f"/ui/leads/{lead.id}").text
    assert "Acknowledged by investigator.nl-np@example.com (NL-NP)" in after
    assert "officers &lt;b&gt;sent&lt;/b&gt;" in after
    assert 'action="/ui/leads/' not in after  # no second form
    client.cookies.clear()

    web_login(client, session, watch.gb)
    gb_page = client.get(f"/ui/leads/{lead.id}").text
    assert "webhook of NL-NP" in gb_page
    assert "hooks.example.com" not in gb_page
    second = client.post(
        f"/ui/leads/{lead.id}/acknowledge", data={"csrf_token": csrf_field(gb_page)}
    )
    assert second.status_code == 409
    assert "already acknowledged by investigator.nl-np@example.com (NL-NP)" in second.text


def test_other_desks_get_404_pages(
    client: TestClient, session: Session, settings: Settings, watch: Watch
) -> None:
    lead = open_lead(session, settings, country="GB")
    web_login(client, session, watch.us)
    home = client.get("/ui/leads")
    assert home.status_code == 200
    assert "No lead is waiting for your desk" in home.text
    assert '<span class="count"' not in home.text
    assert client.get(f"/ui/leads/{lead.id}").status_code == 404
    token = csrf_field(home.text)
    post = client.post(f"/ui/leads/{lead.id}/acknowledge", data={"csrf_token": token})
    assert post.status_code == 404
    assert "Secret" not in post.text
    client.cookies.clear()

    web_login(client, session, watch.gb_reader)
    reader = client.get("/ui/")
    assert 'href="/ui/leads"' not in reader.text
    assert client.get("/ui/leads").status_code == 403


def test_report_not_available_is_said_plainly(
    client: TestClient,
    session: Session,
    settings: Settings,
    watch: Watch,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lead = open_lead(session, settings, country="GB")

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise NotFound("report")

    monkeypatch.setattr(reports_queue, "get_report", refuse)
    web_login(client, session, watch.gb)
    page = client.get(f"/ui/leads/{lead.id}")
    assert page.status_code == 200
    assert "Report not available" in page.text
    assert "Secret" not in page.text
