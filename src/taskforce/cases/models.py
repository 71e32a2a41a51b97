"""Cases, their selectors, the hits between them, and the notifications hits cause."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, Origin, Timestamps, UTCDateTime, UUIDPk, utcnow
from taskforce.core.sharing import Shareable


class Case(Base, UUIDPk, Timestamps, Origin, Shareable):
    __tablename__ = "case_file"

    reference: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    offence_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    lead_investigator_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # the owner's "not for export": a GREEN case stays visible to members but never leaves the
    # hub in a STIX bundle, MISP event or TAXII collection (interop/releasable.py)
    not_for_export: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class CaseEvent(Base, UUIDPk):
    """One entry of a case's history: who changed what, and when."""

    __tablename__ = "case_event"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    actor_label: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(32))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SelectorValue(Base, UUIDPk):
    """A distinct normalised identifier; the row locked while a new holder is deconflicted."""

    __tablename__ = "selector_value"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    kind: Mapped[str] = mapped_column(String(24))
    key: Mapped[str] = mapped_column(String(2200))
    case_count: Mapped[int] = mapped_column(Integer, default=0)
    is_common: Mapped[bool] = mapped_column(Boolean, default=False)


class Selector(Base, UUIDPk):
    __tablename__ = "selector"
    __table_args__ = (
        UniqueConstraint("case_id", "value_id"),
        # the TAXII server's keyset pages, in the order rows were added (migration 0022)
        Index("ix_selector_added_at_id", "added_at", "id"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="CASCADE"), index=True
    )
    value_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("selector_value.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    value: Mapped[str] = mapped_column(String(2100))
    platform: Mapped[str | None] = mapped_column(String(100))
    raw: Mapped[str] = mapped_column(String(2100))
    observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(String(500), default="")
    noise_reason: Mapped[str | None] = mapped_column(String(200))
    added_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PdqBits(Base):
    """The 256 bits of each PDQ selector, in insertion order, feeding the in-memory index."""

    __tablename__ = "selector_pdq"
    # never reuse a seq the index has seen
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    selector_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("selector.id", ondelete="CASCADE"), unique=True
    )
    bits: Mapped[bytes] = mapped_column(LargeBinary(32))


class Hit(Base, UUIDPk):
    """Two cases hold the same (or, for PDQ, a near) selector.

    Side A is the selector whose addition found the match, side B the one already held. Both
    sides' agencies are stored; what each side may learn of the other is decided when read.
    """

    __tablename__ = "hit"
    __table_args__ = (UniqueConstraint("a_selector_id", "b_selector_id"),)

    kind: Mapped[str] = mapped_column(String(24))
    distance: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    a_case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="CASCADE"), index=True
    )
    a_selector_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("selector.id", ondelete="CASCADE"))
    a_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    b_case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="CASCADE"), index=True
    )
    b_selector_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("selector.id", ondelete="CASCADE"))
    b_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    a_acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    a_assessment: Mapped[str | None] = mapped_column(String(24))
    b_acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    b_assessment: Mapped[str | None] = mapped_column(String(24))


class Notification(Base, UUIDPk):
    """An entry in a person's in-app inbox."""

    __tablename__ = "notification"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    hit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("hit.id", ondelete="CASCADE"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class NoiseEntry(Base, UUIDPk):
    """A value an admin declared noise: it is kept on cases but never makes a hit."""

    __tablename__ = "noise_entry"
    __table_args__ = (UniqueConstraint("kind", "pattern"),)

    kind: Mapped[str] = mapped_column(String(24))
    pattern: Mapped[str] = mapped_column(String(2200))
    reason: Mapped[str] = mapped_column(String(200))
    added_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
