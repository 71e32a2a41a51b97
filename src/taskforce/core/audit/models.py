"""The append-only audit log and the state of the Merkle tree that seals it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, UTCDateTime, utcnow


class AuditEntry(Base):
    """One logged action. `entry_hash` is its RFC 9162 leaf hash, over every field; the sealer
    gives it `leaf_index`, its place in the Merkle tree (None: written, not yet sealed)."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index(
            "ix_audit_entry_unsealed",
            "seq",
            sqlite_where=text("leaf_index IS NULL"),
            postgresql_where=text("leaf_index IS NULL"),
        ),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[uuid.UUID] = mapped_column(default=uuid.uuid4, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    actor_agency_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    actor_label: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    token_id: Mapped[uuid.UUID | None]
    ip: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    operation: Mapped[str] = mapped_column(String(16))
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    subject_agency_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    justification: Mapped[str | None] = mapped_column(Text)
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    entry_hash: Mapped[str] = mapped_column(String(64))
    leaf_index: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), unique=True
    )


class AuditTree(Base):
    """The sealed tree: its size, root and right edge (`merkle.Frontier`), one row (id 1).

    Only the sealer writes it, under its lock; signed heads of it go outside the database."""

    __tablename__ = "audit_tree"

    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    root_hash: Mapped[str] = mapped_column(String(64))
    frontier: Mapped[list[str]] = mapped_column(JSON)
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime())
