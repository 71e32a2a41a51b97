"""Published monthly snapshots (frozen figures, content-hashed) and the internet-user counts
that turn raw counts into rates."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, UTCDateTime, UUIDPk, utcnow


class Snapshot(Base, UUIDPk):
    """One month's figures as published: never changed afterwards. `figures` is the canonical
    JSON whose SHA-256 is `sha256` (also in the audit chain), so "as of" can be checked."""

    __tablename__ = "observatory_snapshot"

    period: Mapped[str] = mapped_column(String(7), unique=True)  # "2026-11"
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    published_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    threshold: Mapped[int] = mapped_column(Integer)  # the small-count threshold applied
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))


class InternetUsers(Base):
    """A country's internet users (the rates' denominator), as loaded by the coordinator from a
    published source (ITU, World Bank), with the year and the source named."""

    __tablename__ = "observatory_internet_users"

    country: Mapped[str] = mapped_column(String(2), primary_key=True)  # ISO 3166-1 alpha-2
    users: Mapped[int] = mapped_column(BigInteger)
    year: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
