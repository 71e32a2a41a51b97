"""Outgoing e-mail and webhook calls, stored in the transaction that caused them.

A message is written beside the change it reports (a hit, a clue notice, a takedown notice,
an urgent lead), so it exists exactly when the change was committed; the drain delivers it
later and records the outcome on the row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, UTCDateTime, UUIDPk, utcnow


class OutboxMessage(Base, UUIDPk):
    """An e-mail or webhook call waiting for the drain (`taskforce outbox drain`, the worker)."""

    __tablename__ = "outbox_message"

    channel: Mapped[str] = mapped_column(String(16))  # email | webhook
    recipient: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    # When the next delivery may be tried: backoff after a failure, and the lease a drain
    # takes while it delivers (another drain skips the message until then). NULL: at once.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # What the message is about, e.g. "takedown_notice:<uuid>", so a domain can show it.
    reference: Mapped[str | None] = mapped_column(String(80), index=True)
    reply_to: Mapped[str | None] = mapped_column(String(320))
