"""The GREEN wallet watch list: listed from an indicator or typed (validated as a wallet
selector), the same wallet twice is the one entry, removal keeps the row, every member with
READ receives the list with the listing agency's code, CSV export, and changes since a time."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import base58
import pytest
from acting_builders import NOW, make_site, seen, wallet
from builders import Network, make_case
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.commerce import watchlist
from taskforce.commerce.models import WalletWatch
from taskforce.core.audit.models import AuditEntry
from taskforce.core.errors import Conflict, Forbidden, Invalid, NotFound
from taskforce.core.settings import Settings

ETH = "0x" + "5a" * 20


def test_a_wallet_listed_by_one_agency_reaches_every_member(
    session: Session, settings: Settings, network: Network
) -> None:
    site = make_site(session, settings, network.gb, make_case(session, network.gb))
    found = seen(session, site, "wallet", wallet(1), "btc")

    entry = watchlist.add(
        session, network.gb.caller, indicator_id=found.id, reason="pays for a shop", now=NOW
    )
    typed = watchlist.add(
        session, network.us.caller, address=f"  {ETH.upper().replace('0X', '0x')} ", reason="x"
    )

    assert (entry.chain, entry.address, entry.indicator_id) == ("btc", wallet(1), found.id)
    assert (typed.chain, typed.address) == ("eth", ETH)
    for person in (network.nl, network.gb_reader, network.us):
        shown = watchlist.current(session, person.caller)
        assert {w.address for w in shown} == {wallet(1), ETH}
    codes = watchlist.agency_codes(session, [entry, typed])
    assert watchlist.listed_by(entry, codes) == "GB-NCA"
    listed = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "commerce.watchlist.add")
    ).all()
    assert len(listed) == 2


def test_every_chain_the_hub_checks_is_listed_with_its_chain(
    session: Session, network: Network
) -> None:
    litecoin = base58.b58encode_check(b"\x30" + bytes(range(20))).decode()
    dogecoin = base58.b58encode_check(b"\x1e" + bytes(range(1, 21))).decode()
    for address, chain in ((litecoin, "ltc"), (dogecoin, "doge"), (wallet(9), "btc")):
        entry = watchlist.add(session, network.gb.caller, address=address, reason="r")
        assert (entry.chain, entry.address) == (chain, address)
    with pytest.raises(Invalid) as refused:  # mixed case that is not its EIP-55 checksum
        watchlist.add(session, network.gb.caller, address="0x" + "5a5A" * 10, reason="r")
    assert refused.value.field == "address"


def test_the_same_wallet_twice_is_the_existing_entry(session: Session, network: Network) -> None:
    first = watchlist.add(session, network.gb.caller, address=wallet(3), reason="first", now=NOW)
    again = watchlist.add(session, network.gb.caller, address=wallet(3), reason="again")
    other = watchlist.add(session, network.nl.caller, address=wallet(3), reason="ours too")

    assert again.id == first.id
    assert again.reason == "first"
    assert other.id != first.id  # another agency lists it in its own name


def test_removal_keeps_the_row_and_changes_since_tell_both(
    session: Session, network: Network
) -> None:
    entry = watchlist.add(session, network.gb.caller, address=wallet(4), reason="a shop", now=NOW)
    later = NOW + timedelta(days=2)
    removed = watchlist.remove(
        session, network.gb.caller, entry.id, reason="exchange froze it", now=later
    )

    assert removed.removed_at == later
    assert session.get(WalletWatch, entry.id) is not None
    assert watchlist.current(session, network.nl.caller) == []
    changes = watchlist.changes_since(session, network.us.caller, NOW - timedelta(hours=1))
    assert [(c.change, c.address, c.agency, c.reason) for c in changes] == [
        ("listed", wallet(4), "GB-NCA", "a shop"),
        ("removed", wallet(4), "GB-NCA", "exchange froze it"),
    ]
    assert [c.change for c in watchlist.changes_since(session, network.us.caller, NOW)] == [
        "removed"
    ]
    with pytest.raises(Conflict):
        watchlist.remove(session, network.gb.caller, entry.id, reason="twice", now=later)
    relisted = watchlist.add(session, network.gb.caller, address=wallet(4), reason="back")
    assert relisted.id != entry.id


def test_only_the_listing_agency_removes_and_bad_input_names_the_field(
    session: Session, settings: Settings, network: Network
) -> None:
    entry = watchlist.add(session, network.gb.caller, address=wallet(5), reason="a shop", now=NOW)
    with pytest.raises(NotFound):
        watchlist.remove(session, network.nl.caller, entry.id, reason="not ours")
    with pytest.raises(Forbidden):
        watchlist.add(session, network.gb_reader.caller, address=wallet(6), reason="r")
    bad = wallet(6)[:-1] + ("2" if wallet(6)[-1] != "2" else "3")
    cases: list[tuple[dict[str, object], str]] = [
        ({"address": bad, "reason": "r"}, "address"),
        ({"address": wallet(6), "reason": "  "}, "reason"),
        ({"address": wallet(6), "reason": "x" * 501}, "reason"),
        ({"reason": "r"}, "address"),
    ]
    for kwargs, field in cases:
        with pytest.raises(Invalid) as refused:
            watchlist.add(session, network.gb.caller, **kwargs)  # type: ignore[arg-type]
        assert refused.value.field == field
    site = make_site(session, settings, network.gb, make_case(session, network.gb))
    analytics = seen(session, site, "analytics", "UA-1-1", "ga")
    with pytest.raises(Invalid, match="only a wallet"):
        watchlist.add(session, network.gb.caller, indicator_id=analytics.id, reason="r")
    theirs = seen(session, site, "wallet", wallet(7), "btc")
    with pytest.raises(NotFound):
        watchlist.add(session, network.nl.caller, indicator_id=theirs.id, reason="r")


def test_the_csv_export_names_the_listing_agency_and_defuses_formulas(
    session: Session, network: Network
) -> None:
    watchlist.add(session, network.nl.caller, address=wallet(8), reason="=HYPERLINK(1)", now=NOW)
    rows = list(csv.reader(io.StringIO(watchlist.to_csv(session, network.us.caller))))
    assert rows[0] == list(watchlist.CSV_COLUMNS)
    assert rows[1] == ["btc", wallet(8), "NL-NP", NOW.isoformat(), "'=HYPERLINK(1)"]
