"""Two real nodes carry the watch list: `taskforce serve` processes on loopback ports (node A
on SQLite or PostgreSQL, node B on SQLite). A wallet an agency of A lists reaches B's list
through A's feed, shown as listed by that agency of node A, and leaves it when A takes it off."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import bech32
import pytest
from builders import make_agency, make_person
from conftest import fresh_database
from serving import Node, make_node
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.commerce import watchlist
from taskforce.commerce.models import WalletWatch
from taskforce.core.db import make_engine
from taskforce.federation.models import Node as NodeRow

WALLET = bech32.encode("bc", 0, hashlib.sha256(b"two nodes").digest()[:20]) or ""


@pytest.fixture
def nodes(backend: str, tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    with (
        fresh_database(backend, tmp_path) as url_a,
        fresh_database("sqlite", tmp_path) as url_b,
    ):
        a = make_node("Node A", tmp_path / "a", url_a, "GB")
        b = make_node("Node B", tmp_path / "b", url_b, "NL")
        try:
            yield a, b
        finally:
            a.stop()
            b.stop()


@contextmanager
def database(node: Node) -> Iterator[Session]:
    engine = make_engine(node.settings)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def test_a_wallet_listed_on_one_node_reaches_the_others_list(
    nodes: tuple[Node, Node], tmp_path: Path
) -> None:
    a, b = nodes
    with database(a) as session:
        gb = make_person(session, make_agency(session, "GB-NCA"))
        listed = watchlist.add(session, gb.caller, address=WALLET, reason="pays for access")
        session.commit()
        listed_id = listed.id
        a_id = session.scalars(select(NodeRow.id)).one()
    with database(b) as session:
        make_agency(session, "NL-NP")
        session.commit()
    documents = {}
    for node in (a, b):
        documents[node.name] = tmp_path / f"{node.name}.json"
        node.cli("node", "show", "--output", str(documents[node.name]))
    a.cli("peer", "add", str(documents["Node B"]), "--yes")
    b.cli("peer", "add", str(documents["Node A"]), "--yes")
    a.start()
    b.start()
    a.cli("peer", "profile", "Node B", "--kinds", "crypto_wallet", "--levels", "green")
    a.cli("peer", "profile", "Node B", "--green-plaintext")

    _, published = a.cli("federation", "publish")
    assert "Node B: 1 added or changed, 0 withdrawn; feed head 1" in published
    _, synced = b.cli("peer", "sync", "Node A")
    assert "Node A: 1 entries merged, 0 withdrawn" in synced
    with database(b) as session:
        nl = make_person(session, make_agency(session, "NL-HOT"))
        (entry,) = watchlist.current(session, nl.caller)
        assert (entry.address, entry.origin_node) == (WALLET, str(a_id))
        assert "GB-NCA (Node A)" in watchlist.to_csv(session, nl.caller)
        session.rollback()

    with database(a) as session:
        watchlist.remove(session, gb.caller, listed_id, reason="account closed")
        session.commit()
    a.cli("federation", "publish")
    _, synced = b.cli("peer", "sync", "Node A")
    assert "Node A: 0 entries merged, 1 withdrawn" in synced
    with database(b) as session:
        (gone,) = session.scalars(select(WalletWatch)).all()
        assert gone.removed_reason == "no longer published by Node A"
