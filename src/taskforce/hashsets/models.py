"""Hash sets: named lists of known files' hashes, held by an agency and shared like cases."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, Timestamps, UTCDateTime, UUIDPk, utcnow
from taskforce.core.sharing import Shareable


class HashSet(Base, UUIDPk, Timestamps, Shareable):
    __tablename__ = "hash_set"
    __table_args__ = (UniqueConstraint("owner_agency_id", "name"),)

    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(1000), default="")
    source: Mapped[str] = mapped_column(String(200), default="")
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    # the owner's "not for export": as on cases (interop/releasable.py)
    not_for_export: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class HashEntry(Base):
    """One known file: any of its exact and perceptual hashes, and what is known of it.

    `entry_key` is a digest of the entry's hashes, unique within the set, so importing the same
    file twice adds nothing. Integer keys keep ten million entries compact.
    """

    __tablename__ = "hash_entry"
    __table_args__ = (
        UniqueConstraint("hash_set_id", "entry_key"),
        # the TAXII server's keyset pages, in the order entries were added (migration 0022)
        Index("ix_hash_entry_added_at_id", "added_at", "id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    # indexed by the unique (hash_set_id, entry_key)
    hash_set_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("hash_set.id", ondelete="CASCADE"))
    entry_key: Mapped[str] = mapped_column(String(64))
    md5: Mapped[str | None] = mapped_column(String(32), index=True)
    sha1: Mapped[str | None] = mapped_column(String(40), index=True)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    pdq: Mapped[str | None] = mapped_column(String(64))
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
    category_scheme: Mapped[str | None] = mapped_column(String(24))
    category_code: Mapped[str | None] = mapped_column(String(24))
    series: Mapped[str | None] = mapped_column(String(200))
    victim_identified: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(200), default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # a video's frames as exchanged (ThreatExchange compact vPDQ JSON); exports repeat it
    vpdq: Mapped[str | None] = mapped_column(Text)


class HashEntryFrame(Base):
    """A video entry's distinct usable frame (quality >= 50): what the frame index holds and
    what a video's match share is counted over."""

    __tablename__ = "hash_entry_frame"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    entry_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("hash_entry.id", ondelete="CASCADE"),
        index=True,
    )
    pdq: Mapped[str] = mapped_column(String(64))
