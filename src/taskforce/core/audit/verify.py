"""Verification of the audit log: every entry against its hash, the sealed entries against the
Merkle tree, and the tree against the signed heads and exported leaves kept outside the database.

What each kind of tampering looks like, and what is named:

- an entry changed in place: its content no longer gives its stored hash → that entry;
- an entry rewritten with a recomputed hash: its leaf differs from the exported leaf at its
  place → that entry (without the leaves: the first head it breaks, and the entries since the
  head before it);
- entries reordered: an entry sits where the exported leaves hold another → that entry;
- an entry removed: a gap in the leaf indexes → the first missing place and the entry after it;
- the newest entries removed (truncation): the newest signed head, or the exported leaves,
  cover more entries than the database holds → the first missing place.

Entries written in the last moments and not yet sealed are checked against their own hash only;
the result counts them as pending.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.core.audit import heads as heads_module
from taskforce.core.audit.heads import ExportedLeaves, SignedHead
from taskforce.core.audit.merkle import Frontier
from taskforce.core.audit.models import AuditEntry, AuditTree
from taskforce.core.audit.service import entry_hash, fields
from taskforce.core.errors import Invalid
from taskforce.core.settings import Settings

_COLUMNS = list(AuditEntry.__table__.columns)
_NEAR = 64  # how far around a mismatching place to look for the leaf (to tell reordering)


@dataclass
class Evidence:
    """What is kept outside the database: signed heads (newest last) and exported leaves."""

    heads: list[SignedHead] = field(default_factory=list)
    leaves: ExportedLeaves | None = None
    problem: str | None = None  # a heads file that did not verify: itself a finding

    def close(self) -> None:
        if self.leaves is not None:
            self.leaves.close()


def load_evidence(
    settings: Settings,
    *,
    heads_files: Sequence[Path] = (),
    leaves_file: Path | None = None,
    public: Ed25519PublicKey | None = None,
    newest_only: bool = False,
) -> Evidence:
    """The evidence of this machine's audit folder, or of the files given (copies shipped
    elsewhere: a history, a `head.json`, or both), checked with the hub's audit key or the
    public key given. `newest_only`: just `head.json` (what a page can afford)."""
    folder = settings.audit_folder
    public = public or heads_module.public_key(settings)
    if heads_files:
        paths = list(heads_files)
    elif newest_only:
        paths = [folder / "head.json"]
    else:
        paths = [folder / "heads.jsonl", folder / "head.json"]
    leaves_path = leaves_file or (None if heads_files or newest_only else folder / "leaves.bin")
    evidence = Evidence(leaves=ExportedLeaves(leaves_path) if leaves_path else None)
    if public is None:
        if any(path.exists() for path in paths):
            evidence.problem = "signed heads exist but not this hub's audit key: give the key"
        return evidence
    for path in paths:
        try:
            evidence.heads += heads_module.read_heads(path, public)
        except Invalid as error:
            evidence.problem = f"the signed heads in {path.name} do not verify: {error.message}"
            break
    return evidence


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int  # entries whose hash was recomputed
    sealed: int  # entries with a place in the tree
    pending: int  # written, not sealed yet
    root: str  # root of the sealed entries (hex)
    heads_checked: int = 0
    newest_head: int | None = None  # tree size of the newest signed head
    leaves_exported: int | None = None
    first_bad_seq: int | None = None
    first_bad_index: int | None = None
    reason: str | None = None


class _Broken(Exception):
    def __init__(self, reason: str, *, seq: int | None, index: int | None) -> None:
        super().__init__(reason)
        self.reason, self.seq, self.index = reason, seq, index


def verify(
    session: Session,
    evidence: Evidence | None = None,
    *,
    batch: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> VerifyResult:
    """Check the whole log; stop at the first entry that does not fit. `progress(n)` hears of
    each batch of entries checked."""
    evidence = evidence or Evidence()
    # head.json repeats the history's last head; two heads of one size must agree (both kept)
    distinct = {(h.tree_size, h.root_hash): h for h in evidence.heads}
    heads = sorted(distinct.values(), key=lambda h: h.tree_size)
    newest = heads[-1].tree_size if heads else None
    leaves = evidence.leaves
    frontier = Frontier()
    checked = 0
    pending = 0

    def result(broken: _Broken | None = None, reason: str | None = None) -> VerifyResult:
        return VerifyResult(
            ok=broken is None and reason is None,
            checked=checked,
            sealed=frontier.size,
            pending=pending,
            root=frontier.root().hex(),
            heads_checked=sum(1 for h in heads if h.tree_size <= frontier.size),
            newest_head=newest,
            leaves_exported=len(leaves) if leaves is not None else None,
            first_bad_seq=broken.seq if broken else None,
            first_bad_index=broken.index if broken else None,
            reason=broken.reason if broken else reason,
        )

    if evidence.problem:
        return result(reason=evidence.problem)
    try:
        next_head = 0
        window: tuple[int, int] | None = None  # (place, seq) of the first entry after a head
        for row in _rows(session, sealed=True, batch=batch):
            index = frontier.size
            start, seq = window = window or (index, row["seq"])
            if row["leaf_index"] != index:
                raise _Broken(
                    f"the entry sealed at place {index:,} was removed (the next one is at "
                    f"{row['leaf_index']:,})",
                    seq=row["seq"],
                    index=index,
                )
            leaf = _check_hash(row)
            checked += 1
            if progress is not None and checked % batch == 0:
                progress(batch)
            if leaves is not None and index < len(leaves) and leaves[index] != leaf:
                raise _Broken(_misplaced(leaves, index, leaf), seq=row["seq"], index=index)
            frontier.append(leaf)
            while next_head < len(heads) and heads[next_head].tree_size == frontier.size:
                head = heads[next_head]
                if frontier.root().hex() != head.root_hash:
                    raise _Broken(
                        f"the log does not match {head.describe()}: an entry at places "
                        f"{start:,} to {head.tree_size - 1:,} was altered, removed, reordered or "
                        "rewritten",
                        seq=seq,
                        index=start,
                    )
                next_head += 1
                window = None
            while next_head < len(heads) and heads[next_head].tree_size < frontier.size:
                next_head += 1  # a head of size 0 or a duplicate: nothing to compare
        _check_not_truncated(frontier.size, heads, leaves)
        _check_tree_row(session, frontier)
        for row in _rows(session, sealed=False, batch=batch):
            _check_hash(row)
            checked += 1
            pending += 1
        if progress is not None:
            progress(checked % batch)
    except _Broken as broken:
        return result(broken)
    return result()


def _rows(session: Session, *, sealed: bool, batch: int) -> Any:
    """Entries as plain rows in tree order (sealed) or in insertion order (pending)."""
    order = AuditEntry.leaf_index if sealed else AuditEntry.seq
    where = AuditEntry.leaf_index.is_not(None) if sealed else AuditEntry.leaf_index.is_(None)
    last: int | None = None
    while True:
        stmt = select(*_COLUMNS).where(where).order_by(order).limit(batch)
        if last is not None:
            stmt = stmt.where(order > last)
        rows = session.execute(stmt).mappings().all()
        if not rows:
            return
        yield from rows
        last = rows[-1]["leaf_index" if sealed else "seq"]


def _check_hash(row: Any) -> bytes:
    digest = entry_hash(row)
    if digest != row["entry_hash"]:
        raise _Broken(
            "entry content was altered (its hash does not match)",
            seq=row["seq"],
            index=row["leaf_index"],
        )
    return bytes.fromhex(digest)


def _misplaced(leaves: ExportedLeaves, index: int, leaf: bytes) -> str:
    near = range(max(0, index - _NEAR), min(len(leaves), index + _NEAR))
    elsewhere = next((i for i in near if i != index and leaves[i] == leaf), None)
    if elsewhere is not None:
        return (
            f"the log was reordered: the entry at place {index:,} was sealed at place {elsewhere:,}"
        )
    return (
        f"the entry at place {index:,} is not the one sealed there: it was rewritten (its hash "
        "matches its content, but not the exported leaf)"
    )


def _check_not_truncated(
    size: int, heads: Sequence[SignedHead], leaves: ExportedLeaves | None
) -> None:
    if heads and heads[-1].tree_size > size:
        raise _Broken(
            f"the log was truncated: {heads[-1].describe()}, the database holds {size:,}; "
            f"the entries from place {size:,} on are missing",
            seq=None,
            index=size,
        )
    if leaves is not None and len(leaves) > size:
        raise _Broken(
            f"the log was truncated: {len(leaves):,} entries were exported, the database "
            f"holds {size:,}; the entries from place {size:,} on are missing",
            seq=None,
            index=size,
        )


def _check_tree_row(session: Session, frontier: Frontier) -> None:
    tree = session.get(AuditTree, 1)
    size, root = (tree.size, tree.root_hash) if tree is not None else (0, frontier.root().hex())
    if size != frontier.size or root != frontier.root().hex():
        raise _Broken(
            f"the database's record of the sealed tree ({size:,} entries) does not match its "
            f"{frontier.size:,} sealed entries",
            seq=None,
            index=min(size, frontier.size),
        )


@dataclass(frozen=True)
class SealStatus:
    """What a page can afford to check on every view; `verify` checks everything."""

    ok: bool
    sealed: int
    pending: int
    newest_head: SignedHead | None
    reason: str | None = None


def seal_status(
    session: Session, evidence: Evidence, shown: Sequence[AuditEntry] = ()
) -> SealStatus:
    """The sealed tree against the newest signed head (truncation, or a rewritten tree of the
    same size), and the entries on screen against their hashes."""
    tree = session.get(AuditTree, 1)
    size, root = (tree.size, tree.root_hash) if tree is not None else (0, Frontier().root().hex())
    top = session.scalar(select(func.max(AuditEntry.leaf_index)))  # through its unique index
    held = 0 if top is None else top + 1  # the newest entries deleted, the tree row left as is
    pending = session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.leaf_index.is_(None))
    )
    newest = max(evidence.heads, key=lambda h: h.tree_size, default=None)
    reason = evidence.problem
    if reason is None and newest is not None and newest.tree_size > min(size, held):
        reason = f"truncated: {newest.describe()}, the database holds {min(size, held):,}"
    elif (
        reason is None
        and newest is not None
        and newest.tree_size == size
        and newest.root_hash != root
    ):
        reason = f"rewritten: the sealed tree does not match {newest.describe()}"
    for entry in shown:
        if reason is None and entry_hash(fields(entry)) != entry.entry_hash:
            reason = f"entry {entry.seq} was altered (its hash does not match)"
    return SealStatus(reason is None, size, pending or 0, newest, reason)
