"""The GREEN wallet watch list across nodes: this node's entries go to each peer whose profile
lets GREEN wallets cross as plaintext, and leave it when taken off the list or no longer
allowed; a peer's entries (the peer played by the test, its feed signed with its key) are
merged into this node's list, shown as listed by the peer's agency, and withdrawn with it."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import bech32
import httpx
import pytest
from builders import Network, token_for, web_login
from fastapi.testclient import TestClient
from node_builders import OtherNode, allow
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from taskforce.cases import wallets
from taskforce.commerce import watchlist
from taskforce.commerce.models import WalletWatch
from taskforce.core.caller import system_caller
from taskforce.core.errors import NotFound
from taskforce.core.settings import Settings
from taskforce.federation import feeds, identity, peering
from taskforce.federation.models import FeedEntry
from taskforce.federation.publish import publish
from taskforce.federation.sync import sync_peer

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NL_AGENCY = uuid.UUID("6f0c6d1e-0000-4000-8000-000000000002")


def btc(seed: str) -> str:
    """A generated Bitcoin (segwit v0) address whose checksum holds; nobody's wallet."""
    return bech32.encode("bc", 0, hashlib.sha256(seed.encode()).digest()[:20]) or ""


def eth(seed: str) -> str:
    return "0x" + wallets.eip55(hashlib.sha256(seed.encode()).hexdigest()[:40])


def bodies(session: Session, node: OtherNode) -> list[dict[str, Any]]:
    session.expire_all()
    return [
        json.loads(body)
        for body in session.scalars(
            select(FeedEntry.body).where(FeedEntry.peer_id == node.id).order_by(FeedEntry.seq)
        )
    ]


def test_this_nodes_watch_list_goes_where_green_wallets_may_cross(
    session: Session,
    session_factory: sessionmaker[Session],
    node_settings: Settings,
    peer: OtherNode,
    network: Network,
) -> None:
    tokens_only = OtherNode(name="Node C", url="http://node-c.example.org")
    peering.add_peer(session, system_caller(), identity.read_document(tokens_only.document()))
    allow(session, peer)
    allow(session, tokens_only, green_plaintext=False)
    listed = watchlist.add(
        session, network.gb.caller, address=btc("one"), reason="pays for access", now=NOW
    )
    # an entry a peer published here is never passed on
    session.add(
        WalletWatch(
            owner_agency_id=None,
            origin_node=str(uuid.uuid4()),
            remote_ref="elsewhere",
            listed_by_label="XX-POL (Node X)",
            chain="eth",
            address=eth("two").lower(),
            reason="theirs",
            listed_at=NOW,
        )
    )
    session.commit()

    report = publish(session_factory, node_settings, nudge=False)
    assert {p.peer: p.upserts for p in report.peers} == {"Node B": 1, "Node C": 0}
    (sent,) = bodies(session, peer)
    assert sent == {
        "op": "watch",
        "ref": sent["ref"],
        "chain": "btc",
        "address": btc("one"),
        "reason": "pays for access",
        "agency_id": str(listed.owner_agency_id),
        "agency": "GB-NCA",
    }
    assert sent["ref"] != str(listed.id)
    assert bodies(session, tokens_only) == []
    assert publish(session_factory, node_settings, nudge=False).appended == 0

    # taken off the list: withdrawn under the same ref
    watchlist.remove(session, network.gb.caller, listed.id, reason="account closed", now=NOW)
    again = watchlist.add(session, network.gb.caller, address=eth("three"), reason="r", now=NOW)
    session.commit()
    publish(session_factory, node_settings, nudge=False)
    added, withdrawn = bodies(session, peer)[1:]  # upserts first, then withdrawals
    assert withdrawn == {"op": "withdraw", "ref": sent["ref"]}
    assert (added["op"], added["address"]) == ("watch", again.address)

    # the profile no longer lets wallets cross: the rest is withdrawn too
    allow(session, peer, kinds=["email"])
    session.commit()
    publish(session_factory, node_settings, nudge=False)
    assert bodies(session, peer)[-1] == {"op": "withdraw", "ref": added["ref"]}
    assert bodies(session, tokens_only) == []


class Origin:
    """The peer's feed to this node, as the peer serves it."""

    def __init__(self, node: OtherNode, here: uuid.UUID) -> None:
        self.node, self.here = node, here
        self.entries: list[tuple[int, str, str, str]] = []

    def add(self, *items: dict[str, Any]) -> None:
        for body in items:
            prev = self.entries[-1][3] if self.entries else feeds.genesis(self.node.id, self.here)
            text = feeds.canonical(body)
            self.entries.append((len(self.entries) + 1, text, prev, feeds.entry_hash(prev, text)))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/federation/v1/directory":
            return httpx.Response(200, json={"node_id": str(self.node.id), "agencies": []})
        after, head = int(request.url.params["after_seq"]), len(self.entries)
        chosen = self.entries[after:]
        last_seq = chosen[-1][0] if chosen else after
        last_hash = chosen[-1][3] if chosen else feeds.genesis(self.node.id, self.here)
        statement = feeds.page_statement(self.node.id, self.here, after, last_seq, last_hash, head)
        page = feeds.Page(
            origin=self.node.id,
            recipient=self.here,
            after_seq=after,
            entries=chosen,
            head=head,
            next=None,
            signature=feeds.sign_page(statement, self.node.key),
        )
        return httpx.Response(200, json=page.as_json())


