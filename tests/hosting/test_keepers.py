"""A hosting provider's record changes only by the agency that keeps it (registered it) or by the
network's stewards (network admins, the network coordinator); anyone else's change is proposed
(202) and applies only once the keeper or a steward approves it. Finding 8 of issue 11: any
analyst of any member could redirect every member's takedown notices by editing a provider's
abuse e-mail, or delete its networks.

These tests go through the API only, as a member's script would.
"""

from __future__ import annotations

from typing import Any

import pytest
from builders import Network, make_agency, make_person, token_for
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.schemas import AgencyUpdate
from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import Role, system_caller
from taskforce.core.settings import Settings

API = "/api/v1"
CONTACT = "abuse@hosting.example.net"
ELSEWHERE = "abuse@new-contact.example.org"

Headers = dict[str, str]


@pytest.fixture
def people(session: Session, settings: Settings, network: Network) -> dict[str, Headers]:
    """Tokens: GB-NCA's analyst and investigator (GB keeps the provider), US-HSI's investigator
    (another member), the network coordinator's analyst and a network admin."""
    coordinator = make_agency(session, "INT-COORD", name="Network coordinator")
    agency_service.update_agency(
        session, system_caller(), code="INT-COORD", data=AgencyUpdate(kind="coordinator")
    )
    return {
        "gb": token_for(session, settings, network.gb_analyst),
        "gb_other": token_for(session, settings, network.gb),
        "us": token_for(session, settings, network.us),
        "nl": token_for(session, settings, network.nl),
        "coordinator": token_for(
            session, settings, make_person(session, coordinator, role=Role.ANALYST)
        ),
        "admin": token_for(
            session,
            settings,
            make_person(
                session,
                agency_service.get_by_code(session, "NL-NP"),
                role=Role.NETWORK_ADMIN,
                email="admin@network.example.org",
            ),
        ),
    }


def _provider(client: TestClient, headers: Headers, **body: Any) -> dict[str, Any]:
    body = {"name": "Fictional Hosting B.V.", "abuse_email": CONTACT, **body}
    r = client.post(f"{API}/hosting/providers", json=body, headers=headers)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def _get(client: TestClient, headers: Headers, provider_id: str) -> dict[str, Any]:
    r = client.get(f"{API}/hosting/providers/{provider_id}", headers=headers)
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def _audit(session: Session, action: str) -> list[AuditEntry]:
    session.expire_all()
    return list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        )
    )


def test_another_agency_cannot_change_the_abuse_contact_it_proposes_and_the_keeper_approves(
    client: TestClient, session: Session, people: dict[str, Headers], network: Network
) -> None:
    provider = _provider(client, people["gb"])
    r = client.patch(
        f"{API}/hosting/providers/{provider['id']}",
        json={"abuse_email": ELSEWHERE},
        headers=people["us"],
    )
    assert r.status_code == 202, r.text
    proposal = r.json()
    assert proposal["reason"] == ""
    assert proposal["state"] == "pending"
    assert proposal["owner_agency"] == "GB-NCA"
    assert proposal["kind"] == "hosting.provider.update"
    assert proposal["summary"] == f"abuse e-mail: {CONTACT} → {ELSEWHERE}"
    assert proposal["proposer_agency"] == "US-HSI"
    assert proposal["can_decide"] is False
    # nothing changed: every member's notices still go to the recorded contact
    assert _get(client, people["gb"], provider["id"])["abuse_email"] == CONTACT
    assert _get(client, people["us"], provider["id"])["keeper"] == "GB-NCA"

    # the proposer cannot approve it; a third agency does not even see it
    mine = client.post(f"{API}/proposals/{proposal['id']}/approve", json={}, headers=people["us"])
    assert mine.status_code == 403
    assert client.get(f"{API}/proposals/{proposal['id']}", headers=people["nl"]).status_code == 404
    third = client.post(f"{API}/proposals/{proposal['id']}/approve", json={}, headers=people["nl"])
    assert third.status_code == 404
    assert client.get(f"{API}/proposals", headers=people["nl"]).json()["total"] == 0
    assert _get(client, people["gb"], provider["id"])["abuse_email"] == CONTACT

    # the keeper sees it waiting, and approves it
    waiting = client.get(f"{API}/proposals", headers=people["gb_other"]).json()
    assert [p["id"] for p in waiting["items"]] == [proposal["id"]]
    assert waiting["items"][0]["can_decide"] is True
    assert waiting["items"][0]["now"] == f"abuse e-mail: {CONTACT}"
    r = client.post(
        f"{API}/proposals/{proposal['id']}/approve",
        json={"reason": "checked with the host"},
        headers=people["gb_other"],
    )
    assert r.status_code == 200, r.text
    decided = r.json()
    assert decided["state"] == "approved"
    assert decided["decided_by"].startswith("investigator.")
    assert decided["outcome"] == f"changed abuse e-mail: {CONTACT} → {ELSEWHERE}"
    assert _get(client, people["gb"], provider["id"])["abuse_email"] == ELSEWHERE

    # audited both ways, and the change itself under the decider's name
    [made] = _audit(session, "proposal.create")
    assert made.actor_user_id == network.us.user.id
    assert made.subject_id is not None
    assert str(made.subject_id) == proposal["id"]
    [approved] = _audit(session, "proposal.approve")
    assert approved.actor_user_id == network.gb.user.id
    assert approved.detail["reason"] == "checked with the host"
    updates = _audit(session, "hosting.provider.update")
    assert [u.actor_user_id for u in updates] == [network.gb.user.id]
    assert updates[0].detail == {"changes": ["abuse_email"]}


