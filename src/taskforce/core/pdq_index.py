"""In-process PDQ indexes kept in step with a table: the database stays the truth.

Each process keeps, per engine and per table, a faiss `HammingIndex` of (row number, 256 bits),
brought up to date (rows with a larger number) before every query, and rebuilt after any
rollback on the engine, since a rolled-back row may have been loaded. Callers re-read the
candidates from the database, so a row the querying transaction cannot see is never reported.
Rows are only ever added (numbers are autoincrement keys), which is what makes the
incremental sync exact.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from taskforce.core.hamming import HammingIndex

Fetch = Callable[[Session, int], Sequence[tuple[int, bytes]]]  # rows after a number, in order


class SyncedIndex:
    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
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
            rows = self._fetch(session, self.last_seq)
            if rows:
                self.index.add([r[0] for r in rows], [bytes(r[1]) for r in rows])
                self.last_seq = rows[-1][0]

    def candidates(self, session: Session, bits: bytes, max_distance: int) -> list[int]:
        """Row numbers within `max_distance` of `bits`."""
        return self.candidates_many(session, [bits], max_distance)[0]

    def candidates_many(
        self, session: Session, queries: Sequence[bytes], max_distance: int
    ) -> list[list[int]]:
        """`candidates` for many queries: one sync and one index search."""
        self.sync(session)
        found = self.index.query_many(queries, max_distance)
        return [[seq for seq, _distance in matches] for matches in found]


_indexes: weakref.WeakKeyDictionary[Engine, dict[str, SyncedIndex]] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def index_for(session: Session, name: str, fetch: Fetch) -> SyncedIndex:
    """The process's index `name` for the session's engine, created on first use."""
    bind: Any = session.get_bind()
    engine: Engine = bind.engine if hasattr(bind, "engine") else bind
    with _registry_lock:
        per_engine = _indexes.get(engine)
        if per_engine is None:
            per_engine = _indexes[engine] = {}

            def _on_rollback(*_args: Any) -> None:
                for index in per_engine.values():
                    index.invalidate()

            event.listen(engine, "rollback", _on_rollback)
            event.listen(engine, "rollback_savepoint", _on_rollback)
        found = per_engine.get(name)
        if found is None:
            found = per_engine[name] = SyncedIndex(fetch)
        return found
