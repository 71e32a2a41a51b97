"""Inbox notices for the people of one agency (hits keep their own `notification` rows)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, UTCDateTime, UUIDPk, utcnow


class InboxNotice(Base, UUIDPk):
    __tablename__ = "inbox_notice"

    agency_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agency.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))  # "rota.gap", "watch.handover_overdue", …
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(500), default="")  # a path inside taskforce
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    read_by: Mapped[str] = mapped_column(String(320), default="")
