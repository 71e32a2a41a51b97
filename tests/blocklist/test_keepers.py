"""A block-list entry comes off the list only by the agency that listed it or by the network
coordinator; another agency's removal is proposed (202) and the entry stays listed until the
keeper or the coordinator approves. Finding 8 of issue 11: any analyst could silently remove
another agency's entry. Through the API and the page, as members would.
"""

from __future__ import annotations

from typing import Any

import pytest
from builders import Network, csrf_field, make_agency, make_person, token_for, web_login
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.schemas import AgencyUpdate
from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import Role, system_caller
from taskforce.core.settings import Settings

API = "/api/v1"
Headers = dict[str, str]


@pytest.fixture
def tokens(session: Session, settings: Settings, network: Network) -> dict[str, Headers]:
    coordinator = make_agency(session, "INT-COORD", name="Network coordinator")
    agency_service.update_agency(
        session, system_caller(), code="INT-COORD", data=AgencyUpdate(kind="coordinator")
    )
    return {
        "gb": token_for(session, settings, network.gb_analyst),
        "gb_other": token_for(session, settings, network.gb),
        "us": token_for(session, settings, network.us),
        "coordinator": token_for(
            session, settings, make_person(session, coordinator, role=Role.ANALYST)
        ),
    }


def _list(client: TestClient, headers: Headers, url: str) -> dict[str, Any]:
    r = client.post(f"{API}/blocklist/entries", json={"url": url}, headers=headers)
    assert r.status_code == 201, r.text
    entry: dict[str, Any] = r.json()
    return entry


def _active(client: TestClient, headers: Headers) -> list[str]:
    return [e["key"] for e in client.get(f"{API}/blocklist/entries", headers=headers).json()]


def _actions(session: Session, prefix: str) -> list[tuple[str, str]]:
    session.expire_all()
    rows = session.scalars(
        select(AuditEntry).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.seq)
    )
    return [(e.action, e.actor_label) for e in rows]


def test_another_agencys_entry_is_not_removed_but_proposed_and_approved_by_its_keeper(
    client: TestClient, session: Session, tokens: dict[str, Headers]
) -> None:
    entry = _list(client, tokens["gb"], "http://gallery.example.com/a")
    r = client.post(
        f"{API}/blocklist/entries/{entry['id']}/remove",
        json={"reason": "content gone when we looked"},
        headers=tokens["us"],
    )
    assert r.status_code == 202, r.text
    proposal = r.json()
    assert proposal["kind"] == "blocklist.remove"
    assert proposal["owner_agency"] == "GB-NCA"
    assert proposal["summary"] == "take gallery.example.com/a (exact) off the block list"
    assert _active(client, tokens["gb"]) == ["gallery.example.com/a"]  # still blocked
    version = client.get(f"{API}/blocklist", headers=tokens["gb"]).json()["version"]

    r = client.post(
        f"{API}/proposals/{proposal['id']}/approve", json={}, headers=tokens["gb_other"]
    )
    assert r.status_code == 200, r.text
    assert (
        r.json()["outcome"] == f"gallery.example.com/a taken off the list at version {version + 1}"
    )
    assert _active(client, tokens["gb"]) == []
    assert _actions(session, "proposal.") == [
        ("proposal.create", "investigator.us-hsi@example.com (US-HSI)"),
        ("proposal.approve", "investigator.gb-nca@example.com (GB-NCA)"),
    ]
    assert ("blocklist.remove", "investigator.gb-nca@example.com (GB-NCA)") in _actions(
        session, "blocklist.remove"
    )


def test_a_rejected_removal_keeps_the_entry_listed(
    client: TestClient, session: Session, tokens: dict[str, Headers]
) -> None:
    entry = _list(client, tokens["gb"], "http://gallery.example.com/b")
    r = client.post(f"{API}/blocklist/entries/{entry['id']}/remove", json={}, headers=tokens["us"])
    assert r.status_code == 202
    r = client.post(
        f"{API}/proposals/{r.json()['id']}/reject",
        json={"reason": "still online from here"},
        headers=tokens["coordinator"],
    )
    assert r.status_code == 200
    assert r.json()["state"] == "rejected"
    assert _active(client, tokens["gb"]) == ["gallery.example.com/b"]
    assert [a for a, _ in _actions(session, "proposal.")] == ["proposal.create", "proposal.reject"]
    assert _actions(session, "blocklist.remove") == []


def test_the_keeper_and_the_coordinator_remove_directly(
    client: TestClient, tokens: dict[str, Headers]
) -> None:
    own = _list(client, tokens["gb"], "http://gallery.example.com/c")
    other = _list(client, tokens["us"], "http://gallery.example.com/d")
    r = client.post(
        f"{API}/blocklist/entries/{own['id']}/remove", json={}, headers=tokens["gb_other"]
    )
    assert r.status_code == 200
    assert r.json()["removed_version"] is not None
    r = client.post(
        f"{API}/blocklist/entries/{other['id']}/remove", json={}, headers=tokens["coordinator"]
    )
    assert r.status_code == 200
    assert r.json()["removed_version"] is not None


def test_the_page_proposes_and_the_keeper_approves_on_the_proposals_page(
    client: TestClient, session: Session, network: Network, tokens: dict[str, Headers]
) -> None:
    entry = _list(client, tokens["gb"], "http://gallery.example.com/e")
    csrf = web_login(client, session, network.us)
    page = client.get("/ui/blocklist")
    assert "Propose removal…" in page.text
    r = client.post(
        f"/ui/blocklist/{entry['id']}/remove",
        data={"csrf_token": csrf, "reason": "content gone"},
        follow_redirects=True,
    )
    assert r.status_code == 200
    assert "Proposed taking" in r.text
    assert _active(client, tokens["gb"]) == ["gallery.example.com/e"]
    waiting = client.get("/ui/proposals")
    assert "Waiting for GB-NCA" in waiting.text
    assert "Approve and apply" not in waiting.text

    client.cookies.clear()
    web_login(client, session, network.gb)
    page = client.get("/ui/proposals")
    assert "Approve and apply" in page.text
    assert "gallery.example.com/e" in page.text
    [proposal_id] = [
        line.split("/ui/proposals/")[1].split("/")[0]
        for line in page.text.splitlines()
        if "/approve" in line
    ]
    refused = client.post(
        f"/ui/proposals/{proposal_id}/reject", data={"csrf_token": csrf_field(page.text)}
    )
    assert refused.status_code == 422
    assert "Reason: say why the change is rejected" in refused.text
    r = client.post(
        f"/ui/proposals/{proposal_id}/approve",
        data={"csrf_token": csrf_field(page.text), "reason": "confirmed gone"},
        follow_redirects=True,
    )
    assert r.status_code == 200
    assert "Approved" in r.text
    assert _active(client, tokens["gb"]) == []