def test_a_rejected_proposal_leaves_the_record_as_it_was(
    client: TestClient, session: Session, people: dict[str, Headers], network: Network
) -> None:
    provider = _provider(client, people["gb"], asn=64500)
    r = client.patch(
        f"{API}/hosting/providers/{provider['id']}",
        json={"abuse_email": ELSEWHERE, "asn": 64501},
        headers=people["us"],
    )
    assert r.status_code == 202
    proposal_id = r.json()["id"]
    assert (
        r.json()["summary"]
        == f"abuse e-mail: {CONTACT} → {ELSEWHERE}; AS number: AS64500 → AS64501"
    )

    no_reason = client.post(f"{API}/proposals/{proposal_id}/reject", json={}, headers=people["gb"])
    assert no_reason.status_code == 422
    assert no_reason.json()["field"] == "reason"
    r = client.post(
        f"{API}/proposals/{proposal_id}/reject",
        json={"reason": "the host confirmed the old address"},
        headers=people["gb"],
    )
    assert r.status_code == 200
    assert r.json()["state"] == "rejected"
    after = _get(client, people["gb"], provider["id"])
    assert (after["abuse_email"], after["asn"]) == (CONTACT, 64500)
    again = client.post(f"{API}/proposals/{proposal_id}/approve", json={}, headers=people["gb"])
    assert again.status_code == 409
    assert _get(client, people["gb"], provider["id"])["abuse_email"] == CONTACT
    [rejected] = _audit(session, "proposal.reject")
    assert rejected.actor_user_id == network.gb_analyst.user.id
    assert rejected.detail["reason"] == "the host confirmed the old address"
    assert _audit(session, "hosting.provider.update") == []


@pytest.mark.usefixtures("network")
def test_another_agency_cannot_delete_or_add_networks_the_coordinator_decides(
    client: TestClient, session: Session, people: dict[str, Headers]
) -> None:
    provider = _provider(client, people["gb"])
    r = client.post(
        f"{API}/hosting/providers/{provider['id']}/networks",
        json={"network": "203.0.113.0/26"},
        headers=people["gb"],
    )
    assert r.status_code == 201
    block_id = r.json()["id"]

    r = client.delete(f"{API}/hosting/networks/{block_id}?reason=reassigned", headers=people["us"])
    assert r.status_code == 202, r.text
    removal = r.json()
    assert removal["kind"] == "hosting.network.remove"
    assert removal["reason"] == "reassigned"
    r = client.post(
        f"{API}/hosting/providers/{provider['id']}/networks",
        json={"network": "198.51.100.0/24", "reason": "announced by them"},
        headers=people["us"],
    )
    assert r.status_code == 202, r.text
    addition = r.json()
    assert addition["summary"] == "add the network 198.51.100.0/24"
    assert [n["cidr"] for n in _get(client, people["us"], provider["id"])["networks"]] == [
        "203.0.113.0/26"
    ]

    # the network coordinator (a steward) decides for the keeper
    for proposal in (removal, addition):
        r = client.post(f"{API}/proposals/{proposal['id']}/approve", headers=people["coordinator"])
        assert r.status_code == 200, r.text
    assert [n["cidr"] for n in _get(client, people["us"], provider["id"])["networks"]] == [
        "198.51.100.0/24"
    ]
    removed = _audit(session, "hosting.network.remove")
    assert len(removed) == 1
    assert removed[0].actor_label.endswith("(INT-COORD)")


