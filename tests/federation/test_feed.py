"""The publisher and the feed a peer reads: what the profile allows goes out as hash-chained
entries (tokens for RED and AMBER, plaintext only for GREEN where allowed), changes and
tombstones follow the cases, and the feed endpoint hands each peer its own feed, signed."""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from builders import Network, add_selector, make_case, token_for
from node_builders import OtherNode, allow
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from taskforce.cases import service as case_service
from taskforce.cases.models import Selector
from taskforce.cases.schemas import CaseStatus, CaseUpdate
from taskforce.cases.selectors import normalise
from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import system_caller
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.federation import blinding, feeds, httpsig, identity, keys, peering
from taskforce.federation import publish as publish_module
from taskforce.federation import service as federation_service
from taskforce.federation.models import FeedEntry, Peer, Publication
from taskforce.federation.publish import publish

HERE = "http://node-a.example.org"
FEED = "/federation/v1/feed"


@pytest.fixture
def holder(session: Session, node_settings: Settings, here: uuid.UUID) -> Settings:  # noqa: ARG001 (this node has its identity first)
    """This node holds the network key: its own tokens are made locally."""
    chosen = node_settings.model_copy(update={"federation_key_holder": True})
    federation_service.init_key(session, system_caller(), chosen)
    return chosen


def entries(session: Session, node: OtherNode) -> list[FeedEntry]:
    return list(
        session.scalars(
            select(FeedEntry).where(FeedEntry.peer_id == node.id).order_by(FeedEntry.seq)
        )
    )


def bodies(session: Session, node: OtherNode) -> list[dict[str, Any]]:
    return [json.loads(e.body) for e in entries(session, node)]


def run(factory: sessionmaker[Session], settings: Settings) -> Any:
    return publish(factory, settings, nudge=False)


def test_publishing_appends_a_hash_chained_entry_per_allowed_selector(
    session: Session,
    session_factory: sessionmaker[Session],
    holder: Settings,
    here: uuid.UUID,
    peer: OtherNode,
    network: Network,
) -> None:
    red = make_case(session, network.gb, title="Operation Heron")
    green = make_case(session, network.gb, title="Operation Lark", sharing=SharingLevel.GREEN)
    add_selector(session, holder, network.gb, red, "email", "Heron.Red@Example.com")
    add_selector(session, holder, network.gb, green, "domain", "lark.example.com")
    allow(session, peer)
    session.commit()

    report = run(session_factory, holder)
    assert report.tokenised == 2
    assert [(p.peer, p.upserts, p.withdrawals, p.head) for p in report.peers] == [
        ("Node B", 2, 0, 2)
    ]
    chain = entries(session, peer)
    assert [e.seq for e in chain] == [1, 2]
    assert chain[0].prev_hash == feeds.genesis(here, peer.id)
    for before, entry in zip([None, *chain], chain, strict=False):
        if before is not None:
            assert entry.prev_hash == before.hash
        assert entry.hash == feeds.entry_hash(entry.prev_hash, entry.body)

    by_kind = {b["kind"]: b for b in bodies(session, peer)}
    token = blinding.token_for_key_holder(
        keys.seed(holder, 1), normalise("email", "heron.red@example.com"), 1
    )
    assert by_kind["email"] == {
        "op": "upsert",
        "ref": by_kind["email"]["ref"],
        "kind": "email",
        "form": "token",
        "epoch": 1,
        "value": base64.b64encode(token).decode(),
        "level": "red",
        "agency_id": str(red.owner_agency_id),
        "details": {},  # RED: the details wait for a human release, whatever the profile
    }
    assert by_kind["domain"]["form"] == "plaintext"
    assert by_kind["domain"]["value"] == "lark.example.com"
    assert by_kind["domain"]["epoch"] is None
    assert by_kind["domain"]["details"]["reference"] == green.reference
    assert by_kind["domain"]["details"]["investigator_email"] == network.gb.user.email
    # the RED value never leaves in plaintext, in any spelling
    assert "heron.red" not in "".join(e.body for e in chain).lower()
    # refs are random: nothing of the selector's id crosses
    assert {b["ref"] for b in by_kind.values()}.isdisjoint(
        {str(s) for s in session.scalars(select(Selector.id))}
    )

    # a second round has nothing to add
    again = run(session_factory, holder)
    assert (again.tokenised, again.appended) == (0, 0)
    assert len(entries(session, peer)) == 2


