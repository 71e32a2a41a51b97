"""Member agencies, their 24/7 contact points and standing partnerships."""

from __future__ import annotations

import uuid

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, Origin, Timestamps, UUIDPk


class Agency(Base, UUIDPk, Timestamps, Origin):
    __tablename__ = "agency"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2), index=True)  # ISO 3166-1 alpha-2
    timezone: Mapped[str] = mapped_column(String(64))  # IANA
    contact_desk: Mapped[str] = mapped_column(String(200))
    contact_phone: Mapped[str] = mapped_column(String(32))  # E.164
    contact_email: Mapped[str] = mapped_column(String(320))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # law_enforcement | hotline | coordinator: who receives which public reports (routing)
    kind: Mapped[str] = mapped_column(String(24), default="law_enforcement", index=True)
    # Legal profile. True: the law of the agency's country wants its police told of every
    # takedown notice this agency sends to a host (a hotline's reports reach the police too).
    notice_copy_to_police: Mapped[bool] = mapped_column(Boolean, default=False)
    # Hours a host has to remove confirmed material before the notice escalates; None: the
    # hub's default (`takedown_deadline_hours`).
    takedown_deadline_hours: Mapped[int | None] = mapped_column(Integer)


class Partnership(Base):
    """A standing partnership; stored once per pair with the smaller id first."""

    __tablename__ = "agency_partnership"
    __table_args__ = (CheckConstraint("agency_a_id < agency_b_id", name="ordered_pair"),)

    agency_a_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agency.id", ondelete="CASCADE"), primary_key=True
    )
    agency_b_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agency.id", ondelete="CASCADE"), primary_key=True
    )
