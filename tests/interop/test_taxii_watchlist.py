"""The wallet watch list as a TAXII 2.1 collection of its own: present while a wallet is on it,
each address once (at its first listing) with the listing agency's identity at its first
wallet, removed wallets and a peer node's gone, paged exactly with `next`, objects by id."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from acting_builders import NOW, wallet
from builders import Network, token_for
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from taxii_builders import ROOT, TAXII

from taskforce.commerce import watchlist
from taskforce.core.settings import Settings
from taskforce.interop import collections, stix

WATCH = collections.watchlist_collection_id()


def _reader(session: Session, settings: Settings, network: Network) -> dict[str, str]:
    return {**token_for(session, settings, network.gb_reader), "Accept": TAXII}


def _all(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        query = {**params, **({"next": token} if token else {})}
        r = client.get(f"{ROOT}collections/{WATCH}/objects/", headers=headers, params=query)
        assert r.status_code == 200, r.text
        found.extend(r.json().get("objects", []))
        if not r.json()["more"]:
            return found
        token = r.json()["next"]


def test_the_watch_list_collection_serves_each_wallet_once(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    headers = _reader(session, settings, network)
    listed = client.get(f"{ROOT}collections/", headers=headers).json()
    assert WATCH not in [c["id"] for c in listed.get("collections", [])]  # nothing listed yet

    watchlist.add(session, network.gb.caller, address=wallet(1), reason="shop a", now=NOW)
    later = NOW + timedelta(hours=1)
    watchlist.add(session, network.nl.caller, address=wallet(1), reason="ours too", now=later)
    watchlist.add(session, network.nl.caller, address=wallet(2), reason="shop b", now=later)
    gone = watchlist.add(session, network.us.caller, address=wallet(3), reason="old", now=NOW)
    watchlist.remove(session, network.us.caller, gone.id, reason="frozen", now=later)
    peer = watchlist.add(session, network.us.caller, address=wallet(4), reason="r", now=NOW)
    peer.origin_node = "node-b"
    session.flush()

    listed = client.get(f"{ROOT}collections/", headers=headers).json()
    assert [c["id"] for c in listed["collections"]][-1] == WATCH
    whole = _all(client, headers)
    paged = _all(client, headers, limit=1)
    assert [o["id"] for o in paged] == [o["id"] for o in whole]
    indicators = [o for o in whole if o["type"] == "indicator"]
    assert [o["pattern"] for o in indicators] == [
        f"[cryptocurrency-wallet:address = {stix.quote(wallet(1))}]",
        f"[cryptocurrency-wallet:address = {stix.quote(wallet(2))}]",
    ]
    assert indicators[0]["created_by_ref"] == stix.agency_identity_id("GB-NCA")
    identities = [o["name"] for o in whole if o["type"] == "identity"]
    assert identities == ["taskforce hub", "GB-NCA (fictional)", "NL-NP (fictional)"]
    assert "shop a" not in str(whole)

    one = client.get(f"{ROOT}collections/{WATCH}/objects/{indicators[1]['id']}/", headers=headers)
    assert one.status_code == 200
    assert one.json()["objects"][0]["id"] == indicators[1]["id"]
    nl = stix.agency_identity_id("NL-NP")
    found = client.get(f"{ROOT}collections/{WATCH}/objects/{nl}/", headers=headers)
    assert found.json()["objects"][0]["id"] == nl
    us = stix.agency_identity_id("US-HSI")
    assert (
        client.get(f"{ROOT}collections/{WATCH}/objects/{us}/", headers=headers).status_code == 404
    )
