"""Audit: every read of case data, every search, change, disclosure and login.

Each entry stores its RFC 9162 leaf hash (SHA-256 of 0x00 and its canonical content), so an
entry altered in place no longer matches its hash. Entries are written freely, by any number of
transactions at once, with no lock: a global lock here was the hub's one queue and, taken after
row locks in one request and before them in another, its deadlock. The sealer (`seal.py`) then
gives committed entries their place in a Merkle tree, in order, at most about two seconds
behind, and signs the tree's head into a file outside the database; `verify.py` checks the
entries against the tree and the signed heads, which detects altered, removed, reordered,
rewritten and truncated logs. The operation classes follow the law-enforcement logging rules
(LED art. 25, UK DPA 2018 s.62): collection, alteration, consultation, disclosure, erasure, plus
authentication.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, func, insert, or_, select
from sqlalchemy.orm import Session

from taskforce.core.audit import merkle
from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import Caller, Permission, Role
from taskforce.core.db import BULK_MIN_ROWS, bulk_insert, keep_on_rollback, utcnow

_AUDIT_TABLE = cast(Table, AuditEntry.__table__)
# inline: the entry's `seq` is not read back (no RETURNING), so a pipelined request's entry
# waits for no answer (core.db.pipelined)
_INSERT = insert(_AUDIT_TABLE).inline()


class Operation(StrEnum):
    COLLECTION = "collection"
    ALTERATION = "alteration"
    CONSULTATION = "consultation"
    DISCLOSURE = "disclosure"
    ERASURE = "erasure"
    AUTHENTICATION = "authentication"


def _canonical(entry: Mapping[str, Any]) -> bytes:
    """The entry's content as the bytes its hash covers: every field but its place (`seq`,
    `leaf_index`), which the tree fixes."""

    def ident(key: str) -> str | None:
        return str(entry[key]) if entry[key] else None

    body = {
        "id": str(entry["id"]),
        "at": entry["at"].isoformat(timespec="microseconds"),
        "actor_user_id": ident("actor_user_id"),
        "actor_agency_id": ident("actor_agency_id"),
        "actor_label": entry["actor_label"],
        "role": entry["role"],
        "channel": entry["channel"],
        "token_id": ident("token_id"),
        "ip": entry["ip"],
        "action": entry["action"],
        "operation": entry["operation"],
        "subject_type": entry["subject_type"],
        "subject_id": ident("subject_id"),
        "subject_agency_id": ident("subject_agency_id"),
        "justification": entry["justification"],
        "recipients": list(entry["recipients"] or []),
        "outcome": entry["outcome"],
        "detail": entry["detail"] or {},
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def fields(entry: AuditEntry) -> dict[str, Any]:
    return {column.key: getattr(entry, column.key) for column in _AUDIT_TABLE.columns}


def entry_hash(entry: Mapping[str, Any]) -> str:
    """The entry's leaf hash (hex): what the Merkle tree and the exported leaves hold."""
    return merkle.leaf_hash(_canonical(entry)).hex()


@dataclass(frozen=True)
class Action:
    """What an entry says happened; the actor, time and chain links are added on append."""

    action: str
    operation: Operation
    subject_type: str | None = None
    subject_id: uuid.UUID | None = None
    subject_agency_id: uuid.UUID | None = None
    justification: str | None = None
    recipients: tuple[str, ...] = ()
    outcome: str = "ok"
    detail: dict[str, Any] | None = None


def record(
    session: Session,
    caller: Caller,
    *,
    action: str,
    operation: Operation,
    subject_type: str | None = None,
    subject_id: uuid.UUID | None = None,
    subject_agency_id: uuid.UUID | None = None,
    justification: str | None = None,
    recipients: Iterable[str] = (),
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry to the chain (written now, committed with the caller's transaction).

    Entries whose outcome is not "ok" (refusals) are also kept if the transaction rolls back.
    """
    entry = Action(
        action=action,
        operation=operation,
        subject_type=subject_type,
        subject_id=subject_id,
        subject_agency_id=subject_agency_id,
        justification=justification,
        recipients=tuple(recipients),
        outcome=outcome,
        detail=detail,
    )
    if outcome != "ok":
        keep_on_rollback(session, lambda s: _append(s, caller, [entry]))
    _append(session, caller, [entry])


def record_many(session: Session, caller: Caller, entries: Sequence[Action]) -> None:
    """Append many entries in order with one multi-row insert (a bulk import's disclosures)."""
    if any(e.outcome != "ok" for e in entries):
        raise ValueError("record refusals one by one with record(), they outlive a rollback")
    _append(session, caller, entries)


def _append(session: Session, caller: Caller, entries: Sequence[Action]) -> None:
    """Hash the entries and insert them (Core: no ORM object per entry; the statement runs on
    the session's connection, because the ORM's execution path cost more CPU than the insert
    itself and every audited request pays it — benchmarks/public_form.py). No lock and no read:
    the order of the log is fixed by the sealer, not here."""
    if not entries:
        return
    rows: list[dict[str, Any]] = []
    for item in entries:
        row: dict[str, Any] = {
            "id": uuid.uuid4(),
            "at": utcnow(),
            "actor_user_id": caller.user_id,
            "actor_agency_id": caller.agency_id,
            "actor_label": caller.label,
            "role": caller.role.value,
            "channel": caller.channel,
            "token_id": caller.token_id,
            "ip": caller.ip,
            "action": item.action,
            "operation": item.operation.value,
            "subject_type": item.subject_type,
            "subject_id": item.subject_id,
            "subject_agency_id": item.subject_agency_id,
            "justification": item.justification,
            "recipients": sorted(set(item.recipients)),
            "outcome": item.outcome,
            "detail": item.detail or {},
            "leaf_index": None,
        }
        row["entry_hash"] = entry_hash(row)
        rows.append(row)
    if len(rows) < BULK_MIN_ROWS:
        session.connection().execute(_INSERT, rows[0] if len(rows) == 1 else rows)
    else:  # an import's disclosures: thousands of entries
        bulk_insert(session, _AUDIT_TABLE, rows)


def list_entries(
    session: Session,
    caller: Caller,
    *,
    agency_id: uuid.UUID | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
) -> list[AuditEntry]:
    """Entries an admin may read: network admins all; agency admins those their agency's people
    made and those about their agency's records (so they see who consulted what of theirs)."""
    caller.require(Permission.READ_AUDIT)
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(min(limit, 1000))
    if caller.role != Role.NETWORK_ADMIN:
        stmt = stmt.where(
            or_(
                AuditEntry.actor_agency_id == caller.agency_id,
                AuditEntry.subject_agency_id == caller.agency_id,
            )
        )
    elif agency_id is not None:
        stmt = stmt.where(AuditEntry.actor_agency_id == agency_id)
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action))
    if since:
        stmt = stmt.where(AuditEntry.at >= since)
    return list(session.scalars(stmt))


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry)) or 0
