"""Urgent leads: a child in immediate danger or a planned meeting, sent at once to the 24/7
contact points of the agencies concerned, to be acknowledged within minutes.

`check_at` is when the watch must look at the lead again (the acknowledgement deadline), and
the lease a worker takes while it escalates; NULL once nothing is left to do.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, UTCDateTime, UUIDPk, utcnow


class UrgentLead(Base, UUIDPk):
    __tablename__ = "urgent_lead"

    report_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("public_report.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # the report's kind and arrival, given when the lead is opened: the watch reads nothing of
    # the report itself (reports open leads; the watch does not import reports)
    kind: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(200), default="")  # plain words: why it is urgent
    reporter_country: Mapped[str | None] = mapped_column(String(2))
    suspect_country: Mapped[str | None] = mapped_column(String(2))
    ack_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    check_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    acknowledged_by_agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agency.id"))
    acknowledged_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    acknowledged_by: Mapped[str] = mapped_column(String(320), default="")  # label at the time
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class UrgentLeadTarget(Base, UUIDPk):
    """An agency the lead went to, and why (reporter's country, suspect's, escalation)."""

    __tablename__ = "urgent_lead_target"
    __table_args__ = (UniqueConstraint("lead_id", "agency_id"),)

    lead_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("urgent_lead.id", ondelete="CASCADE"), index=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    reason: Mapped[str] = mapped_column(String(24))  # reporter_country|suspect_country|escalation
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UrgentLeadStep(Base, UUIDPk):
    """One timestamped step of a lead: created, sent to a desk, delivered, acknowledged,
    escalated."""

    __tablename__ = "urgent_lead_step"

    lead_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("urgent_lead.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    step: Mapped[str] = mapped_column(String(24))
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agency.id"))
    detail: Mapped[str] = mapped_column(String(1000), default="")


class Handover(Base, UUIDPk):
    """What the outgoing desk leaves the incoming one at the end of its shift: the open leads,
    the pending preservations with their expiry, and notes. Each handover's `digest` covers its
    content and the previous handover's digest, so the chain shows any later edit.
    `check_at` is when an unacknowledged handover escalates (and the worker's lease)."""

    __tablename__ = "watch_handover"

    from_desk_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("duty_desk.id"), index=True)
    to_desk_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("duty_desk.id"), index=True)
    shift_ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    written_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    written_by: Mapped[str] = mapped_column(String(320))
    open_leads: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    pending_preservations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    previous_digest: Mapped[str] = mapped_column(String(64), default="")
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    ack_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    check_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str] = mapped_column(String(320), default="")
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Drill(Base, UUIDPk):
    """An unannounced reachability drill: the desk is alerted at a moment chosen at random in
    [window_start, window_end) and acknowledges from the alert's link (a secret kept hashed).
    `check_at` is when the worker must send it, then when it stops waiting (and the lease)."""

    __tablename__ = "watch_drill"

    desk_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("duty_desk.id"), index=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    send_at: Mapped[datetime] = mapped_column(UTCDateTime())  # never shown to the desk
    check_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str] = mapped_column(String(320), default="")
    gave_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # never acknowledged
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
