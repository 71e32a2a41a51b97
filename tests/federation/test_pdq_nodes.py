"""PDQ candidate → confirmation → hit between real nodes: three `taskforce serve` processes (the
key holder K, node A on SQLite, node B on SQLite or PostgreSQL), peered with the CLI, each
national node's RED PDQ selector crossing only as its 16 chunk tokens. `taskforce peer sync`
publishes (chunk tokens through K's PDQ-chunk key), pulls the other's feed (a shared chunk
makes a candidate) and asks the owner to confirm: a near-duplicate becomes a cross-node hit on
both nodes, a far hash never does, and neither node keeps the other's hash."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from builders import add_selector, make_agency, make_case, make_person
from serving import Node, three_nodes
from sqlalchemy import select

from taskforce.core.db import make_engine, make_sessionmaker, unit_of_work
from taskforce.federation.models import PdqCandidate, RemoteEntry, RemoteHit

BRIDGE = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"  # on A
BLURRED = "d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22"  # on B, 6 bits off
ROTATED = "adad5a64b5a142e75b62a09857da895ae63b847fc23794b766b319361bc93188"  # on B, far


@pytest.fixture
def nodes(backend: str, tmp_path: Path) -> Iterator[tuple[Node, Node, Node]]:
    with three_nodes(backend, tmp_path) as nodes:
        yield nodes


def _hold(node: Node, agency: str, hashes: list[str]) -> None:
    engine = make_engine(node.settings)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            person = make_person(session, make_agency(session, agency))
            case = make_case(session, person, title="Operation Heron")  # RED
            for value in hashes:
                add_selector(session, node.settings, person, case, "pdq", value)
    finally:
        engine.dispose()


def _rows(node: Node, model: type[object]) -> list[object]:
    engine = make_engine(node.settings)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            found = list(session.scalars(select(model)).all())
            session.expunge_all()
            return found
    finally:
        engine.dispose()


def _stored(node: Node) -> bytes:
    engine = make_engine(node.settings)
    try:
        with engine.connect() as db:
            tables = [
                "federation_remote_entry",
                "federation_remote_pdq_chunk",
                "federation_pdq_candidate",
                "audit_entry",
                "selector_value",
            ]
            return repr([db.exec_driver_sql(f"SELECT * FROM {t}").all() for t in tables]).encode()  # noqa: S608
    finally:
        engine.dispose()


def test_a_near_pdq_duplicate_is_a_candidate_confirmed_by_its_owner_on_both_nodes(
    nodes: tuple[Node, Node, Node], tmp_path: Path
) -> None:
    a, b, k = nodes
    for node in nodes:
        node.start()
    documents = {}
    for node in nodes:
        documents[node.name] = tmp_path / f"{node.data_dir.name}.json"
        node.cli("node", "show", "--output", str(documents[node.name]))
    for node, other in ((a, b), (b, a)):
        node.cli("peer", "add", str(documents[other.name]), "--yes")
        node.cli("peer", "add", str(documents[k.name]), "--yes", "--key-holder")
        node.cli("peer", "profile", other.name, "--kinds", "pdq", "--levels", "red")
        k.cli("peer", "add", str(documents[node.name]), "--yes")
    _hold(a, "GB-NCA", [BRIDGE])
    _hold(b, "NL-NP", [BLURRED, ROTATED])

    _, said = a.cli("peer", "sync", "Node B")  # A publishes; B has published nothing yet
    assert "1 PDQ values cut into chunk tokens under epoch 1" in said
    _, said = b.cli("peer", "sync", "Node A")  # B publishes, pulls A's entry, asks A
    assert "2 PDQ values cut into chunk tokens" in said
    assert "1 PDQ candidates sent to be confirmed: 1 new hits, 0 no hit" in said
    _, said = a.cli("peer", "sync", "Node B")  # A pulls B's two entries: one candidate
    assert "1 PDQ candidates sent to be confirmed: 1 new hits" in said

    for node in (a, b):
        entries = _rows(node, RemoteEntry)
        assert {e.form for e in entries} == {"pdq-chunks"}  # type: ignore[attr-defined]
        (candidate,) = _rows(node, PdqCandidate)
        assert (candidate.state, candidate.distance) == ("hit", 6)  # type: ignore[attr-defined]
        (hit,) = _rows(node, RemoteHit)
        assert hit.kind == "pdq"  # type: ignore[attr-defined]
    assert len(_rows(b, RemoteEntry)) == 1
    assert len(_rows(a, RemoteEntry)) == 2

    # neither node keeps the other's hash: entries, chunk tokens, candidates and audit hold
    # none of it (the control: each finds its own hash among its selector values)
    for node, own, theirs in ((b, BLURRED, [BRIDGE]), (a, BRIDGE, [BLURRED, ROTATED])):
        kept = _stored(node).lower()
        assert own.encode() in kept
        for value in theirs:
            assert value.encode() not in kept
    # the key holder saw blinded chunks only, counted under its PDQ-chunk key
    _, keys = k.cli("federation", "key", "show", "--json")
    assert '"epoch": 1' in keys
