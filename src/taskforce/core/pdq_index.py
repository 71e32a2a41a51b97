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

Shared between processes (`share`, the server does it): the main part is published to and
mapped from a file (`core.pdq_shared`) once every row in it is committed — its last number is
at most every open transaction's floor — and a process takes a newer published main part in
place of its own once no open transaction's floor lies inside it (a rollback to such a floor
would have to rebuild it; a floor of 0 only empties the index). Each process keeps its own
tail of later rows, synced and rolled back as above.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session

from taskforce.core import pdq_shared
from taskforce.core.hamming import TAIL_LIMIT, HammingIndex

_log = logging.getLogger(__name__)

Fetch = Callable[[Session, int], Sequence[tuple[int, bytes]]]  # rows after a number, in order

_FLOORS = "taskforce_pdq_index_floors"  # Connection.info key: {index: last number before}
_DELETED = "taskforce_pdq_index_deleted"  # Connection.info key: {index name: deleted above}


@dataclass(frozen=True)
class Sharing:
    """Where an engine's indexes publish their main parts, and how many later rows each
    process keeps to itself before merging them in."""

    directory: Path | None = None
    tail_limit: int = TAIL_LIMIT


class SyncedIndex:
    def __init__(self, fetch: Fetch, name: str = "", sharing: Sharing | None = None) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._name = name
        self._sharing = sharing or Sharing()
        self.index = HammingIndex(self._sharing.tail_limit)
        self.last_seq = 0
        self._open: Counter[int] = Counter()  # floors of the open transactions that synced
        self._rejected: set[Path] = set()  # generations whose last code the database denied

    def sync(self, session: Session) -> None:
        with self._lock:
            floors = session.connection().info.setdefault(_FLOORS, {})
            if self not in floors:
                floors[self] = self.last_seq
                self._open[self.last_seq] += 1
            rows = self._adopt(session)
            if rows is None:
                rows = self._fetch(session, self.last_seq)
            if rows:
                self.index.add([r[0] for r in rows], [bytes(r[1]) for r in rows])
                self.last_seq = rows[-1][0]
            self._publish()

    def _adopt(self, session: Session) -> Sequence[tuple[int, bytes]] | None:
        """Map the newest published main part if it reaches beyond this process's own, once
        its last code is checked against the database (a generation left from a database
        since re-created would answer with other hashes). The rows after it where they were
        fetched for that check, else None."""
        directory = self._sharing.directory
        if directory is None:
            return None
        main, ids = self.index.main_part()
        own = int(ids[-1]) if len(ids) else 0
        if main is not None and not isinstance(main.codes, np.memmap):
            own -= 1  # the same rows, mapped, are worth taking in place of a private copy
        found = pdq_shared.newest(directory, self._name, own)
        if found is None or any(0 < floor < found[0] for floor in self._open):
            return None
        last, folder = found
        loaded = None if folder in self._rejected else pdq_shared.load(folder)
        if loaded is None:
            return None
        rows = None
        if last > self.last_seq:
            rows = self._fetch(session, last - 1)
            expected = bytes(rows[0][1]) if rows and rows[0][0] == last else None
        else:
            expected = self.index.code_of(last)
        if expected is not None and expected != pdq_shared.last_code(loaded[0]):
            _log.warning("not mapping %s: its last code is not the database's", folder)
            self._rejected.add(folder)
            return None
        if expected is None or not self.index.adopt(*loaded):
            return None
        self.last_seq = max(self.last_seq, last)
        return None if rows is None else rows[1:]

    def _publish(self) -> None:
        """Write this process's main part for the others once all of it is committed."""
        directory = self._sharing.directory
        if directory is None:
            return
        main, ids = self.index.main_part()
        if main is None or isinstance(main.codes, np.memmap):
            return
        if self._open and int(ids[-1]) > min(self._open):
            return  # rows an open transaction loaded may yet roll back
        try:
            folder = pdq_shared.publish(directory, self._name, main, ids)
        except OSError as exc:  # a full or read-only disk: this process keeps its own copy
            _log.warning("could not share the %s index under %s: %s", self._name, directory, exc)
            return
        loaded = pdq_shared.load(folder)
        if loaded is not None:
            self.index.adopt(*loaded)  # drop the private copy for the mapped one

    def closed(self, floor: int, rolled_back: bool) -> None:
        """A transaction that synced from `floor` ended; a rollback drops what came after."""
        with self._lock:
            if rolled_back and floor < self.last_seq:
                self.index.truncate(floor)
                self.last_seq = floor
            self._open[floor] -= 1
            if self._open[floor] <= 0:
                del self._open[floor]

    def forget_after(self, seq: int) -> None:
        """Drop rows numbered above `seq`; the next sync loads again what is still there."""
        with self._lock:
            if seq < self.last_seq:
                self.index.truncate(seq)
                self.last_seq = seq
            if self._sharing.directory is not None:
                pdq_shared.discard_above(self._sharing.directory, self._name, seq)

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
_sharing: weakref.WeakKeyDictionary[Engine, Sharing] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def share(engine: Engine, directory: Path, tail_limit: int = TAIL_LIMIT) -> None:
    """The engine's indexes (created from now on) publish their main parts under `directory`
    (in a folder of the database's URL: two databases may share a data folder) and map those
    other processes published there."""
    database = hashlib.sha256(str(engine.url).encode()).hexdigest()[:16]  # password hidden
    with _registry_lock:
        _sharing[engine] = Sharing(directory / database, tail_limit)


def _on_commit(conn: Connection) -> None:
    floors: dict[SyncedIndex, int] = conn.info.pop(_FLOORS, {})
    for synced, floor in floors.items():
        synced.closed(floor, rolled_back=False)
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
        index.closed(seq, rolled_back=True)


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
            found = per_engine[name] = SyncedIndex(fetch, name, _sharing.get(engine))
        return found
