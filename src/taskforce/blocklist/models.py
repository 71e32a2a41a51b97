"""The URL block list: entries, and one row per version so "changes since N" is exact."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, UTCDateTime, UUIDPk, utcnow


class BlocklistVersion(Base):
    """One change to the list (an add or a removal). Its number is the primary key, so two
    writers racing for the same number cannot both commit."""

    __tablename__ = "blocklist_version"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("blocklist_entry.id"), index=True)
    action: Mapped[str] = mapped_column(String(8))  # "add" | "remove"
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))


class BlocklistEntry(Base, UUIDPk):
    """A URL (exact) or a path prefix (everything under it). Removed entries stay, with the
    version that removed them; adding the same key again re-activates the row."""

    __tablename__ = "blocklist_entry"
    __table_args__ = (UniqueConstraint("key", "match"),)

    key: Mapped[str] = mapped_column(String(2048))  # unique index: PostgreSQL btree limit
    match: Mapped[str] = mapped_column(String(8))  # "exact" | "prefix"
    category: Mapped[str] = mapped_column(String(40), default="")
    reason: Mapped[str] = mapped_column(String(1000), default="")
    source: Mapped[str] = mapped_column(String(200), default="")  # e.g. a report id
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agency.id"))
    added_version: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    added_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    removed_version: Mapped[int | None] = mapped_column(Integer, index=True)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_reason: Mapped[str] = mapped_column(String(1000), default="")
