"""Pulling a peer's feed, against a peer the test plays (its feed built and signed with its
key): pages merged in order and resumed from the stored position; every fault of a peer (down,
slow, garbage, a broken chain or signature, a replay, a cursor from the future, a feed that went
backwards) refused with its reason, nothing of the page applied, retried with backoff, and
other peers unaffected."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from node_builders import OtherNode
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import system_caller
from taskforce.core.settings import Settings
from taskforce.federation import feeds, identity, peering
from taskforce.federation.models import Peer, RemoteEntry
from taskforce.federation.sync import backoff, sync_due, sync_peer

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AGENCY = uuid.UUID("6f0c6d1e-0000-4000-8000-000000000001")

Tamper = Callable[[dict[str, Any]], dict[str, Any]]


def upsert(ref: str, level: str = "red") -> dict[str, Any]:
    return {
        "op": "upsert",
        "ref": ref,
        "kind": "email",
        "form": "token",
        "epoch": 1,
        "value": "dG9rZW4t" + ref,
        "level": level,
        "agency_id": str(AGENCY),
        "details": {},
    }


class Origin:
    """A peer's feed to this node, as that peer serves it (`tamper` alters the answer)."""

    def __init__(self, node: OtherNode, here: uuid.UUID) -> None:
        self.node, self.here = node, here
        self.entries: list[tuple[int, str, str, str]] = []
        self.tamper: Tamper | None = None
        self.fail: Exception | None = None
        self.raw: bytes | None = None
        self.asked: list[int] = []

    def add(self, *bodies: dict[str, Any]) -> None:
        for body in bodies:
            prev = self.entries[-1][3] if self.entries else feeds.genesis(self.node.id, self.here)
            text = feeds.canonical(body)
            self.entries.append((len(self.entries) + 1, text, prev, feeds.entry_hash(prev, text)))

    def page(self, after: int, limit: int) -> dict[str, Any] | None:
        head = len(self.entries)
        if after > head:
            return None
        chosen = self.entries[after : after + limit]
        if chosen:
            last_seq, last_hash = chosen[-1][0], chosen[-1][3]
        else:
            last_seq = after
            last_hash = (
                self.entries[after - 1][3] if after else feeds.genesis(self.node.id, self.here)
            )
        statement = feeds.page_statement(self.node.id, self.here, after, last_seq, last_hash, head)
        return feeds.Page(
            origin=self.node.id,
            recipient=self.here,
            after_seq=after,
            entries=chosen,
            head=head,
            next=last_seq if chosen and last_seq < head else None,
            signature=feeds.sign_page(statement, self.node.key),
        ).as_json()

    def resign(self, data: dict[str, Any]) -> dict[str, Any]:
        """The page signed again by the peer after it was altered (a dishonest peer can)."""
        entries = data["entries"]
        statement = feeds.page_statement(
            uuid.UUID(data["origin"]),
            uuid.UUID(data["recipient"]),
            data["after_seq"],
            entries[-1]["seq"] if entries else data["after_seq"],
            entries[-1]["hash"] if entries else "",
            data["head"],
        )
        return {**data, "signature": feeds.sign_page(statement, self.node.key)}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.fail is not None:
            raise self.fail
        if request.url.path == "/federation/v1/directory":
            return httpx.Response(200, json={"node_id": str(self.node.id), "agencies": []})
        if self.raw is not None:
            return httpx.Response(200, content=self.raw)
        after = int(request.url.params["after_seq"])
        self.asked.append(after)
        data = self.page(after, int(request.url.params["limit"]))
        if data is None:
            message = f"after_seq: beyond this feed's head ({len(self.entries)})"
            return httpx.Response(409, json={"message": message})
        if self.tamper is not None:
            data = self.tamper(copy.deepcopy(data))
        return httpx.Response(200, json=data)


@pytest.fixture
def origin(here: uuid.UUID, peer: OtherNode) -> Origin:
    return Origin(peer, here)


def pull(factory: sessionmaker[Session], settings: Settings, origin: Origin, **kw: Any) -> Any:
    return sync_peer(factory, settings, origin.node.id, transport=httpx.MockTransport(origin), **kw)


def held(session: Session, node: OtherNode) -> dict[str, tuple[int, str, bool]]:
    session.expire_all()
    return {
        r.ref: (r.seq, r.level, r.withdrawn_at is not None)
        for r in session.scalars(select(RemoteEntry).where(RemoteEntry.peer_id == node.id))
    }


