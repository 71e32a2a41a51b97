"""Closing a case whose hits are not all acknowledged asks first: the page offers "Close
case…" with a reason, refuses an empty one (keeping the case open and the page's form), and
records the reason in the case's history and the audit log; the API asks the same."""

from __future__ import annotations

import re

from builders import Network, add_selector, csrf_field, make_case, token_for, web_login
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases import service
from taskforce.cases.models import Case
from taskforce.core.audit.models import AuditEntry
from taskforce.core.settings import Settings


def _case_with_an_open_hit(session: Session, settings: Settings, network: Network) -> Case:
    ours = make_case(session, network.gb, title="Operation Wren")
    theirs = make_case(session, network.nl, title="Operation Reiger")
    add_selector(session, settings, network.nl, theirs, "email", "wren@example.com")
    add_selector(session, settings, network.gb, ours, "email", "wren@example.com")
    session.commit()
    return ours


def test_closing_with_open_hits_asks_for_a_reason_and_records_it(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    case = _case_with_an_open_hit(session, settings, network)
    web_login(client, session, network.gb)
    page = client.get(f"/ui/cases/{case.id}")
    assert "Close case…</summary>" in page.text
    assert "1 hit of this case is not acknowledged." in page.text
    token = csrf_field(page.text)

    refused = client.post(f"/ui/cases/{case.id}/close", data={"csrf_token": token, "reason": " "})
    assert refused.status_code == 422
    assert "1 unacknowledged hit: give a reason" in refused.text
    assert re.search(r'<details class="confirm" open>', refused.text)
    session.expire_all()
    assert session.get(Case, case.id).status == "open"  # type: ignore[union-attr]

    reason = "Suspect deceased; NL informed by phone"
    closed = client.post(
        f"/ui/cases/{case.id}/close",
        data={"csrf_token": token, "reason": reason},
        follow_redirects=False,
    )
    assert closed.status_code == 303
    session.expire_all()
    assert session.get(Case, case.id).status == "closed"  # type: ignore[union-attr]
    history = service.case_history(session, network.gb.caller, case.id)
    assert history[-1].action == "closed"
    assert history[-1].changes["reason"] == [None, reason]
    entry = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "case.closed", AuditEntry.subject_id == case.id
        )
    ).one()
    assert entry.detail == {"reason": reason, "open_hits": 1}


def test_a_case_without_open_hits_closes_at_once(
    client: TestClient, session: Session, network: Network
) -> None:
    case = make_case(session, network.gb, title="Operation Quiet")
    web_login(client, session, network.gb)
    page = client.get(f"/ui/cases/{case.id}")
    assert "Close case…" not in page.text
    closed = client.post(
        f"/ui/cases/{case.id}/close",
        data={"csrf_token": csrf_field(page.text)},
        follow_redirects=False,
    )
    assert closed.status_code == 303


def test_the_api_asks_for_the_reason_too(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    case = _case_with_an_open_hit(session, settings, network)
    headers = token_for(session, settings, network.gb)
    session.commit()
    refused = client.post(f"/api/v1/cases/{case.id}/close", headers=headers)
    assert refused.status_code == 422
    assert "reason" in refused.text
    closed = client.post(
        f"/api/v1/cases/{case.id}/close", headers=headers, json={"reason": "merged into GB-2"}
    )
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
