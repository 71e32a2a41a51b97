"""The handovers' hash chain: each handover's `digest` is sha256(the previous handover's
digest + canonical JSON of its content), and the audit log records each digest as it is
written, so a handover changed, rewritten whole, removed or slipped in afterwards is named by
`verify` (CLI `taskforce watch handover verify`). Writers extend the chain one at a time
(`handovers.write` holds a PostgreSQL advisory lock; SQLite writes take turns)."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from taskforce.core.audit.models import AuditEntry
from taskforce.watch.models import Handover


def content(handover: Handover) -> dict[str, Any]:
    """What the digest covers: everything written, nothing of what happens after (the
    acknowledgement, the escalation)."""
    return {
        "id": str(handover.id),
        "from_desk_id": str(handover.from_desk_id),
        "to_desk_id": str(handover.to_desk_id),
        "shift_ends_at": _iso_us(handover.shift_ends_at),
        "written_at": _iso_us(handover.written_at),
        "written_by": handover.written_by,
        "open_leads": handover.open_leads,
        "pending_preservations": handover.pending_preservations,
        "notes": handover.notes,
        "ack_due_at": _iso_us(handover.ack_due_at),
    }


def _iso_us(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def digest_of(previous_digest: str, body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((previous_digest + canonical).encode("utf-8")).hexdigest()


def chain_head(session: Session) -> str:
    """The digest no handover follows yet ("" for the first)."""
    later = aliased(Handover)
    head = session.scalar(
        select(Handover.digest)
        .where(~exists().where(later.previous_digest == Handover.digest))
        .order_by(Handover.written_at.desc(), Handover.id)
        .limit(1)
    )
    return head or ""


@dataclass(frozen=True)
class Verification:
    checked: int  # handovers whose digest was recomputed
    total: int
    broken: uuid.UUID | None  # the first handover that does not match
    problem: str

    @property
    def ok(self) -> bool:
        return self.broken is None


def _audited(session: Session) -> dict[uuid.UUID, tuple[str, datetime]]:
    """Each handover's digest as the audit log recorded it when it was written (the log has a
    chain of its own, sealed): what a handover removed or rewritten with its digest is held to."""
    rows = session.execute(
        select(AuditEntry.subject_id, AuditEntry.detail, AuditEntry.at).where(
            AuditEntry.action == "watch.handover.write", AuditEntry.outcome == "ok"
        )
    )
    return {
        row.subject_id: (str(row.detail.get("digest", "")), row.at)
        for row in rows
        if row.subject_id is not None
    }


def verify(session: Session) -> Verification:
    """Walks the chain from the first handover, recomputing each digest, and names the first
    that does not match: content changed; a digest other than the audit log's (rewritten
    whole); two handovers claiming the same predecessor; a link that names no handover (one
    before it removed); one the audit log saw written that is gone."""
    every = list(session.scalars(select(Handover).order_by(Handover.written_at, Handover.id)))
    audited = _audited(session)
    following: dict[str, list[Handover]] = {}
    for item in every:
        following.setdefault(item.previous_digest, []).append(item)
    seen: set[uuid.UUID] = set()
    previous = ""

    def broken(item_id: uuid.UUID, problem: str) -> Verification:
        return Verification(len(seen), len(every), item_id, problem)

    while following.get(previous):
        candidates = following[previous]
        item = candidates[0]
        if len(candidates) > 1:
            return broken(
                candidates[1].id, f"follows the same handover as {item.id}: the chain forks"
            )
        if digest_of(item.previous_digest, content(item)) != item.digest:
            return broken(item.id, "its content does not match its digest")
        if item.id in audited and audited[item.id][0] != item.digest:
            return broken(item.id, "its digest is not the one the audit log recorded when written")
        seen.add(item.id)
        previous = item.digest
    digests = {h.digest for h in every}
    left = [h for h in every if h.id not in seen]
    # where the chain breaks: a link to no handover, rather than the ones hanging after it
    stray = next((h for h in left if h.previous_digest not in digests), None)
    stray = stray or next(iter(left), None)
    if stray is not None:
        return broken(
            stray.id,
            "its previous digest names no handover of the chain: one before it was changed or "
            "removed",
        )
    present = {h.id for h in every}
    gone = sorted((at, hid) for hid, (_, at) in audited.items() if hid not in present)
    if gone:
        return broken(gone[0][1], "the audit log saw it written, but it is gone")
    return Verification(len(seen), len(every), None, "")