def watch(
    ref: str, address: str, chain: str = "btc", reason: str = "pays for access"
) -> dict[str, Any]:
    return {
        "op": "watch",
        "ref": ref,
        "chain": chain,
        "address": address,
        "reason": reason,
        "agency_id": str(NL_AGENCY),
        "agency": "NL-NP",
    }


def remote(session: Session, node: OtherNode) -> dict[str, WalletWatch]:
    session.expire_all()
    rows = session.scalars(select(WalletWatch).where(WalletWatch.origin_node == str(node.id)))
    return {row.remote_ref or "": row for row in rows}


def test_a_peers_watch_list_joins_this_nodes_shown_as_listed_by_its_agency(
    session: Session,
    session_factory: sessionmaker[Session],
    node_settings: Settings,
    here: uuid.UUID,
    peer: OtherNode,
    network: Network,
) -> None:
    origin = Origin(peer, here)
    origin.add(watch("w1", btc("four")), watch("w2", eth("five"), "eth"))
    selector = {"op": "upsert", "ref": "s1", "kind": "email", "form": "token", "epoch": 1}
    origin.add({**selector, "value": "dG9rZW4=", "level": "red", "agency_id": str(NL_AGENCY)})
    session.commit()
    pull = httpx.MockTransport(origin)
    report = sync_peer(session_factory, node_settings, peer.id, transport=pull, now=NOW)
    assert report.error is None
    assert (report.merged, report.withdrawn) == (3, 0)  # two wallets and a selector
    rows = remote(session, peer)
    assert set(rows) == {"w1", "w2"}
    assert rows["w2"].address == eth("five").lower()  # as this node normalises it
    assert (rows["w1"].owner_agency_id, rows["w1"].listed_at) == (None, NOW)
    assert rows["w1"].listed_by_label == "NL-NP (Node B)"

    # every member of this node receives it, listed by the peer's agency
    shown = watchlist.current(session, network.us.caller)
    assert {w.address for w in shown} == {btc("four"), eth("five").lower()}
    assert f"{btc('four')},NL-NP (Node B)," in watchlist.to_csv(session, network.us.caller)
    with pytest.raises(NotFound):  # not this node's to take off the list
        watchlist.remove(session, network.gb.caller, rows["w1"].id, reason="x", now=NOW)

    # the peer withdraws one and changes the other's reason
    later = NOW + timedelta(hours=1)
    origin.add({"op": "withdraw", "ref": "w1"}, watch("w2", eth("five"), "eth", "now frozen"))
    report = sync_peer(session_factory, node_settings, peer.id, transport=pull, now=later)
    assert (report.merged, report.withdrawn) == (1, 1)
    rows = remote(session, peer)
    assert (rows["w1"].removed_at, rows["w1"].removed_reason) == (
        later,
        "no longer published by Node B",
    )
    assert (rows["w2"].reason, rows["w2"].removed_at) == ("now frozen", None)
    changes = watchlist.changes_since(session, network.us.caller, NOW)
    assert [(c.change, c.agency) for c in changes] == [("removed", "NL-NP (Node B)")]


def test_a_watch_entry_whose_checksum_fails_refuses_the_page(
    session: Session,
    session_factory: sessionmaker[Session],
    node_settings: Settings,
    here: uuid.UUID,
    peer: OtherNode,
) -> None:
    origin = Origin(peer, here)
    broken = btc("six")[:-1] + ("q" if btc("six")[-1] != "q" else "p")
    origin.add(watch("w1", btc("seven")), watch("w2", broken))
    session.commit()
    report = sync_peer(
        session_factory, node_settings, peer.id, transport=httpx.MockTransport(origin), now=NOW
    )
    assert report.error is not None
    assert "entry 2 is not a valid feed entry" in report.error
    assert remote(session, peer) == {}


def test_the_watch_list_page_and_api_name_the_peers_agency(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    session.add(
        WalletWatch(
            owner_agency_id=None,
            origin_node=str(uuid.uuid4()),
            remote_ref="w9",
            listed_by_label="NL-NP (Node B)",
            chain="btc",
            address=btc("eight"),
            reason="pays for access",
            listed_at=NOW,
        )
    )
    session.flush()
    shown = client.get(
        "/api/v1/commerce/watchlist", headers=token_for(session, settings, network.us)
    )
    assert [(w["address"], w["agency"]) for w in shown.json()] == [(btc("eight"), "NL-NP (Node B)")]
    web_login(client, session, network.us)
    page = client.get("/ui/commerce/watchlist")
    assert "NL-NP (Node B)" in page.text
    assert "Remove…" not in page.text  # not this node's to take off
