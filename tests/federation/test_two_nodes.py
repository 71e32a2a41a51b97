"""Two real nodes: two `taskforce serve` processes on loopback ports, each with its own data
folder, key and database (node A on SQLite or PostgreSQL, node B on SQLite). Their admins
exchange peering documents with the CLI, and node A fetches node B's agency directory over
signed requests; once B removes A, A's requests are refused with B's reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import Node, two_nodes


@pytest.fixture
def nodes(backend: str, tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    with two_nodes(backend, tmp_path) as pair:
        yield pair


def test_two_nodes_peer_with_the_cli_and_exchange_directories_over_signed_requests(
    nodes: tuple[Node, Node], tmp_path: Path
) -> None:
    a, b = nodes
    b.cli(
        "agency", "add", "NL-POL", "--name", "Politie (fictional)", "--country", "NL",
        "--timezone", "Europe/Amsterdam", "--phone", "+31201234567",
        "--email", "desk@nl-pol.example.com",
    )  # fmt: skip
    b.cli(
        "agency", "add", "NL-HOT", "--name", "Hotline (fictional)", "--country", "NL",
        "--timezone", "Europe/Amsterdam", "--phone", "+31201234568",
        "--email", "desk@nl-hot.example.com", "--kind", "hotline",
    )  # fmt: skip
    b.cli("agency", "partner", "NL-POL", "NL-HOT")
    documents = {}
    for node in (a, b):
        file = tmp_path / f"{node.name}.json"
        _, _shown = node.cli("node", "show", "--output", str(file))
        documents[node.name] = file
        assert json.loads(file.read_text())["url"] == node.url
    a.start()
    b.start()

    # A has peered with B, B not yet with A: B refuses A's signed request (403, with why)
    _, added = a.cli("peer", "add", str(documents["Node B"]), "--yes")
    assert "fingerprint: " in added
    assert "peered with Node B" in added
    code, said = a.cli("peer", "sync-directory", "Node B", ok=False)
    assert code != 0
    assert "Node B answered 403" in said
    assert "is not peered with this node" in said

    # confirming the fingerprint is required: "no" adds nothing
    code, said = b.cli("peer", "add", str(documents["Node A"]), ok=False, input="n\n")
    assert code == 1
    assert "nothing was done" in said
    b.cli("peer", "add", str(documents["Node A"]), "--yes")

    _, hello = a.cli("peer", "hello", "Node B")
    assert "Node B (NL" in hello
    _, synced = a.cli("peer", "sync-directory", "Node B")
    assert "Node B: 2 agencies" in synced
    _, listed = a.cli("peer", "agencies", "Node B")
    rows = {line.split()[0]: line.split() for line in listed.splitlines()}
    assert set(rows) == {"NL-POL", "NL-HOT"}
    assert rows["NL-POL"][1:3] == ["NL", "Politie"]
    assert "+31201234567" in rows["NL-POL"]
    assert "desk@nl-pol.example.com" in rows["NL-POL"]
    assert rows["NL-POL"][-1] == "NL-HOT"  # its partner
    _, peers = a.cli("peer", "list")
    assert peers.split()[:4] == ["Node", "B", "active", "NL"]

    # B removes A: A's next request is refused, and A's peer list says why
    b.cli("peer", "remove", "Node A")
    code, said = a.cli("peer", "sync-directory", "Node B", ok=False)
    assert code == 75
    assert "the peering with Node A was removed" in said
    _, peers = a.cli("peer", "list")
    assert "the peering with Node A was removed" in peers
    # what A kept of B's directory stays until A removes B
    _, listed = a.cli("peer", "agencies", "Node B")
    assert "NL-POL" in listed
