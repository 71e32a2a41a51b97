"""Two real nodes syncing: `taskforce serve` processes on loopback ports, node A on SQLite or
PostgreSQL and node B on SQLite. A (the key holder) publishes to B what its profile allows; B
tokenises its own selectors through A and pulls A's feed with `taskforce peer sync`, and the
cross-node hit is found. A `peer sync` killed with SIGKILL in the middle of a large feed and run
again ends in the same rows and position as an uninterrupted sync."""

from __future__ import annotations

import base64
import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from builders import add_selector, make_agency, make_case, make_person
from serving import Node, peer_both, two_nodes
from sqlalchemy import select

from taskforce.cases import service as case_service
from taskforce.cases.schemas import CaseStatus
from taskforce.core.audit.models import AuditEntry
from taskforce.core.sharing import SharingLevel
from taskforce.federation import feeds
from taskforce.federation.models import FeedEntry, Peer, RemoteEntry, RemoteHit
from taskforce.federation.models import Node as NodeRow

RED_EMAIL = "heron.red@example.com"


@pytest.fixture
def nodes(backend: str, tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    with two_nodes(backend, tmp_path, key_holder="Node A") as pair:
        yield pair


def test_two_nodes_publish_sync_and_find_the_cross_node_hit(
    nodes: tuple[Node, Node], tmp_path: Path
) -> None:
    a, b = nodes
    a.cli("federation", "key", "init")
    with a.database() as session:
        gb = make_person(session, make_agency(session, "GB-NCA"))
        red = make_case(session, gb, title="Operation Heron")
        green = make_case(session, gb, title="Operation Lark", sharing=SharingLevel.GREEN)
        add_selector(session, a.settings, gb, red, "email", RED_EMAIL.upper())
        add_selector(session, a.settings, gb, green, "domain", "lark.example.com")
        session.commit()
        green_id = green.id
    with b.database() as session:
        nl = make_person(session, make_agency(session, "NL-NP"))
        add_selector(session, b.settings, nl, make_case(session, nl), "email", RED_EMAIL)
        session.commit()
    peer_both(a, b, tmp_path, b_names_a_key_holder=True)
    a.start()
    b.start()
    a.cli("peer", "profile", "Node B", "--kinds", "all", "--levels", "red,green")
    a.cli("peer", "profile", "Node B", "--green-plaintext")

    _, published = a.cli("federation", "publish")
    assert "2 selector values tokenised under epoch 1" in published
    assert "Node B: 2 added or changed, 0 withdrawn; feed head 2; nudged" in published

    # B tokenises its own e-mail through A (the key holder), then pulls A's feed
    _, synced = b.cli("peer", "sync", "Node A")
    assert "1 selector values tokenised under epoch 1" in synced
    assert "Node A: 2 entries merged, 0 withdrawn, 1 new hits; position 2 of 2" in synced
    with b.database() as session:
        entries = session.scalars(select(RemoteEntry)).all()
        assert sorted((e.kind, e.form, e.level) for e in entries) == [
            ("domain", "plaintext", "green"),
            ("email", "token", "red"),
        ]
        # the RED e-mail reached B as a token only
        assert all("heron" not in e.value.lower() for e in entries)
        assert [h.kind for h in session.scalars(select(RemoteHit))] == ["email"]

    # A closes its GREEN case: a tombstone; B withdraws the entry at its next sync
    with a.database() as session:
        case_service.set_status(session, gb.caller, green_id, CaseStatus.CLOSED)
        session.commit()
    a.cli("federation", "publish")
    _, synced = b.cli("peer", "sync", "Node A")
    assert "Node A: 0 entries merged, 1 withdrawn, 0 new hits; position 3 of 3" in synced
    _, lag = b.cli("peer", "feed", "Node A")
    assert "Node A: position 3 of head 3 (0 behind)" in lag

    # a removed peering: B's sync fails with A's reason, exit 75, and the peer keeps it
    a.cli("peer", "remove", "Node B")
    code, said = b.cli("peer", "sync", "Node A", ok=False)
    assert code == 75
    assert "the peering with Node B was removed" in said
    _, lag = b.cli("peer", "feed", "Node A")
    assert "last error (1 in a row" in lag


def _bodies(count: int) -> list[dict[str, Any]]:
    """Upserts of fictional tokens, every tenth entry withdrawing one made five before."""
    made: list[dict[str, Any]] = []
    for n in range(1, count + 1):
        if n % 10 == 0:
            made.append({"op": "withdraw", "ref": str(uuid.UUID(int=n - 5))})
            continue
        made.append(
            {
                "op": "upsert",
                "ref": str(uuid.UUID(int=n)),
                "kind": "phone",
                "form": "token",
                "epoch": 1,
                "value": base64.b64encode(n.to_bytes(8, "big") * 8).decode(),
                "level": "red",
                "agency_id": str(uuid.UUID(int=1)),
                "details": {},
            }
        )
    return made


def _expected(bodies: list[dict[str, Any]]) -> dict[str, tuple[int, str, bool]]:
    state: dict[str, tuple[int, str, bool]] = {}
    for seq, body in enumerate(bodies, start=1):
        if body["op"] == "upsert":
            state[body["ref"]] = (seq, body["value"], False)
        elif body["ref"] in state:
            state[body["ref"]] = (seq, state[body["ref"]][1], True)
    return state


def _position(file: Path) -> int:
    with sqlite3.connect(file, timeout=30) as db:
        row = db.execute("SELECT feed_seq FROM federation_peer").fetchone()
    return int(row[0]) if row else 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_sync_killed_in_the_middle_resumes_to_the_same_state(
    nodes: tuple[Node, Node], tmp_path: Path
) -> None:
    a, b = nodes
    peer_both(a, b, tmp_path, b_names_a_key_holder=False)
    count = 20_000
    bodies = _bodies(count)
    with a.database() as session:
        own = session.scalars(select(NodeRow)).one()
        b_id = session.scalars(select(Peer.id)).one()
        for start in range(0, count, 5_000):
            part = [feeds.canonical(body) for body in bodies[start : start + 5_000]]
            feeds.append(session, own.id, b_id, part)
        session.commit()
        last_hash = session.scalars(select(FeedEntry.hash).where(FeedEntry.seq == count)).one()
    a.start()

    b_file = Path(b.database_url.removeprefix("sqlite:///"))
    sync = subprocess.Popen(
        [sys.executable, "-m", "taskforce", "peer", "sync", "Node A", "--limit", "200"],
        env=b.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while _position(b_file) < 2_000 and time.monotonic() < deadline:
        assert sync.poll() is None, "the sync ended before it could be killed"
        time.sleep(0.05)
    os.kill(sync.pid, signal.SIGKILL)
    sync.wait(timeout=30)
    interrupted_at = _position(b_file)
    assert 0 < interrupted_at < count, interrupted_at

    _, said = b.cli("peer", "sync", "Node A")
    assert f"position {count} of {count}" in said
    with b.database() as session:
        rows = {
            r.ref: (r.seq, r.value, r.withdrawn_at is not None)
            for r in session.scalars(select(RemoteEntry))
        }
        peer = session.scalars(select(Peer)).one()
        assert (peer.feed_seq, peer.feed_hash, peer.feed_head) == (count, last_hash, count)
    assert rows == _expected(bodies)
    # every page was merged once: the merges' audit entries tile the feed without overlap
    with b.database() as session:
        merged = [
            e.detail
            for e in session.scalars(
                select(AuditEntry).where(AuditEntry.action == "federation.sync")
            )
        ]
    pages = sorted((d["position"] - d["entries"], d["position"]) for d in merged)
    assert pages[0][0] == 0
    assert all(before[1] == after[0] for before, after in itertools.pairwise(pages))
    assert pages[-1][1] == count
    assert interrupted_at in {end for _, end in pages}  # the killed run's last commit
