"""In-process PDQ indexes kept in step with a table: the database stays the truth.

Each process keeps, per engine and per table, a `HammingIndex` of (row number, 256 bits),
brought up to date (rows with a larger number) before every query. Rows are added (numbers
are autoincrement keys), which is what makes the incremental sync exact; a deletion (a hash
set's entries) makes the deleting process drop the deleted numbers and above on commit
(`forget_deleted`), since SQLite may number new rows with them. Callers
re-read the candidates from the database, so a row the querying transaction cannot see is
never reported.

A sync inside a transaction also loads that transaction's own uncommitted rows. If it rolls
back they must leave the index, because SQLite may give their numbers to new rows. Each
connection remembers how far every index had been synced before its transaction first used
it; on rollback the index drops what came after (usually a few codes in the small tail), and
the next sync reloads what others committed meanwhile. A transaction that never queried an
index — a rejected request, say — leaves it alone, so the 10M-code index is not rebuilt
because a client made a mistake.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session

from taskforce.core.hamming import HammingIndex

Fetch = Callable[[Session, int], Sequence[tuple[int, bytes]]]  # rows after a number, in order

_FLOORS = "taskforce_pdq_index_floors"  # Connection.info key: {index: last number before}
_DELETED = "taskforce_pdq_index_deleted"  # Connection.info key: {index name: deleted above}


class SyncedIndex:
    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self.index = HammingIndex()
        self.last_seq = 0

    def sync(self, session: Session) -> None:
        with self._lock:
            floors = session.connection().info.setdefault(_FLOORS, {})
            floors.setdefault(self, self.last_seq)
            rows = self._fetch(session, self.last_seq)
            if rows:
                self.index.add([r[0] for r in rows], [bytes(r[1]) for r in rows])
                self.last_seq = rows[-1][0]

    def forget_after(self, seq: int) -> None:
        """Drop rows numbered above `seq`; the next sync loads again what is still there."""
        with self._lock:
            if seq < self.last_seq:
                self.index.truncate(seq)
                self.last_seq = seq

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


def _on_commit(conn: Connection) -> None:
    conn.info.pop(_FLOORS, None)
    deleted: dict[str, int] = conn.info.pop(_DELETED, {})
    per_engine = _indexes.get(conn.engine, {})
    for name, seq in deleted.items():
        if (index := per_engine.get(name)) is not None:
            index.forget_after(seq)


def forget_deleted(session: Session, name: str, seq: int) -> None:
    """Rows of index `name` numbered above `seq` are being deleted (a hash set's entries):
    this process's index drops every row above `seq` now and again when the transaction
    commits (another thread may have synced them meanwhile), and the next sync reloads what
    is still there. SQLite may give a deleted row's number to a new row, which an index
    synced past that number would otherwise never load."""
    connection = session.connection()
    pending = connection.info.setdefault(_DELETED, {})
    pending[name] = min(seq, pending.get(name, seq))
    if (index := _indexes.get(connection.engine, {}).get(name)) is not None:
        index.forget_after(seq)


def _on_full_rollback(conn: Connection) -> None:
    conn.info.pop(_DELETED, None)  # nothing was deleted after all
    _on_rollback(conn)


def _on_rollback(conn: Connection, *_args: Any) -> None:
    # A savepoint rollback drops back to the transaction's floor: more than needed, never less.
    floors: dict[SyncedIndex, int] = conn.info.pop(_FLOORS, {})
    for index, seq in floors.items():
        index.forget_after(seq)


def index_for(session: Session, name: str, fetch: Fetch) -> SyncedIndex:
    """The process's index `name` for the session's engine, created on first use."""
    bind: Any = session.get_bind()
    engine: Engine = bind.engine if hasattr(bind, "engine") else bind
    with _registry_lock:
        per_engine = _indexes.get(engine)
        if per_engine is None:
            per_engine = _indexes[engine] = {}
            event.listen(engine, "commit", _on_commit)
            event.listen(engine, "rollback", _on_full_rollback)
            event.listen(engine, "rollback_savepoint", _on_rollback)
        found = per_engine.get(name)
        if found is None:
            found = per_engine[name] = SyncedIndex(fetch)
        return found
