"""The GREEN wallet watch list leaves the hub in the STIX export through interop's one
releasability rule: each wallet on the list now is an indicator (valid STIX, TLP:GREEN, by the
listing agency), a removed one or a peer node's is not, the reason never travels, and a wallet
also held as a GREEN case's selector is one indicator."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

from acting_builders import NOW, wallet
from builders import Network, add_selector, make_case
from sqlalchemy.orm import Session
from stix2validator import ValidationOptions, validate_string

from taskforce.commerce import watchlist
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.interop import markings, releasable, service, stix

EXPORTED_AT = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)


def _export(
    session: Session, settings: Settings, network: Network, **kw: Any
) -> tuple[list[dict[str, Any]], Any]:
    out = io.BytesIO()
    result = service.export_stix(session, network.us.caller, settings, out, now=EXPORTED_AT, **kw)
    data = out.getvalue().decode()
    report = validate_string(data, ValidationOptions(version="2.1"))
    assert report.is_valid, [str(e) for r in report.object_results for e in r.errors]
    return json.loads(data)["objects"], result


def test_wallets_on_the_watch_list_go_out_as_green_indicators(
    session: Session, settings: Settings, network: Network
) -> None:
    watchlist.add(session, network.gb.caller, address=wallet(1), reason="secret shop", now=NOW)
    gone = watchlist.add(session, network.nl.caller, address=wallet(2), reason="old", now=NOW)
    watchlist.remove(session, network.nl.caller, gone.id, reason="frozen", now=NOW)
    peer = watchlist.add(session, network.nl.caller, address=wallet(3), reason="r", now=NOW)
    peer.origin_node = "node-b"  # a peer node's entry is not ours to pass on
    session.flush()

    objects, result = _export(session, settings, network)

    wallets = {o["pattern"]: o for o in objects if "cryptocurrency-wallet" in o.get("pattern", "")}
    assert set(wallets) == {f"[cryptocurrency-wallet:address = {stix.quote(wallet(1))}]"}
    [listed] = wallets.values()
    assert listed["created_by_ref"] == stix.agency_identity_id("GB-NCA")
    assert "watch list" in listed["description"]
    assert listed["object_marking_refs"] == [markings.TLP_GREEN]
    assert "secret shop" not in json.dumps(objects)
    assert "GB-NCA (fictional)" in {o.get("name") for o in objects if o["type"] == "identity"}
    assert result.counts["wallets"] == 1

    only_nl, _ = _export(session, settings, network, agency_code="NL-NP")
    assert not [o for o in only_nl if "cryptocurrency-wallet" in o.get("pattern", "")]


def test_a_wallet_in_a_green_case_and_on_the_list_is_one_indicator(
    session: Session, settings: Settings, network: Network
) -> None:
    case = make_case(session, network.nl, sharing=SharingLevel.GREEN)
    add_selector(session, settings, network.nl, case, "crypto_wallet", wallet(4))
    watchlist.add(session, network.gb.caller, address=wallet(4), reason="r", now=NOW)

    objects, result = _export(session, settings, network)

    ids = [o["id"] for o in objects]
    assert ids.count(stix.indicator_id("crypto_wallet", wallet(4))) == 1
    assert result.counts["wallets"] == 1
    rows = releasable.watched_wallets(session, network.us.caller, limit=10)
    assert [(r.address, r.agency_code, r.chain) for r in rows] == [(wallet(4), "GB-NCA", "btc")]
    # the TAXII collections (one per agency with releasable cases or hash sets) do not serve
    # the watch list: GB-NCA, with wallets only, has no collection of its own
    codes = {a.code for a in releasable.agencies(session, network.us.caller)}
    assert codes == {"NL-NP"}
    with_wallets = releasable.agencies(session, network.us.caller, wallets=True)
    assert {a.code for a in with_wallets} == {"NL-NP", "GB-NCA"}
