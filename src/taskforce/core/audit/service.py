"""Audit: every read of case data, every search, change, disclosure and login.

Entries form a hash chain: each stores the SHA-256 of its own canonical content and of the
previous entry's hash, so altering or deleting any entry breaks every later link, and
`verify()` names the first entry where the chain breaks. The operation classes follow the
law-enforcement logging rules (LED art. 25, UK DPA 2018 s.62): collection, alteration,
consultation, disclosure, erasure, plus authentication.

Appending takes a lock (PostgreSQL advisory lock; SQLite transactions are already serialised)
so two transactions never chain onto the same previous entry. To detect removal of the newest
entries, publish `taskforce audit head` somewhere the hub's operators cannot rewrite.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, event, func, insert, or_, select, text
from sqlalchemy.orm import Session, SessionTransaction

from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import Caller, Permission, Role
from taskforce.core.db import is_postgres, keep_on_rollback, utcnow

GENESIS = "0" * 64
_HEAD_KEY = "taskforce.audit_head"
_LOCK_KEY = 0x7A5C_F0CE  # pg_advisory_xact_lock key for the audit chain
_AUDIT_TABLE = cast(Table, AuditEntry.__table__)
_LOCK = text("SELECT pg_advisory_xact_lock(:k)")
_HEAD = select(AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
_INSERT = insert(_AUDIT_TABLE)


class Operation(StrEnum):
    COLLECTION = "collection"
    ALTERATION = "alteration"
    CONSULTATION = "consultation"
    DISCLOSURE = "disclosure"
    ERASURE = "erasure"
    AUTHENTICATION = "authentication"


@event.listens_for(Session, "after_transaction_end")
def _forget_head(session: Session, transaction: SessionTransaction) -> None:
    """The head read under the lock is valid only inside that transaction (or savepoint).

    The internal subtransaction of each flush also ends here; it changes nothing the head
    depends on, so it keeps the cache (otherwise every flush would cost a head read)."""
    if transaction.parent is not None and not transaction.nested:
        return
    session.info.pop(_HEAD_KEY, None)


def _canonical(entry: Mapping[str, Any]) -> bytes:
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
        "prev_hash": entry["prev_hash"],
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def _fields(entry: AuditEntry) -> dict[str, Any]:
    return {column.key: getattr(entry, column.key) for column in _AUDIT_TABLE.columns}


def _hash(entry: Mapping[str, Any]) -> str:
    return hashlib.sha256(_canonical(entry)).hexdigest()


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
    """Chain the entries onto the head and insert them (Core: the database numbers `seq` in
    insert order, and no ORM object per entry is needed).

    The statements run on the session's connection, not through `Session.execute`: the ORM's
    execution path cost more CPU than the three statements themselves, and every audited
    request pays it (benchmarks/public_form.py). Pending ORM writes are flushed before the lock
    is taken, as the ORM head query used to do after taking it."""
    if not entries:
        return
    prev = session.info.get(_HEAD_KEY)
    if prev is None:
        session.flush()
    conn = session.connection()
    if prev is None:
        if is_postgres(session):
            conn.execute(_LOCK, {"k": _LOCK_KEY})
        prev = conn.execute(_HEAD).scalar()
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
            "prev_hash": prev or GENESIS,
        }
        row["entry_hash"] = prev = _hash(row)
        rows.append(row)
    conn.execute(_INSERT, rows[0] if len(rows) == 1 else rows)
    session.info[_HEAD_KEY] = prev  # we hold the chain until the transaction ends


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    head: str
    first_bad_seq: int | None = None
    reason: str | None = None


def verify(session: Session, *, batch: int = 5000) -> VerifyResult:
    """Walk the whole chain in order; stop at the first entry that does not fit."""
    prev = GENESIS
    checked = 0
    last_seq = 0
    while True:
        rows: Sequence[AuditEntry] = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.seq > last_seq)
            .order_by(AuditEntry.seq)
            .limit(batch)
        ).all()
        if not rows:
            return VerifyResult(ok=True, checked=checked, head=prev)
        for entry in rows:
            if entry.prev_hash != prev:
                return VerifyResult(
                    ok=False,
                    checked=checked,
                    head=prev,
                    first_bad_seq=entry.seq,
                    reason="previous entry was altered or removed (chain link does not match)",
                )
            if _hash(_fields(entry)) != entry.entry_hash:
                return VerifyResult(
                    ok=False,
                    checked=checked,
                    head=prev,
                    first_bad_seq=entry.seq,
                    reason="entry content was altered (its hash does not match)",
                )
            prev = entry.entry_hash
            checked += 1
            last_seq = entry.seq
        session.expunge_all()


def head(session: Session) -> tuple[int, str]:
    row = session.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else (0, GENESIS)


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
