"""Sealing: committed audit entries get their place in the Merkle tree, and the tree's signed
head goes outside the database.

One sealer at a time (PostgreSQL: a try-lock, so a second process skips the round instead of
queueing; SQLite serialises writers anyway) takes the oldest unsealed entries in the order the
database numbered them, gives them consecutive leaf indexes, extends the stored frontier and
commits; batches are small, so no transaction holds SQLite's write lock for long. Then each
machine's process exports what it has not yet exported to its audit folder and signs a head
(`heads.py`). An entry whose transaction commits late is simply sealed in a later batch.

`Sealer` runs this every `audit_seal_seconds` in a thread of `taskforce serve` and of
`taskforce worker`, so the newest signed head is at most about two seconds behind the newest
entry while either runs.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from taskforce.core.audit import heads
from taskforce.core.audit.merkle import EMPTY_ROOT, Frontier
from taskforce.core.audit.models import AuditEntry, AuditTree
from taskforce.core.db import is_postgres, utcnow
from taskforce.core.settings import Settings

SEAL_BATCH = 2000  # entries per sealing transaction: ~10 ms of SQLite's write lock
_SEAL_LOCK_KEY = 0x7A5C_5EA1
_TABLE = cast(Table, AuditEntry.__table__)
_SET_INDEX = (
    update(_TABLE)
    .where(_TABLE.c.seq == bindparam("s"))
    .values(leaf_index=bindparam("i"))
    .execution_options(synchronize_session=False)
)
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SealResult:
    sealed: int  # entries given a place in the tree by this call
    tree_size: int
    root_hash: str
    exported: int  # leaves appended to this machine's audit folder
    head: dict[str, object] | None  # the head signed by this call, if the tree grew
    problem: str | None = None  # why the export was refused (the database lost sealed entries)


def tree_state(session: Session) -> Frontier:
    tree = session.get(AuditTree, 1)
    return Frontier() if tree is None else Frontier.from_hex(tree.size, tree.frontier)


def seal_batch(session: Session, *, limit: int = SEAL_BATCH, now: datetime | None = None) -> int:
    """In the caller's transaction: seal up to `limit` committed entries; 0 when none are
    waiting or another sealer holds the lock."""
    if is_postgres(session) and not session.scalar(
        select(func.pg_try_advisory_xact_lock(_SEAL_LOCK_KEY))
    ):
        return 0
    waiting = session.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash)
        .where(AuditEntry.leaf_index.is_(None))
        .order_by(AuditEntry.seq)
        .limit(limit)
    ).all()
    if not waiting:
        return 0
    tree = session.get(AuditTree, 1)
    if tree is None:
        tree = AuditTree(id=1, size=0, root_hash=EMPTY_ROOT.hex(), frontier=[])
        session.add(tree)
    frontier = Frontier.from_hex(tree.size, tree.frontier)
    places = []
    for seq, digest in waiting:
        places.append({"s": seq, "i": frontier.size})
        frontier.append(bytes.fromhex(digest))
    session.connection().execute(_SET_INDEX, places)
    tree.size = frontier.size
    tree.root_hash = frontier.root().hex()
    tree.frontier = frontier.to_hex()
    tree.sealed_at = now or utcnow()
    session.flush()
    return len(waiting)


def seal(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime | None = None,
    max_batches: int = 50,
    history: bool | None = None,
) -> SealResult:
    """Seal what is waiting (in short transactions), then export and sign on this machine;
    `history` forces (or holds back) a line in heads.jsonl, by default once a minute."""
    sealed = 0
    for _ in range(max_batches):
        with factory.begin() as session:
            done = seal_batch(session, now=now)
        sealed += done
        if done < SEAL_BATCH:
            break
    return export(factory, settings, sealed=sealed, now=now, history=history)


def export(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    sealed: int = 0,
    now: datetime | None = None,
    chunk: int = 50_000,
    most: int = 500_000,
    history: bool | None = None,
) -> SealResult:
    """Append the sealed leaves this machine's audit folder lacks and sign a head over them.

    Refused, loudly, when the database no longer holds what the folder already has (fewer
    sealed entries, or other ones): that is what `verify` reports as truncation or rewriting,
    and a head over the altered tree would hide it."""
    folder = _folder(settings)
    with folder.locked():
        exported = folder.exported_frontier()
        with factory.begin() as session:
            db_tree = session.get(AuditTree, 1)
            size = db_tree.size if db_tree is not None else 0
            root = db_tree.root_hash if db_tree is not None else EMPTY_ROOT.hex()
            problem = None
            if size < exported.size:
                problem = (
                    f"the database holds {size:,} sealed audit entries but {exported.size:,} "
                    f"were exported to {folder.leaves}: entries were removed (run taskforce "
                    "audit verify)"
                )
            new: list[bytes] = []
            while problem is None and exported.size + len(new) < size and len(new) < most:
                start = exported.size + len(new)
                rows = session.execute(
                    select(AuditEntry.leaf_index, AuditEntry.entry_hash)
                    .where(AuditEntry.leaf_index >= start, AuditEntry.leaf_index < size)
                    .order_by(AuditEntry.leaf_index)
                    .limit(chunk)
                ).all()
                for offset, (index, digest) in enumerate(rows):
                    if index != start + offset:
                        problem = f"sealed audit entry {start + offset:,} is missing"
                        break
                    new.append(bytes.fromhex(digest))
                if not rows:
                    problem = f"sealed audit entry {start:,} is missing"
        grown = exported.copy()
        grown.extend(new)
        # a first export of a long log goes in several rounds; the root is compared at the end
        if problem is None and grown.size == size and grown.root().hex() != root:
            problem = (
                f"the database's sealed tree ({size:,} entries) does not extend the "
                f"{exported.size:,} exported to {folder.leaves}: sealed entries were "
                "altered (run taskforce audit verify)"
            )
        if problem is not None:
            _log.error("audit export refused: %s", problem)
            return SealResult(sealed, size, root, 0, None, problem)
        at = now or utcnow()
        if not new:
            folder.catch_up_history(at.isoformat())
            return SealResult(sealed, size, root, 0, None)
        head = heads.sign_head(
            heads.signing_key(settings),
            size=grown.size,
            root=grown.root(),
            at=at,
            origin=settings.public_url,
        )
        folder.append(new, grown)
        folder.publish(head, history=history)
        return SealResult(sealed, size, root, len(new), head)


_FOLDERS: dict[str, heads.Folder] = {}


def _folder(settings: Settings) -> heads.Folder:
    """One `Folder` per path in this process, so its cached frontier is reused."""
    key = str(settings.audit_folder)
    if key not in _FOLDERS:
        _FOLDERS[key] = heads.Folder(settings.audit_folder)
    return _FOLDERS[key]


class Sealer:
    """A daemon thread sealing every `audit_seal_seconds` until stopped."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        self.factory = factory
        self.settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="taskforce-audit", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        try:  # a last round, so the heads cover what this process wrote
            seal(self.factory, self.settings, history=True)
        except Exception:
            _log.exception("audit sealing at shutdown failed")

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.audit_seal_seconds):
            try:
                seal(self.factory, self.settings)
            except Exception:
                _log.exception("audit sealing failed; it runs again next round")
