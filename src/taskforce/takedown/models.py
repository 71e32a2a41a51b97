"""Takedown notices to hosting providers, each re-check of the URL, and the notice's timeline.

A notice is issued when a hotline confirms a reported URL; it is sent to the provider's abuse
contact, re-sent while the content stays up, escalated when its deadline passes, and closed
when a re-check finds the content gone. `next_check_at` is both the schedule and the lease a
worker takes while it checks (see `takedown.service`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, Origin, UTCDateTime, UUIDPk, utcnow


class TakedownNotice(Base, UUIDPk, Origin):
    __tablename__ = "takedown_notice"
    # the observatory's removals in a month and notices open past their deadline (0021)
    __table_args__ = (
        Index(
            "ix_takedown_notice_observatory",
            "status",
            "removed_at",
            "created_at",
            "deadline_at",
            "hosting_country",
        ),
    )

    report_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("public_report.id", ondelete="SET NULL"), index=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    url_hash: Mapped[str] = mapped_column(String(64), index=True)  # sha256 of the block key
    host: Mapped[str] = mapped_column(String(253))
    category: Mapped[str | None] = mapped_column(String(32))
    hosting_ip: Mapped[str | None] = mapped_column(String(45))
    hosting_country: Mapped[str | None] = mapped_column(String(2), index=True)
    provider_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("hosting_provider.id", ondelete="SET NULL"), index=True
    )
    recipient: Mapped[str | None] = mapped_column(String(320))  # the abuse contact written to
    # open | removed | withdrawn
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sends: Mapped[int] = mapped_column(Integer, default=0)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    checks: Mapped[int] = mapped_column(Integer, default=0)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    unreachable_streak: Mapped[int] = mapped_column(Integer, default=0)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    closed_reason: Mapped[str] = mapped_column(String(500), default="")


class TakedownCheck(Base, UUIDPk):
    """One re-check: what the server answered (status and headers only; no body is read)."""

    __tablename__ = "takedown_check"

    notice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("takedown_notice.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))  # present | gone | unreachable | refused
    status_code: Mapped[int | None] = mapped_column(Integer)
    ip: Mapped[str | None] = mapped_column(String(45))
    final_url: Mapped[str] = mapped_column(Text, default="")
    content_type: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(String(1000), default="")
    elapsed_ms: Mapped[int] = mapped_column(Integer, default=0)
    hops: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class TakedownEvent(Base, UUIDPk):
    """The notice's timeline: issued, sent, re-sent, copied, moved, escalated, removed."""

    __tablename__ = "takedown_event"

    notice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("takedown_notice.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(24))
    detail: Mapped[str] = mapped_column(String(1000), default="")
