"""A cross-node hit and its release request between two real nodes: two `taskforce serve`
processes (node A on SQLite or PostgreSQL, node B on SQLite, B the network's key holder), set up
by their admins with the CLI, cases and selectors added through the API, the hit found by the
real publish and sync, the request and the decision delivered by each node's worker over signed
requests. B's investigator decides; A's requester alone reads the details; both nodes audit
their side."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from serving import Node, two_nodes
from sqlalchemy import create_engine, select

from taskforce.core.audit.models import AuditEntry

SHARED = "shared.suspect@example.com"
REASON = "The same address runs our grooming case; we need to coordinate"


@pytest.fixture
def nodes(backend: str, tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    with two_nodes(backend, tmp_path, key_holder="Node B") as pair:
        yield pair


def person(node: Node, email: str, agency: str, name: str) -> dict[str, str]:
    """An investigator of `agency` on `node`, and the headers of an API token of theirs."""
    node.cli("user", "add", email, "--agency", agency, "--role", "investigator", "--name", name,
             "--no-password")  # fmt: skip
    _, said = node.cli("token", "create", email)
    return {"Authorization": f"Bearer {said.split()[-1]}"}


def api(node: Node, method: str, path: str, headers: dict[str, str], **kw: Any) -> httpx.Response:
    return httpx.request(method, f"{node.url}/api/v1{path}", headers=headers, timeout=30, **kw)


def red_case(node: Node, headers: dict[str, str], title: str) -> dict[str, Any]:
    case = api(node, "POST", "/cases", headers, json={"title": title, "sharing": "red"})
    assert case.status_code == 201, case.text
    added = api(
        node,
        "POST",
        f"/cases/{case.json()['id']}/selectors",
        headers,
        json={"type": "email", "value": SHARED},
    )
    assert added.status_code in (200, 201), added.text
    return dict(case.json())


def audited(node: Node) -> set[str]:
    engine = create_engine(node.database_url)
    try:
        with engine.connect() as conn:
            return set(conn.scalars(select(AuditEntry.action)))
    finally:
        engine.dispose()


def test_a_release_request_crosses_two_real_nodes(nodes: tuple[Node, Node], tmp_path: Path) -> None:
    a, b = nodes
    a.cli("agency", "add", "GB-NCA", "--name", "National Crime Agency (fictional)",
          "--country", "GB", "--timezone", "Europe/London", "--phone", "+442079460001",
          "--email", "desk@gb-nca.example.com")  # fmt: skip
    b.cli("agency", "add", "NL-POL", "--name", "Politie (fictional)", "--country", "NL",
          "--timezone", "Europe/Amsterdam", "--phone", "+31201234567",
          "--email", "desk@nl-pol.example.com")  # fmt: skip
    ana = person(a, "ana@gb-nca.example.com", "GB-NCA", "Ana Archer")
    bo = person(a, "bo@gb-nca.example.com", "GB-NCA", "Bo Baker")
    eva = person(b, "eva@nl-pol.example.com", "NL-POL", "Eva de Vries")
    b.cli("federation", "key", "init")
    documents = {}
    for node in (a, b):
        documents[node.name] = tmp_path / f"{node.name}.json"
        node.cli("node", "show", "--output", str(documents[node.name]))
    a.start()
    b.start()
    a.cli("peer", "add", str(documents["Node B"]), "--yes", "--key-holder")
    b.cli("peer", "add", str(documents["Node A"]), "--yes")
    b.cli("peer", "profile", "Node A", "--kinds", "email", "--levels", "red")
    a.cli("peer", "sync-directory", "Node B")

    red_case(a, ana, "Operation Archer")
    theirs = red_case(b, eva, "Operation Tulip")
    b.cli("federation", "publish")  # B is the key holder: its tokens are its own
    _, synced = a.cli("peer", "sync", "Node B")  # A's tokens through B, then B's feed
    assert "Node B: 1 entries merged, 0 withdrawn, 1 new hits" in synced

    # A's investigator sees the hit, blind, with B's agency's desk
    [hit] = api(a, "GET", "/federation/hits", ana).json()
    assert hit["statement"] == "An agency on node Node B holds a matching email selector."
    assert hit["contact"]["desk"] == "24/7 duty desk"
    assert hit["contact"]["phone"] == "+31201234567"
    assert hit["details"] is None
    assert theirs["reference"] not in str(hit)
    asked = api(a, "POST", f"/federation/hits/{hit['id']}/release", ana, json={"reason": REASON})
    assert asked.status_code == 201, asked.text
    assert asked.json()["state"] == "pending"
    a.cli("worker", "--once")  # the request, signed, to B

    # B's investigator finds it, refuses to decide without a reason, then approves
    [incoming] = api(b, "GET", "/federation/releases", eva).json()
    assert (incoming["state"], incoming["reason"]) == ("pending", REASON)
    assert incoming["requester"] == "Ana Archer (National Crime Agency (fictional))"
    assert incoming["case_reference"] == theirs["reference"]
    path = f"/federation/releases/{incoming['id']}/decision"
    no_reason = api(b, "POST", path, eva, json={"approve": True, "reason": ""})
    assert no_reason.status_code == 422
    decided = api(b, "POST", path, eva, json={"approve": True, "reason": "Call our desk first"})
    assert decided.status_code == 200, decided.text
    b.cli("worker", "--once")  # the decision and the details, signed, to A

    [mine] = api(a, "GET", f"/federation/hits/{hit['id']}", ana).json()["releases"]
    assert (mine["state"], mine["decision_reason"]) == ("approved", "Call our desk first")
    assert mine["decided_by"] == "Eva de Vries (Politie (fictional))"
    assert mine["details"]["case_reference"] == theirs["reference"]
    assert mine["details"]["case_title"] == "Operation Tulip"
    assert mine["details"]["email"] == "eva@nl-pol.example.com"
    assert mine["delivered_at"] is not None
    # another investigator of A's agency sees that a release was made, not what
    [seen] = api(a, "GET", f"/federation/hits/{hit['id']}", bo).json()["releases"]
    assert (seen["state"], seen["details"], seen["released_to_caller"]) == ("approved", None, False)

    assert {
        "federation.hit.found",
        "federation.release.request",
        "federation.release.request_sent",
        "federation.release.decision_received",
    } <= audited(a)
    assert {
        "federation.release.received",
        "federation.release.decide",
        "federation.release.disclose",
        "federation.release.decision_sent",
    } <= audited(b)
