"""The PDQ selector index: which held PDQ selectors are within the hit threshold of a new one.

The database is the truth; each process keeps a faiss `HammingIndex` of `selector_pdq` rows,
brought up to date (rows with a larger `seq`) before every query, and rebuilt after any
rollback on the engine, since a rolled-back row may have been loaded. Candidates are re-read
from the database, so a row the querying transaction cannot see is never reported.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from taskforce.cases.models import PdqBits
from taskforce.core.hamming import HammingIndex


class PdqSelectorIndex:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.index = HammingIndex()
        self.last_seq = 0

    def invalidate(self) -> None:
        with self._lock:
            self._reset()

    def sync(self, session: Session) -> None:
        with self._lock:
            rows = session.execute(
                select(PdqBits.seq, PdqBits.bits)
                .where(PdqBits.seq > self.last_seq)
                .order_by(PdqBits.seq)
            ).all()
            if rows:
                self.index.add([r[0] for r in rows], [bytes(r[1]) for r in rows])
                self.last_seq = rows[-1][0]

    def candidates(self, session: Session, bits: bytes, max_distance: int) -> list[int]:
        """seq numbers of stored PDQ selectors within `max_distance` of `bits`."""
        return self.candidates_many(session, [bits], max_distance)[0]

    def candidates_many(
        self, session: Session, queries: Sequence[bytes], max_distance: int
    ) -> list[list[int]]:
        """`candidates` for many queries: one sync and one index search."""
        self.sync(session)
        found = self.index.query_many(queries, max_distance)
        return [[seq for seq, _distance in matches] for matches in found]


_indexes: weakref.WeakKeyDictionary[Engine, PdqSelectorIndex] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def index_for(session: Session) -> PdqSelectorIndex:
    bind: Any = session.get_bind()
    engine: Engine = bind.engine if hasattr(bind, "engine") else bind
    with _registry_lock:
        found = _indexes.get(engine)
        if found is None:
            found = PdqSelectorIndex()
            _indexes[engine] = found

            def _on_rollback(*_args: Any) -> None:
                found.invalidate()

            event.listen(engine, "rollback", _on_rollback)
            event.listen(engine, "rollback_savepoint", _on_rollback)
        return found
