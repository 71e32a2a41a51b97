"""Two real nodes carry the watch list: `taskforce serve` processes on loopback ports (node A
on SQLite or PostgreSQL, node B on SQLite). A wallet an agency of A lists reaches B's list
through A's feed, shown as listed by that agency of node A, and leaves it when A takes it off."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import bech32
import pytest
from builders import make_agency, make_person
from serving import Node, peer_both, two_nodes
from sqlalchemy import select

from taskforce.commerce import watchlist
from taskforce.commerce.models import WalletWatch
from taskforce.federation.models import Node as NodeRow

WALLET = bech32.encode("bc", 0, hashlib.sha256(b"two nodes").digest()[:20]) or ""


@pytest.fixture
def nodes(backend: str, tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    with two_nodes(backend, tmp_path) as pair:
        yield pair


def test_a_wallet_listed_on_one_node_reaches_the_others_list(
    nodes: tuple[Node, Node], tmp_path: Path
) -> None:
    a, b = nodes
    with a.database() as session:
        gb = make_person(session, make_agency(session, "GB-NCA"))
        listed = watchlist.add(session, gb.caller, address=WALLET, reason="pays for access")
        session.commit()
        listed_id = listed.id
        a_id = session.scalars(select(NodeRow.id)).one()
    with b.database() as session:
        make_agency(session, "NL-NP")
        session.commit()
    peer_both(a, b, tmp_path)
    a.start()
    b.start()
    a.cli("peer", "profile", "Node B", "--kinds", "crypto_wallet", "--levels", "green")
    a.cli("peer", "profile", "Node B", "--green-plaintext")

    _, published = a.cli("federation", "publish")
    assert "Node B: 1 added or changed, 0 withdrawn; feed head 1" in published
    _, synced = b.cli("peer", "sync", "Node A")
    assert "Node A: 1 entries merged, 0 withdrawn" in synced
    with b.database() as session:
        nl = make_person(session, make_agency(session, "NL-HOT"))
        (entry,) = watchlist.current(session, nl.caller)
        assert (entry.address, entry.origin_node) == (WALLET, str(a_id))
        assert "GB-NCA (Node A)" in watchlist.to_csv(session, nl.caller)
        session.rollback()

    with a.database() as session:
        watchlist.remove(session, gb.caller, listed_id, reason="account closed")
        session.commit()
    a.cli("federation", "publish")
    _, synced = b.cli("peer", "sync", "Node A")
    assert "Node A: 0 entries merged, 1 withdrawn" in synced
    with b.database() as session:
        (gone,) = session.scalars(select(WalletWatch)).all()
        assert gone.removed_reason == "no longer published by Node A"