def test_a_feed_is_merged_page_by_page_and_resumed_where_it_stood(
    session: Session,
    session_factory: sessionmaker[Session],
    node_settings: Settings,
    origin: Origin,
) -> None:
    origin.add(*(upsert(f"r{n}") for n in range(1, 8)))
    origin.add({"op": "withdraw", "ref": "r2"}, upsert("r3", level="amber"))
    session.commit()
    seen: list[tuple[int, int]] = []
    report = pull(
        session_factory, node_settings, origin, limit=4, progress=lambda *a: seen.append(a)
    )
    assert report.error is None
    assert (report.merged, report.withdrawn, report.position, report.head) == (8, 1, 9, 9)
    assert seen == [(4, 9), (8, 9), (9, 9)]
    rows = held(session, origin.node)
    assert len(rows) == 7
    assert rows["r2"] == (8, "red", True)
    assert rows["r3"] == (9, "amber", False)
    peer = session.get(Peer, origin.node.id)
    assert peer is not None
    assert (peer.feed_seq, peer.feed_hash, peer.feed_head) == (9, origin.entries[-1][3], 9)
    assert peer.directory_synced_at is not None  # the directory came with the first sync

    # the next sync asks from where it stood, and takes only what is new
    origin.asked.clear()
    origin.add(upsert("r8"), {"op": "withdraw", "ref": "unknown"})
    again = pull(session_factory, node_settings, origin)
    assert origin.asked == [9]
    assert (again.merged, again.withdrawn, again.position) == (1, 0, 11)
    assert len(held(session, origin.node)) == 8
    synced = session.scalars(select(AuditEntry).where(AuditEntry.action == "federation.sync")).all()
    assert [e.detail["entries"] for e in synced] == [4, 4, 1, 2]


def _link(data: dict[str, Any]) -> dict[str, Any]:
    data["entries"][1]["prev_hash"] = "0" * 64
    return data


def _body(data: dict[str, Any]) -> dict[str, Any]:
    data["entries"][0]["body"] = data["entries"][0]["body"].replace("red", "green")
    return data


def _other_key(data: dict[str, Any]) -> dict[str, Any]:
    statement = feeds.page_statement(
        uuid.UUID(data["origin"]),
        uuid.UUID(data["recipient"]),
        data["after_seq"],
        data["entries"][-1]["seq"],
        data["entries"][-1]["hash"],
        data["head"],
    )
    return {**data, "signature": feeds.sign_page(statement, Ed25519PrivateKey.generate())}


def _future(data: dict[str, Any]) -> dict[str, Any]:
    data["next"] = data["head"] + 5
    return data


def _garbage(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "entries": "all of them"}


FAULTS: list[tuple[str, Tamper | None, str]] = [
    ("a broken link", _link, "Node B's feed: entry 5 does not link to entry 4"),
    ("an altered body", _body, "Node B's feed: entry 4's hash does not match its body"),
    ("another key", _other_key, "Node B's feed: the page's signature does not verify"),
    ("a cursor from the future", _future, "Node B's feed: cursor from the future (next 11 > "),
    ("garbage", _garbage, "Node B's feed: sent garbage (entries: "),
]