@pytest.mark.usefixtures("network")
def test_the_networks_own_records_are_decided_by_stewards_only(
    client: TestClient, session: Session, people: dict[str, Headers]
) -> None:
    """A provider no agency registered (the operator's import, records older than this rule)
    is the network's: every member proposes, a network admin or the coordinator decides."""
    from taskforce.hosting import service
    from taskforce.hosting.schemas import ProviderCreate

    provider = service.create_provider(
        session, system_caller(), ProviderCreate(name="Operator's Hosting", abuse_email=CONTACT)
    )
    session.commit()
    assert _get(client, people["gb"], str(provider.id))["keeper"] is None
    r = client.patch(
        f"{API}/hosting/providers/{provider.id}",
        json={"abuse_email": ELSEWHERE},
        headers=people["gb"],
    )
    assert r.status_code == 202
    proposal_id = r.json()["id"]
    colleague = client.post(
        f"{API}/proposals/{proposal_id}/approve", json={}, headers=people["gb_other"]
    )
    assert colleague.status_code == 403
    assert "network coordinator or a network admin" in colleague.json()["message"]
    assert _get(client, people["gb"], str(provider.id))["abuse_email"] == CONTACT
    r = client.post(f"{API}/proposals/{proposal_id}/approve", json={}, headers=people["admin"])
    assert r.status_code == 200, r.text
    assert _get(client, people["gb"], str(provider.id))["abuse_email"] == ELSEWHERE
    # stewards change it directly
    r = client.patch(
        f"{API}/hosting/providers/{provider.id}",
        json={"notes": "24/7 desk"},
        headers=people["coordinator"],
    )
    assert r.status_code == 200
    assert r.json()["notes"] == "24/7 desk"


def test_the_keeper_changes_its_record_directly(
    client: TestClient, people: dict[str, Headers]
) -> None:
    provider = _provider(client, people["gb"])
    r = client.patch(
        f"{API}/hosting/providers/{provider['id']}",
        json={"abuse_email": ELSEWHERE},
        headers=people["gb_other"],
    )
    assert r.status_code == 200
    assert r.json()["abuse_email"] == ELSEWHERE
    assert client.get(f"{API}/proposals?state=all", headers=people["gb"]).json()["total"] == 0


def test_an_import_does_not_change_another_agencys_provider(
    client: TestClient, people: dict[str, Headers]
) -> None:
    """Bad lines for what the importer does not keep; the good lines are kept."""
    provider = _provider(client, people["gb"])
    r = client.post(
        f"{API}/hosting/providers/{provider['id']}/networks",
        json={"network": "203.0.113.0/26"},
        headers=people["gb"],
    )
    assert r.status_code == 201
    table = (
        "network,provider,abuse_email\n"
        f"203.0.113.64/26,Fictional Hosting B.V.,{ELSEWHERE}\n"  # changes GB's contact
        "203.0.113.0/26,Takeover Hosting Ltd,\n"  # moves GB's block to another provider
        "203.0.113.128/26,Fictional Hosting B.V.,\n"  # adds a block to GB's provider
        "198.51.100.0/24,Other Hosting Ltd,abuse@other.example.org\n"  # good: a new provider
    )
    r = client.post(
        f"{API}/hosting/networks/import?source=us-table",
        content=table.encode(),
        headers={**people["us"], "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["added"], report["rejected"], report["providers_created"]) == (1, 3, 1)
    bad = {line["line"]: (line["field"], line["rule"]) for line in report["bad_lines"]}
    assert bad[2][0] == "abuse_email"
    assert "GB-NCA keeps" in bad[2][1]
    assert bad[3][0] == "network"
    assert "recorded for Fictional Hosting B.V." in bad[3][1]
    assert bad[4][0] == "network"
    assert "GB-NCA keeps" in bad[4][1]
    kept = _get(client, people["gb"], provider["id"])
    assert kept["abuse_email"] == CONTACT
    assert [n["cidr"] for n in kept["networks"]] == ["203.0.113.0/26"]