def test_changes_and_tombstones_follow_the_cases_and_the_profile(
    session: Session,
    session_factory: sessionmaker[Session],
    holder: Settings,
    peer: OtherNode,
    network: Network,
) -> None:
    cases = {
        name: make_case(
            session,
            network.gb,
            title=f"Operation {name}",
            sharing=level,
            partners=["NL-NP"] if level == SharingLevel.AMBER else [],
        )
        for name, level in [
            ("Deleted", SharingLevel.RED),
            ("Closed", SharingLevel.RED),
            ("Downgraded", SharingLevel.GREEN),
            ("Changed", SharingLevel.RED),
            ("Narrowed", SharingLevel.AMBER),
        ]
    }
    added = {
        "Deleted": add_selector(session, holder, network.gb, cases["Deleted"], "ip", "203.0.113.7"),
        "Closed": add_selector(
            session, holder, network.gb, cases["Closed"], "email", "c@example.com"
        ),
        "Downgraded": add_selector(
            session, holder, network.gb, cases["Downgraded"], "domain", "down.example.com"
        ),
        "Changed": add_selector(
            session, holder, network.gb, cases["Changed"], "phone", "+31 6 1234 5678"
        ),
        "Narrowed": add_selector(
            session, holder, network.gb, cases["Narrowed"], "username", "heron_99", platform="Kik"
        ),
    }
    allow(session, peer, levels=["red", "amber"], green_plaintext=False)
    session.commit()
    run(session_factory, holder)
    refs = {
        p.selector_id: p.ref
        for p in session.scalars(select(Publication).where(Publication.peer_id == peer.id))
    }
    assert len(refs) == 4  # the GREEN one is not allowed (levels red, amber)
    ref = {name: refs.get(a.selector.id) for name, a in added.items()}

    # the selector deleted, the case closed, a level the profile does not allow, a level changed
    session.delete(session.get(Selector, added["Deleted"].selector.id))
    case_service.set_status(session, network.gb.caller, cases["Closed"].id, CaseStatus.CLOSED)
    case_service.update_case(
        session,
        network.gb.caller,
        cases["Changed"].id,
        CaseUpdate(sharing=SharingLevel.AMBER, partners=["NL-NP"]),
    )
    session.commit()
    report = run(session_factory, holder)
    assert (report.peers[0].upserts, report.peers[0].withdrawals) == (1, 2)
    tail = bodies(session, peer)[4:]
    assert {(b["op"], b["ref"]) for b in tail} == {
        ("withdraw", ref["Deleted"]),
        ("withdraw", ref["Closed"]),
        ("upsert", ref["Changed"]),  # the same ref: the peer's entry is replaced, not doubled
    }
    assert next(b for b in tail if b["op"] == "upsert")["level"] == "amber"

    # the profile narrowed (no usernames), then the peer named the key holder: all withdrawn
    allow(session, peer, kinds=["email", "phone", "ip", "domain"], levels=["red", "amber"])
    session.commit()
    run(session_factory, holder)
    assert bodies(session, peer)[-1] == {"op": "withdraw", "ref": ref["Narrowed"]}
    peering.set_key_holder(session, system_caller(), session.get(Peer, peer.id), True)  # type: ignore[arg-type]
    session.commit()
    run(session_factory, holder)
    assert bodies(session, peer)[-1] == {"op": "withdraw", "ref": ref["Changed"]}
    assert session.scalars(select(Publication).where(Publication.peer_id == peer.id)).all() == []
    # the chain holds over every change
    chain = entries(session, peer)
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(chain))


def _signed(node: OtherNode, path: str) -> dict[str, str]:
    request = httpx.Request("GET", f"{HERE}{path}")
    httpsig.sign(request, key_id=str(node.id), private=node.key, lifetime=timedelta(seconds=60))
    return dict(request.headers)


