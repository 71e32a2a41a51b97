"""Seeing a cross-node hit: exactly the case's agency (404 to others, audited), by default only
"an agency on node X holds a matching <type>" and its 24/7 desk; in the hits inbox and its badge,
marked with the node and counted once; acknowledged; withdrawn kept but no longer waiting."""

from __future__ import annotations

import pytest
from builders import Network, token_for, web_login
from fastapi.testclient import TestClient
from hit_builders import remote_hit
from node_builders import OtherNode
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases import hits as case_hits
from taskforce.core.audit.models import AuditEntry
from taskforce.core.errors import NotFound
from taskforce.core.settings import Settings
from taskforce.federation import hits, matching


def actions(session: Session, name: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == name)))


def test_the_case_agency_sees_a_blind_hit_and_whom_to_call(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    hit = remote_hit(session, settings, network.gb, peer)
    seen = hits.get_hit(session, network.gb_analyst.caller, hit.id)  # any person of the agency
    assert seen.statement == "An agency on node Node B holds a matching email selector."
    assert seen.disclosure == "blind"
    assert seen.details is None
    assert seen.agency_name is None  # RED: not even the agency's name
    assert (seen.contact.desk, seen.contact.phone) == ("NL-POL 24/7 desk", "+31612345678")
    assert seen.contact.email == "desk@nl-pol.example.com"
    assert seen.selector_value == "shared.suspect@example.com"  # this node's own selector
    [read] = actions(session, "federation.hit.read")
    assert (read.subject_id, read.outcome, read.detail["node"]) == (hit.id, "ok", "Node B")


def test_another_agency_gets_404_and_the_refusal_is_audited(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    hit = remote_hit(session, settings, network.gb, peer)
    for person in (network.nl, network.us):  # a partner agency does not see it either
        with pytest.raises(NotFound):
            hits.get_hit(session, person.caller, hit.id)
        with pytest.raises(NotFound):
            hits.acknowledge(session, person.caller, hit.id)
    refused = [a for a in actions(session, "federation.hit.read") if a.outcome == "not_found"]
    assert len(refused) == 2
    assert hits.list_hits(session, network.us.caller) == []


def test_details_released_up_front_are_shown(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    details = {"case_reference": "NL-2026-0042", "agency": "NL-POL"}
    hit = remote_hit(session, settings, network.gb, peer, details=details)
    seen = hits.get_hit(session, network.gb.caller, hit.id)
    assert seen.disclosure == "details"
    assert seen.details == details
    assert seen.agency_name == "Politie (fictional)"


def test_the_inbox_lists_it_marked_with_the_node_and_the_badge_counts_it_once(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    hit = remote_hit(session, settings, network.gb, peer)
    caller = network.gb.caller
    [line] = case_hits.list_hits(session, caller)
    assert (line.id, line.other.node, line.other.disclosure) == (hit.id, "Node B", "blind")
    assert line.other.contact.desk == "NL-POL 24/7 desk"
    assert case_hits.unacknowledged_count(session, caller) == 1
    assert case_hits.unacknowledged_count(session, network.nl.caller) == 0
    # and the coordinator's count per agency is the same definition
    agency = network.gb.user.agency_id
    assert case_hits._unacknowledged(session)[agency] == 1

    hits.acknowledge(session, caller, hit.id)
    hits.acknowledge(session, caller, hit.id)  # again: a no-op
    assert case_hits.unacknowledged_count(session, caller) == 0
    assert case_hits.list_hits(session, caller, unacknowledged=True) == []
    assert len(actions(session, "federation.hit.acknowledge")) == 1


def test_a_withdrawn_hit_is_kept_but_no_longer_waits(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    hit = remote_hit(session, settings, network.gb, peer)
    matching.for_entries(session, peer.id, [], [hit.ref])
    [line] = case_hits.list_hits(session, network.gb.caller)
    assert line.withdrawn_at is not None
    assert case_hits.unacknowledged_count(session, network.gb.caller) == 0
    assert hits.get_hit(session, network.gb.caller, hit.id).withdrawn_at is not None


def test_a_read_only_person_may_read_but_not_acknowledge(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    from taskforce.core.errors import Forbidden

    hit = remote_hit(session, settings, network.gb, peer)
    assert hits.get_hit(session, network.gb_reader.caller, hit.id).id == hit.id
    with pytest.raises(Forbidden):
        hits.acknowledge(session, network.gb_reader.caller, hit.id)


def test_the_api_answers_the_agency_and_404s_the_others(
    session: Session,
    settings: Settings,
    network: Network,
    peer: OtherNode,
    client: TestClient,
) -> None:
    hit = remote_hit(session, settings, network.gb, peer)
    mine = token_for(session, settings, network.gb)
    theirs = token_for(session, settings, network.us)
    listed = client.get("/api/v1/federation/hits", headers=mine).json()
    assert [h["id"] for h in listed] == [str(hit.id)]
    got = client.get(f"/api/v1/federation/hits/{hit.id}", headers=mine)
    assert got.status_code == 200
    assert got.json()["statement"].startswith("An agency on node Node B")
    assert client.get(f"/api/v1/federation/hits/{hit.id}", headers=theirs).status_code == 404
    inbox = client.get("/api/v1/hits", headers=mine).json()
    assert [(h["id"], h["other"]["node"]) for h in inbox] == [(str(hit.id), "Node B")]
    done = client.post(f"/api/v1/federation/hits/{hit.id}/acknowledge", headers=mine)
    assert done.json()["acknowledged_at"] is not None


def test_the_pages_show_it_in_the_inbox_and_on_its_own_page(
    session: Session,
    settings: Settings,
    network: Network,
    peer: OtherNode,
    client: TestClient,
) -> None:
    hit = remote_hit(session, settings, network.gb, peer)
    csrf = web_login(client, session, network.gb)
    inbox = client.get("/ui/hits").text
    assert f"/ui/hits/remote/{hit.id}" in inbox
    assert "node Node B" in inbox
    assert "An agency on node <strong>Node B</strong>" in inbox
    dashboard = client.get("/ui/").text
    assert f"/ui/hits/remote/{hit.id}" in dashboard
    page = client.get(f"/ui/hits/remote/{hit.id}")
    assert page.status_code == 200
    assert "An agency on node Node B holds a matching email selector." in page.text
    assert "NL-POL 24/7 desk" in page.text
    r = client.post(
        f"/ui/hits/remote/{hit.id}/acknowledge",
        data={"csrf_token": csrf, "next": "/ui/hits"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "chip-alert" not in client.get(f"/ui/hits/remote/{hit.id}").text.split("<main")[-1]


def test_another_agency_gets_404_on_the_page(
    session: Session,
    settings: Settings,
    network: Network,
    peer: OtherNode,
    client: TestClient,
) -> None:
    hit = remote_hit(session, settings, network.gb, peer)
    web_login(client, session, network.us)
    assert client.get(f"/ui/hits/remote/{hit.id}").status_code == 404
    assert f"/ui/hits/remote/{hit.id}" not in client.get("/ui/hits").text


def test_a_case_counts_its_cross_node_hits_as_open_and_closing_asks_why(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    from taskforce.cases import service as case_service
    from taskforce.cases.schemas import CaseStatus
    from taskforce.core.errors import Invalid

    hit = remote_hit(session, settings, network.gb, peer)
    case = case_service.describe_case(
        session, network.gb.caller, case_service.get_case(session, network.gb.caller, hit.case_id)
    )
    assert case.open_hits == 1
    with pytest.raises(Invalid, match="1 unacknowledged hit"):
        case_service.set_status(session, network.gb.caller, hit.case_id, CaseStatus.CLOSED)
    hits.acknowledge(session, network.gb.caller, hit.id)
    closed = case_service.set_status(session, network.gb.caller, hit.case_id, CaseStatus.CLOSED)
    assert closed.status == "closed"
