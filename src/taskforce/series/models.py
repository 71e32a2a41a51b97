"""Series of abuse material, the victims in them, and proposed groupings of new material.

A series is a group of media (by hash only) that show the same victim(s) or scene. Its media
and victims follow the series' sharing level like a case. One fact travels further: whether a
series' victim is identified and which agency to contact (`Series.status_public`), because
that stops another agency from spending weeks on a child already safe.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, Timestamps, UTCDateTime, UUIDPk, utcnow
from taskforce.core.sharing import Shareable


class AgeBand:
    """Estimated age of a victim, as the specialist judges it from the material."""

    BANDS = ("0-2", "3-5", "6-8", "9-11", "12-14", "15-17", "unknown")


class VictimStatus:
    UNIDENTIFIED = "unidentified"
    IDENTIFIED = "identified"
    SAFEGUARDED = "safeguarded"  # identified and removed from harm
    ALL = (UNIDENTIFIED, IDENTIFIED, SAFEGUARDED)


class Series(Base, UUIDPk, Timestamps, Shareable):
    __tablename__ = "series"
    __table_args__ = (UniqueConstraint("owner_agency_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))  # the owner's label, e.g. "Blue Room"
    description: Mapped[str] = mapped_column(Text, default="")
    first_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # first sighting
    # "Identified: contact agency X" is shown network-wide unless the owner turns it off.
    status_public: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))


class SeriesMedia(Base):
    """One file of a series, by its hashes only (never the file)."""

    __tablename__ = "series_media"
    __table_args__ = (UniqueConstraint("series_id", "media_key"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    series_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), index=True
    )
    media_key: Mapped[str] = mapped_column(String(64))  # digest of the canonical hashes
    md5: Mapped[str | None] = mapped_column(String(32), index=True)
    sha1: Mapped[str | None] = mapped_column(String(40), index=True)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    pdq: Mapped[str | None] = mapped_column(String(64))
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(300), default="")  # triage run, hash set, manual
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    added_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))


class Victim(Base, UUIDPk, Timestamps):
    """A child seen in a series: minimal data, no name. Details stay with the series' owner
    (and whoever the series is shared with); identification is also recorded for the network."""

    __tablename__ = "victim"
    __table_args__ = (UniqueConstraint("series_id", "label"),)

    series_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(100))  # internal label, e.g. "V1"
    age_band: Mapped[str] = mapped_column(String(8), default="unknown")
    sex: Mapped[str] = mapped_column(String(8), default="unknown")  # female | male | unknown
    status: Mapped[str] = mapped_column(String(16), default=VictimStatus.UNIDENTIFIED, index=True)
    identified_by_agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agency.id"))
    identified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    identified_country: Mapped[str | None] = mapped_column(String(2))  # ISO 3166 alpha-2
    notes: Mapped[str] = mapped_column(Text, default="")


class SeriesProposal(Base, UUIDPk, Timestamps):
    """A group of a case's new images that likely belong together, with the evidence for it,
    waiting for a specialist to accept (into a series), split or reject it."""

    __tablename__ = "series_proposal"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="proposed", index=True)
    members: Mapped[list[int]] = mapped_column(JSON, default=list)  # triage_result ids
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    score: Mapped[float] = mapped_column(default=0.0)
    series_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("series.id", ondelete="SET NULL")
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("series_proposal.id", ondelete="SET NULL")
    )  # a proposal made by splitting another
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
