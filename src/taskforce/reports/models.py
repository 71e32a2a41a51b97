"""Reports from the public: a URL showing suspected abuse material, a grooming conversation,
or a child in immediate danger. Nothing about the reporter is kept except what they write, the
country and language they chose, and a hash of the receipt code they were shown once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, UTCDateTime, UUIDPk, utcnow


class Report(Base, UUIDPk):
    """One public report; `details` holds the kind's fields, each length-limited by the schema."""

    __tablename__ = "public_report"
    # the observatory's month by hosting country, read from the index alone (migration 0021)
    __table_args__ = (
        Index(
            "ix_public_report_observatory",
            "kind",
            "duplicate_of_id",
            "created_at",
            "hosting_country",
            "id",
        ),
    )

    kind: Mapped[str] = mapped_column(String(16))  # url | grooming | danger | block_mistake
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    country: Mapped[str | None] = mapped_column(String(2))  # the reporter's, ISO alpha-2
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    receipt_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the code
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # URL reports: the block list's normal form of the URL (hashed, for duplicates), its host
    # (resolved for routing) and registrable domain (public suffix list: "same domain")
    url_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    host: Mapped[str | None] = mapped_column(String(253))
    domain: Mapped[str | None] = mapped_column(String(253), index=True)
    duplicate_of_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("public_report.id", ondelete="SET NULL"), index=True
    )
    # Routing: whose queue the report is in, and where the URL is hosted. `route_due_at` is
    # when a worker should (re)try routing, and its lease while it does; NULL once routed.
    receiving_agency_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agency.id"), index=True
    )
    route_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    route_attempts: Mapped[int] = mapped_column(Integer, default=0)
    routed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hosting_ip: Mapped[str | None] = mapped_column(String(45))
    hosting_country: Mapped[str | None] = mapped_column(String(2))
    hosting_provider_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("hosting_provider.id", ondelete="SET NULL")
    )
    # When the report's arrival went into the audit chain: the worker logs arrivals in
    # batches (`reports.service.log_arrivals`), so the public form never waits on the chain's lock.
    logged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class ReportAddition(Base, UUIDPk):
    """More information the reporter added later with their receipt code."""

    __tablename__ = "public_report_addition"

    report_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("public_report.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class ReportThrottle(Base):
    """One accepted submission (or failed receipt attempt) per row, by a keyed hash of the
    sender's address; rows older than the window are deleted, the address is never stored."""

    __tablename__ = "public_report_throttle"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    key_hash: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class ReportAssessment(Base, UUIDPk):
    """A hotline analyst's verdict on a report; the latest one is the report's assessment."""

    __tablename__ = "public_report_assessment"
    # a report's latest verdict by one index seek (the observatory's confirmed counts)
    __table_args__ = (
        Index("ix_public_report_assessment_latest", "report_id", "created_at", "assessment"),
    )

    report_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("public_report.id", ondelete="CASCADE"), index=True
    )
    # illegal_material | illegal_elsewhere | harmful_legal | not_illegal | duplicate
    assessment: Mapped[str] = mapped_column(String(24))
    category: Mapped[str | None] = mapped_column(String(32))  # taskforce scheme code
    note: Mapped[str] = mapped_column(Text, default="")
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agency.id"))
    user_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RoutingStep(Base, UUIDPk):
    """One step of routing a report, in plain words with its data, so an analyst sees why the
    report went where it went: resolved, located, matched a network, routed, re-routed."""

    __tablename__ = "public_report_routing_step"

    report_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("public_report.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    step: Mapped[str] = mapped_column(String(24))  # resolve|locate|network|route|fallback|manual
    outcome: Mapped[str] = mapped_column(String(1000))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class HotlineCase(Base):
    """The case that holds the selectors of an agency's confirmed public reports, so
    deconfliction links them to other agencies' investigations."""

    __tablename__ = "hotline_case"

    agency_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agency.id", ondelete="CASCADE"), primary_key=True
    )
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="CASCADE"), unique=True
    )
