"""The PDQ selector index: which held PDQ selectors are within the hit threshold of a new one
(a `core.pdq_index.SyncedIndex` over `selector_pdq`), and the lock PDQ additions take turns by."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from taskforce.cases.models import PdqBits
from taskforce.core.db import is_postgres
from taskforce.core.pdq_index import SyncedIndex
from taskforce.core.pdq_index import index_for as _index_for

_LOCK_KEY = 0x7A5C_0BD9  # the whole PDQ space: shared by single additions, exclusive by imports
_STRIPE_CLASS = 0x7A5C_0BDA  # two-key advisory locks: (class, stripe)
# Stripes one transaction may lock; more take the whole space instead. PostgreSQL keeps every
# lock in one shared table of max_locks_per_transaction (64) x max_connections (100) slots by
# default: 65 locks for each of the hub's ~50 pooled connections stays well inside it.
MAX_STRIPES = 64


def stripes(bits: bytes, threshold: int) -> list[int]:
    """The lock stripes of a PDQ hash: its 256 bits cut into threshold + 1 pieces, each piece
    (its place and its bits) one stripe. Two hashes at most `threshold` bits apart differ in
    fewer pieces than there are, so they share a piece exactly (the pigeonhole principle) and
    wait for each other on its stripe; hashes far apart rarely share one and go in parallel."""
    value = int.from_bytes(bits, "big")
    pieces = min(256, threshold + 1)
    out = []
    for i in range(pieces):
        start, end = 256 * i // pieces, 256 * (i + 1) // pieces
        piece = (value >> (256 - end)) & ((1 << (end - start)) - 1)
        out.append(zlib.crc32(f"{i}:{piece}".encode()) & 0x7FFF_FFFF)
    return out


def lock(session: Session, hashes: Sequence[bytes], threshold: int) -> None:
    """PDQ near matches are found by distance, not through a shared value row, so additions of
    near PDQ hashes take turns (PostgreSQL; SQLite serialises writers): two near-identical
    images added at once still meet. A few hashes lock their stripes (above), many lock the
    whole space; either way in one order — the space, then stripes ascending — and before any
    value row (docs/architecture.md, "One lock order"). Taking a lock again is free."""
    if not is_postgres(session) or not hashes:
        return
    keys = sorted({k for bits in hashes for k in stripes(bits, threshold)})
    if len(keys) > MAX_STRIPES:
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        return
    session.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": _LOCK_KEY})
    session.execute(
        text("SELECT pg_advisory_xact_lock(:c, k) FROM unnest(CAST(:keys AS integer[])) AS k"),
        {"c": _STRIPE_CLASS, "keys": keys},
    )


def _fetch(session: Session, after: int) -> Sequence[tuple[int, bytes]]:
    rows = session.execute(
        select(PdqBits.seq, PdqBits.bits).where(PdqBits.seq > after).order_by(PdqBits.seq)
    ).all()
    return [(seq, bytes(bits)) for seq, bits in rows]


def index_for(session: Session) -> SyncedIndex:
    return _index_for(session, "selector_pdq", _fetch)
