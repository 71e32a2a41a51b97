"""The GREEN wallet watch list across nodes: this node's own entries go to every active peer
whose profile lets GREEN crypto wallets cross as plaintext (`profiles.crossing`, the one rule:
a peer without a profile, a profile without wallets or GREEN, one that keeps GREEN to tokens,
and the key holder receive none); a peer's entries are merged into this node's list, shown as
listed by the peer's agency.

Only entries listed here cross (`origin_node == "local"`): a peer's entry is never passed on,
so nothing echoes between nodes. An entry travels as a `watch` feed entry under a random ref
(the publisher's `Publication` row, keyed by the entry's id) and leaves as a `withdraw` of
the same ref when it is taken off the list or may no longer cross.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases import wallets
from taskforce.cases.selectors import SelectorKind
from taskforce.commerce import watchlist
from taskforce.commerce.models import WalletWatch
from taskforce.core.sharing import SharingLevel
from taskforce.federation import profiles
from taskforce.federation.models import Peer, Profile
from taskforce.federation.schemas import FeedWatch, FeedWithdraw

LOCAL = "local"


def crosses(peer: Peer, profile: Profile | None) -> bool:
    """Whether the watch list goes to `peer`: GREEN wallets cross to it as plaintext."""
    form = profiles.crossing(peer, profile, SelectorKind.CRYPTO_WALLET, SharingLevel.GREEN)
    return form == profiles.Form.PLAINTEXT


def desired(
    session: Session, peer: Peer, profile: Profile | None
) -> dict[uuid.UUID, dict[str, Any]]:
    """This node's wallets on the list now, as `watch` bodies without their ref, by entry id;
    none when the list may not cross to `peer`."""
    if not crosses(peer, profile):
        return {}
    rows = list(
        session.scalars(
            select(WalletWatch).where(
                WalletWatch.removed_at.is_(None), WalletWatch.origin_node == LOCAL
            )
        )
    )
    codes = watchlist.agency_codes(session, rows)
    return {
        watch.id: {
            "op": "watch",
            "chain": watch.chain,
            "address": watch.address,
            "reason": watch.reason,
            "agency_id": str(watch.owner_agency_id),
            "agency": watchlist.listed_by(watch, codes),
        }
        for watch in rows
        if watchlist.listed_by(watch, codes)  # an agency no longer here: its entry stays home
    }


def merge(
    session: Session,
    peer: Peer,
    bodies: Sequence[FeedWatch | FeedWithdraw],
    at: datetime,
) -> tuple[int, int]:
    """A page's watch entries and withdrawals, in feed order, into this node's list: (entries
    listed or changed, entries taken off). A withdrawal of a ref that is not a watch entry of
    this peer (a selector's) is not this function's."""
    origin = str(peer.id)
    refs = sorted({body.ref for body in bodies})
    held: dict[str, WalletWatch] = {}
    for start in range(0, len(refs), 5_000):
        held.update(
            (w.remote_ref or "", w)
            for w in session.scalars(
                select(WalletWatch).where(
                    WalletWatch.origin_node == origin,
                    WalletWatch.remote_ref.in_(refs[start : start + 5_000]),
                )
            )
        )
    listed: set[str] = set()
    removed: set[str] = set()
    for body in bodies:
        watch = held.get(body.ref)
        if isinstance(body, FeedWithdraw):
            if watch is not None and watch.removed_at is None:
                watch.removed_at = at
                watch.removed_reason = f"no longer published by {peer.name}"
                listed.discard(body.ref)
                removed.add(body.ref)
            continue
        if watch is None:
            watch = WalletWatch(
                id=uuid.uuid4(),
                owner_agency_id=None,
                origin_node=origin,
                remote_ref=body.ref,
                listed_at=at,  # when it reached this node's list: what a polling tool reads
            )
            session.add(watch)
            held[body.ref] = watch
        elif watch.removed_at is not None:  # back on the peer's list
            watch.listed_at, watch.removed_at, watch.removed_reason = at, None, ""
        wallet = wallets.check(body.address)
        assert wallet is not None  # the entry was checked whole before the page was merged
        watch.chain, watch.address = wallet.chain.value, wallet.address
        watch.reason = body.reason
        watch.listed_by_label = f"{body.agency} ({peer.name})"[:200]
        listed.add(body.ref)
        removed.discard(body.ref)
    session.flush()
    return len(listed), len(removed)
