"""The PDQ selector index: which held PDQ selectors are within the hit threshold of a new one
(a `core.pdq_index.SyncedIndex` over `selector_pdq`), and the lock PDQ additions take turns by."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from taskforce.cases.models import PdqBits
from taskforce.core.db import is_postgres
from taskforce.core.pdq_index import SyncedIndex
from taskforce.core.pdq_index import index_for as _index_for

_LOCK_KEY = 0x7A5C_0BD9


def lock(session: Session) -> None:
    """PDQ near matches are found by distance, not through a shared value row, so additions of
    PDQ hashes take turns (PostgreSQL; SQLite serialises writers): two near-identical images
    added at once still meet. Taken before any value row (docs/architecture.md, "One lock
    order"); taking it again in the same transaction is free."""
    if is_postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


def _fetch(session: Session, after: int) -> Sequence[tuple[int, bytes]]:
    rows = session.execute(
        select(PdqBits.seq, PdqBits.bits).where(PdqBits.seq > after).order_by(PdqBits.seq)
    ).all()
    return [(seq, bytes(bits)) for seq, bits in rows]


def index_for(session: Session) -> SyncedIndex:
    return _index_for(session, "selector_pdq", _fetch)
