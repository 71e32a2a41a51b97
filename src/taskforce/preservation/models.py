"""Preservation requests and their history.

A 24/7 desk asks a provider to keep an account's data until a formal request (MLA, production
order) arrives. The identifiers asked about are also selectors of a RED case of the requesting
agency, so another agency asking about the same account learns of the overlap the usual way.
`check_at` is when the reminder job must look at the request next (a reminder before expiry,
or expiry itself), and the lease a worker takes while it does; NULL once nothing is left.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, Timestamps, UTCDateTime, UUIDPk, utcnow


class PreservationRequest(Base, UUIDPk, Timestamps):
    __tablename__ = "preservation_request"

    reference: Mapped[str] = mapped_column(String(32), unique=True)  # "PR-NL-2026-0001"
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("case_file.id", ondelete="SET NULL"), index=True
    )
    requesting_country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    provider: Mapped[str] = mapped_column(String(200))
    provider_country: Mapped[str | None] = mapped_column(String(2))
    provider_reference: Mapped[str] = mapped_column(String(100), default="")
    # [{"type": selector type, "value": as entered}]; normalised copies live on the case
    identifiers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    legal_basis: Mapped[str] = mapped_column(String(32))  # schemas.LegalBasis
    status: Mapped[str] = mapped_column(String(16), index=True)  # schemas.PreservationStatus
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # once, at most
    followed_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    formal_reference: Mapped[str] = mapped_column(String(100), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    check_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))


class PreservationEvent(Base, UUIDPk):
    """One timestamped step: recorded, confirmed, extended, reminded, expired, followed up."""

    __tablename__ = "preservation_event"

    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("preservation_request.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(320), default="")
    detail: Mapped[str] = mapped_column(String(1000), default="")
