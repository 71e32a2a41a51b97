"""A record of each export that left the hub: who took it, in which format, and the SHA-256 of
exactly the bytes they took (also in the audit chain), so a bundle found later can be traced."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, UTCDateTime, UUIDPk, utcnow


class InteropExport(Base, UUIDPk):
    __tablename__ = "interop_export"

    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    actor_label: Mapped[str] = mapped_column(String(320))
    # stix | misp | misp-feed
    format: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    object_count: Mapped[int] = mapped_column(Integer, default=0)
    byte_count: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16))  # the signing key's id
    # what was asked for (agency filter, since) and counted (selectors, hash entries, skipped)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
