"""The append-only, hash-chained audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, UTCDateTime, utcnow


class AuditEntry(Base):
    """One logged action. `entry_hash` covers every field and the previous entry's hash."""

    __tablename__ = "audit_entry"

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
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
