"""Cross-node hits: this node's selectors against what its peers published to it.

Matching happens at the receiving node, as FIU.net's Ma³tch does: a peer's token (or GREEN
plaintext key) meets this node's own token of a selector value of the same type and epoch.
The two entry points are called inside the transaction that changed one side, so a hit is
never made twice and never lost:

- `for_entries` by the sync after merging a page of a peer's feed (added and withdrawn refs);
- `for_values` by the publisher after it made tokens for this node's selector values.

INTERFACE ONLY for now (issue 14 point 5 is being built): both return 0.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session


def for_entries(
    session: Session, peer_id: uuid.UUID, added: Sequence[str], withdrawn: Sequence[str]
) -> int:
    """Hits of the peer's newly merged entries (`added` refs) with this node's values; the
    hits of `withdrawn` refs are marked withdrawn. Returns the number of new hits."""
    del session, peer_id, added, withdrawn
    return 0


def for_values(session: Session, value_ids: Sequence[uuid.UUID]) -> int:
    """Hits of these own selector values (newly tokenised, or new) with every live entry of
    every active peer. Returns the number of new hits."""
    del session, value_ids
    return 0
