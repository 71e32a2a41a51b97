"""The feed this node publishes to each peer, and the page of it a peer reads: append-only,
hash-chained per recipient, each page signed.

An entry's hash is `sha256(prev_hash + "\\n" + body)` over its canonical JSON body, so one
entry changed, dropped or reordered breaks every hash after it; the first entry links to a
genesis that names both nodes (`genesis`), so one peer's feed cannot be passed off as
another's. A page is signed (Ed25519, the node key) over its origin, recipient, position and
last hash: the hash covers every entry up to it, so the signature covers the whole page and
everything before. Used by the publisher (`publish.py`, which appends), the feed endpoint and
the sync (`sync.py`, which checks).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from taskforce.core import signing
from taskforce.core.audit.service import Operation, record
from taskforce.core.db import utcnow
from taskforce.core.errors import Conflict
from taskforce.federation import peering
from taskforce.federation.models import FeedEntry

FORMAT = "taskforce-feed/1"
LIMIT_DEFAULT = 1_000
LIMIT_MAX = 5_000


def genesis(origin: uuid.UUID, recipient: uuid.UUID) -> str:
    """The `prev_hash` of a feed's first entry: bound to who publishes and who receives."""
    return hashlib.sha256(f"{FORMAT}|{origin}|{recipient}".encode()).hexdigest()


def entry_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def canonical(body: dict[str, Any]) -> str:
    return signing.canonical_bytes(body).decode()


def head(session: Session, peer_id: uuid.UUID) -> tuple[int, str | None]:
    """The last entry of the feed to a peer: (seq, hash); (0, None) for an empty feed."""
    row = session.execute(
        select(FeedEntry.seq, FeedEntry.hash)
        .where(FeedEntry.peer_id == peer_id)
        .order_by(FeedEntry.seq.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row is not None else (0, None)


def append(
    session: Session,
    origin: uuid.UUID,
    recipient: uuid.UUID,
    bodies: Sequence[str],
    at: datetime | None = None,
) -> int:
    """Append entries (canonical JSON bodies) to the feed to `recipient`, each linked to the
    one before; the new head. The caller holds the peer's row lock (one writer per feed)."""
    seq, prev = head(session, recipient)
    prev = prev or genesis(origin, recipient)
    when = at or utcnow()
    rows: list[dict[str, Any]] = []
    for body in bodies:
        seq += 1
        digest = entry_hash(prev, body)
        rows.append(
            {
                "peer_id": recipient,
                "seq": seq,
                "at": when,
                "body": body,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    if rows:
        session.execute(insert(FeedEntry), rows)
    return seq


def head_seq(session: Session, peer_id: uuid.UUID) -> int:
    found = session.scalar(select(func.max(FeedEntry.seq)).where(FeedEntry.peer_id == peer_id))
    return int(found or 0)


def page_statement(
    origin: uuid.UUID, recipient: uuid.UUID, after_seq: int, last_seq: int, last_hash: str, top: int
) -> dict[str, Any]:
    """What a page's signature covers."""
    return {
        "format": FORMAT,
        "origin": str(origin),
        "recipient": str(recipient),
        "after_seq": after_seq,
        "last_seq": last_seq,
        "last_hash": last_hash,
        "head": top,
    }


def sign_page(statement: dict[str, Any], key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.sign(signing.canonical_bytes(statement))).decode()


def page_signature_holds(statement: dict[str, Any], signature: str, key: Ed25519PublicKey) -> bool:
    try:
        key.verify(base64.b64decode(signature, validate=True), signing.canonical_bytes(statement))
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Page:
    origin: uuid.UUID
    recipient: uuid.UUID
    after_seq: int
    entries: Sequence[tuple[int, str, str, str]]  # seq, body, prev_hash, hash
    head: int
    next: int | None
    signature: str

    def as_json(self) -> dict[str, Any]:
        return {
            "origin": str(self.origin),
            "recipient": str(self.recipient),
            "after_seq": self.after_seq,
            "entries": [
                {"seq": s, "body": b, "prev_hash": p, "hash": h} for s, b, p, h in self.entries
            ],
            "head": self.head,
            "next": self.next,
            "signature": self.signature,
        }


def read_page(
    session: Session,
    key: Ed25519PrivateKey,
    *,
    recipient: uuid.UUID,
    recipient_name: str,
    after_seq: int,
    limit: int,
) -> Page:
    """The entries after `after_seq` of the feed to `recipient`, signed; audited as a
    disclosure to that peer (counts only). Past the head: `Conflict` naming the head."""
    own = peering.require_node(session)
    top = head_seq(session, recipient)
    if after_seq > top:
        raise Conflict(f"after_seq: beyond this feed's head ({top})")
    rows = session.execute(
        select(FeedEntry.seq, FeedEntry.body, FeedEntry.prev_hash, FeedEntry.hash)
        .where(FeedEntry.peer_id == recipient, FeedEntry.seq > after_seq)
        .order_by(FeedEntry.seq)
        .limit(limit)
    ).all()
    entries = [(r[0], r[1], r[2], r[3]) for r in rows]
    if entries:
        last_seq, last_hash = entries[-1][0], entries[-1][3]
    elif after_seq == 0:
        last_seq, last_hash = 0, genesis(own.id, recipient)
    else:
        last_seq = after_seq
        last_hash = session.scalars(
            select(FeedEntry.hash).where(FeedEntry.peer_id == recipient, FeedEntry.seq == after_seq)
        ).one()
    statement = page_statement(own.id, recipient, after_seq, last_seq, last_hash, top)
    record(
        session,
        peering.node_caller(recipient_name),
        action="federation.feed.disclose",
        operation=Operation.DISCLOSURE,
        subject_type="peer",
        subject_id=recipient,
        recipients=[recipient_name],
        detail={"after_seq": after_seq, "entries": len(entries), "head": top},
    )
    return Page(
        origin=own.id,
        recipient=recipient,
        after_seq=after_seq,
        entries=entries,
        head=top,
        next=last_seq if entries and last_seq < top else None,
        signature=sign_page(statement, key),
    )