def test_the_feed_endpoint_pages_the_callers_own_feed_signed(
    app: object,
    session: Session,
    session_factory: sessionmaker[Session],
    holder: Settings,
    here: uuid.UUID,
    peer: OtherNode,
    network: Network,
) -> None:
    case = make_case(session, network.gb)
    for n in range(3):
        add_selector(session, holder, network.gb, case, "ip", f"203.0.113.{n + 1}")
    allow(session, peer)
    other = OtherNode(name="Node C", url="http://node-c.example.org")
    peering.add_peer(session, system_caller(), identity.read_document(other.document()))
    session.commit()
    run(session_factory, holder)
    app.state.settings = holder  # type: ignore[attr-defined]
    public = identity.signing_key(holder).public_key()

    with TestClient(app, base_url=HERE) as client:  # type: ignore[arg-type]

        def get(path: str, node: OtherNode = peer) -> Any:
            return client.get(path, headers=_signed(node, path))

        first = get(f"{FEED}?after_seq=0&limit=2")
        assert first.status_code == 200, first.text
        page = first.json()
        assert (page["origin"], page["recipient"]) == (str(here), str(peer.id))
        assert ([e["seq"] for e in page["entries"]], page["head"], page["next"]) == ([1, 2], 3, 2)
        statement = feeds.page_statement(here, peer.id, 0, 2, page["entries"][-1]["hash"], 3)
        assert feeds.page_signature_holds(statement, page["signature"], public)
        altered = {**statement, "head": 2}
        assert not feeds.page_signature_holds(altered, page["signature"], public)

        last = get(f"{FEED}?after_seq=2").json()
        assert ([e["seq"] for e in last["entries"]], last["next"]) == ([3], None)
        at_head = get(f"{FEED}?after_seq=3").json()
        assert (at_head["entries"], at_head["next"]) == ([], None)
        statement = feeds.page_statement(here, peer.id, 3, 3, last["entries"][-1]["hash"], 3)
        assert feeds.page_signature_holds(statement, at_head["signature"], public)

        beyond = get(f"{FEED}?after_seq=9")
        assert beyond.status_code == 409
        assert "after_seq: beyond this feed's head (3)" in beyond.json()["message"]
        for query, field in [
            ("after_seq=-1", "after_seq"),
            ("after_seq=abc", "after_seq"),
            ("limit=0", "limit"),
            ("limit=5001", "limit"),
        ]:
            bad = get(f"{FEED}?{query}")
            assert (bad.status_code, bad.json()["field"]) == (422, field), query
        assert client.get(FEED).status_code == 401  # unsigned

        # another peer reads its own feed (nothing: it has no profile), never Node B's
        theirs = get(FEED, other).json()
        assert (theirs["recipient"], theirs["entries"], theirs["head"]) == (str(other.id), [], 0)

    disclosed = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "federation.feed.disclose")
    ).all()
    assert len(disclosed) == 4
    assert all(e.detail.keys() == {"after_seq", "entries", "head"} for e in disclosed)


class CountingWorker:
    def __init__(self) -> None:
        self.woken = 0

    def wake(self) -> None:
        self.woken += 1


def test_a_nudge_schedules_the_peers_sync_and_a_new_selector_wakes_the_worker(
    app: object,
    session: Session,
    node_settings: Settings,
    peer: OtherNode,
    network: Network,
) -> None:
    case = make_case(session, network.gb)
    headers = token_for(session, node_settings, network.gb)
    session.commit()
    with TestClient(app, base_url=HERE) as client:  # type: ignore[arg-type]
        worker = CountingWorker()
        app.state.worker = worker  # type: ignore[attr-defined]
        path = "/federation/v1/nudge"
        request = httpx.Request("POST", f"{HERE}{path}", content=b"{}")
        httpsig.sign(request, key_id=str(peer.id), private=peer.key, lifetime=timedelta(seconds=60))
        answer = client.post(path, content=b"{}", headers=dict(request.headers))
        assert answer.status_code == 200, answer.text
        assert worker.woken == 1
        session.expire_all()
        nudged = session.get(Peer, peer.id)
        assert nudged is not None
        assert nudged.next_sync_at is not None  # due at the worker's next round

        added = client.post(
            f"/api/v1/cases/{case.id}/selectors",
            json={"type": "email", "value": "new.lead@example.com"},
            headers=headers,
        )
        assert added.status_code == 201, added.text
        assert worker.woken == 2  # publishing starts now, not at the next round
        refused = client.post(
            f"/api/v1/cases/{case.id}/selectors",
            json={"type": "email", "value": "not an address"},
            headers=headers,
        )
        assert refused.status_code == 422
        assert worker.woken == 2


def test_the_worker_publishes_when_something_changed_or_the_interval_passed(
    session: Session,
    session_factory: sessionmaker[Session],
    holder: Settings,
    peer: OtherNode,
    network: Network,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = make_case(session, network.gb)
    add_selector(session, holder, network.gb, case, "ip", "203.0.113.5")
    allow(session, peer)
    session.commit()
    rounds: list[int] = []
    real = publish_module.publish

    def counted(*args: Any, **kwargs: Any) -> Any:
        done = real(*args, **{**kwargs, "nudge": False})
        rounds.append(done.appended)
        return done

    monkeypatch.setattr(publish_module, "publish", counted)
    assert publish_module.publish_due(session_factory, holder) == 1
    assert publish_module.publish_due(session_factory, holder) == 0
    assert rounds == [1]  # nothing changed: not even read
    add_selector(session, holder, network.gb, case, "ip", "203.0.113.6")
    session.commit()
    assert publish_module.publish_due(session_factory, holder) == 1
    assert rounds == [1, 1]
    seen, _ = publish_module._LAST_RUN[session_factory]
    monkeypatch.setitem(publish_module._LAST_RUN, session_factory, (seen, -(10.0**9)))  # long ago
    assert publish_module.publish_due(session_factory, holder) == 0
    assert rounds == [1, 1, 0]