@pytest.mark.parametrize(("tamper", "reason"), [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_a_faulty_page_is_refused_whole_named_and_retried_with_backoff(
    session: Session,
    session_factory: sessionmaker[Session],
    node_settings: Settings,
    origin: Origin,
    tamper: Tamper,
    reason: str,
) -> None:
    origin.add(*(upsert(f"r{n}") for n in range(1, 4)))
    session.commit()
    assert pull(session_factory, node_settings, origin).error is None
    before = held(session, origin.node)
    origin.add(*(upsert(f"s{n}") for n in range(1, 4)))
    origin.tamper = tamper
    _refused_then_recovers(session, session_factory, node_settings, origin, reason, before)


def _refused_then_recovers(
    session: Session,
    factory: sessionmaker[Session],
    settings: Settings,
    origin: Origin,
    reason: str,
    before: dict[str, tuple[int, str, bool]],
) -> None:
    report = pull(factory, settings, origin, now=NOW)
    assert report.error is not None
    assert report.error.startswith(reason), report.error
    assert held(session, origin.node) == before  # nothing of the page was applied
    peer = session.get(Peer, origin.node.id)
    assert peer is not None
    assert (peer.feed_seq, peer.sync_error, peer.sync_failures) == (3, report.error, 1)
    assert peer.next_sync_at == NOW + timedelta(seconds=30)
    refused = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "federation.sync.refused")
    ).all()
    assert [e.detail["reason"] for e in refused] == [report.error]
    # refused again: the wait doubles; once the peer is right again, the sync carries on
    pull(factory, settings, origin, now=NOW)
    session.expire_all()
    assert (peer.sync_failures, peer.next_sync_at) == (2, NOW + timedelta(seconds=60))
    origin.tamper = origin.fail = origin.raw = None
    healed = pull(factory, settings, origin, now=NOW)
    assert healed.error is None
    session.expire_all()
    assert (peer.feed_seq, peer.sync_error, peer.sync_failures) == (6, None, 0)
    assert len(held(session, origin.node)) == len(before) + 3


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("slow", "Node B did not answer within 10 s"),
        ("down", "Node B did not answer: ConnectError"),
        ("not JSON", "Node B's feed: sent garbage (not JSON)"),
        ("replay", "Node B's feed: replayed a batch we hold (seq 1 ≤ our position 3)"),
        ("another feed", "Node B's feed: sent another feed"),
        ("backwards", "Node B's feed: went backwards: head 2 < our position 3"),
        ("truncated", "Node B's feed: went backwards: our position 3 is past its head"),
    ],
)
def test_a_peer_that_is_down_slow_replays_or_went_backwards_is_refused_by_name(
    session: Session,
    session_factory: sessionmaker[Session],
    node_settings: Settings,
    origin: Origin,
    fault: str,
    reason: str,
) -> None:
    origin.add(*(upsert(f"r{n}") for n in range(1, 4)))
    session.commit()
    assert pull(session_factory, node_settings, origin).error is None
    before = held(session, origin.node)
    origin.add(*(upsert(f"s{n}") for n in range(1, 4)))
    if fault == "slow":
        origin.fail = httpx.ReadTimeout("timed out")
    elif fault == "down":
        origin.fail = httpx.ConnectError("connection refused")
    elif fault == "not JSON":
        origin.raw = b"<html>proxy error</html>"
    elif fault == "replay":
        first = origin.page(0, 3)
        origin.tamper = lambda _data: copy.deepcopy(first)  # type: ignore[arg-type]
    elif fault == "another feed":
        origin.tamper = lambda data: origin.resign({**data, "recipient": str(uuid.uuid4())})
    elif fault == "backwards":
        origin.tamper = lambda data: origin.resign({**data, "entries": [], "head": 2, "next": None})
    else:
        kept = origin.entries
        origin.entries = kept[:2]
        report = pull(session_factory, node_settings, origin, now=NOW)
        assert report.error is not None
        assert report.error.startswith(reason), report.error
        assert "beyond this feed's head (2)" in report.error
        assert held(session, origin.node) == before
        origin.entries = kept
        return
    _refused_then_recovers(session, session_factory, node_settings, origin, reason, before)


def test_one_peer_failing_leaves_the_others_synced(
    session: Session,
    session_factory: sessionmaker[Session],
    node_settings: Settings,
    here: uuid.UUID,
    origin: Origin,
) -> None:
    good_node = OtherNode(name="Node C", url="http://node-c.example.org")
    peering.add_peer(session, system_caller(), identity.read_document(good_node.document()))
    good = Origin(good_node, here)
    good.add(upsert("c1"), upsert("c2"))
    origin.add(upsert("b1"))
    origin.fail = httpx.ConnectError("connection refused")
    session.commit()

    def route(request: httpx.Request) -> httpx.Response:
        return (good if request.url.host == "node-c.example.org" else origin)(request)

    reports = sync_due(
        session_factory, node_settings, now=NOW, transport=httpx.MockTransport(route)
    )
    assert {r.peer: r.error for r in reports} == {
        "Node B": "Node B did not answer: ConnectError: connection refused",
        "Node C": None,
    }
    assert len(held(session, good_node)) == 2
    # Node B waits out its backoff; Node C is due again only after the interval
    soon = NOW + timedelta(seconds=5)
    assert (
        sync_due(session_factory, node_settings, now=soon, transport=httpx.MockTransport(route))
        == []
    )
    later = sync_due(
        session_factory,
        node_settings,
        now=NOW + backoff(node_settings, 1),
        transport=httpx.MockTransport(route),
    )
    assert sorted(r.peer for r in later) == ["Node B", "Node C"]
