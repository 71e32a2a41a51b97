"""The PDQ selector index: which held PDQ selectors are within the hit threshold of a new one
(a `core.pdq_index.SyncedIndex` over `selector_pdq`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases.models import PdqBits
from taskforce.core.pdq_index import SyncedIndex
from taskforce.core.pdq_index import index_for as _index_for


def _fetch(session: Session, after: int) -> Sequence[tuple[int, bytes]]:
    rows = session.execute(
        select(PdqBits.seq, PdqBits.bits).where(PdqBits.seq > after).order_by(PdqBits.seq)
    ).all()
    return [(seq, bytes(bits)) for seq, bits in rows]


def index_for(session: Session) -> SyncedIndex:
    return _index_for(session, "selector_pdq", _fetch)
