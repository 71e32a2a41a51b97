"""Triage runs recorded against a case, and one row per file of each run.

A run is the record of one `taskforce triage --case` report folder: resuming the same folder
continues the same run, so a file's row is written once (unique per run by a digest of its
path). Only counts that do not depend on who reads them are kept on the run; what a match
says of a hash set (its name, category, series, victim) is disclosed per reader at read time.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, UTCDateTime, UUIDPk, utcnow


class TriageRun(Base, UUIDPk):
    __tablename__ = "triage_run"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="CASCADE"), index=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    actor_label: Mapped[str] = mapped_column(String(320))
    channel: Mapped[str] = mapped_column(String(16))
    tool: Mapped[str] = mapped_column(String(300), default="")  # program, version and host
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    report_dir: Mapped[str] = mapped_column(Text)
    files_total: Mapped[int] = mapped_column(Integer, default=0)
    files_hashed: Mapped[int] = mapped_column(Integer, default=0)
    matched_exact: Mapped[int] = mapped_column(Integer, default=0)
    matched_perceptual: Mapped[int] = mapped_column(Integer, default=0)
    new_images: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    selectors_added: Mapped[int | None] = mapped_column(Integer)


class TriageResult(Base):
    """One file of a run, as the report's results.csv has it (category split in two)."""

    __tablename__ = "triage_result"
    __table_args__ = (
        UniqueConstraint("run_id", "path_key"),
        Index("ix_triage_result_run_id_match_type", "run_id", "match_type"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("triage_run.id", ondelete="CASCADE"))
    path_key: Mapped[str] = mapped_column(String(64))  # SHA-256 of the path: paths are long
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int | None] = mapped_column(BigInteger)
    media_type: Mapped[str | None] = mapped_column(String(100))
    md5: Mapped[str | None] = mapped_column(String(32))
    sha1: Mapped[str | None] = mapped_column(String(40))
    sha256: Mapped[str | None] = mapped_column(String(64))
    pdq: Mapped[str | None] = mapped_column(String(64))
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
    match_type: Mapped[str] = mapped_column(String(16))  # exact | perceptual | none
    distance: Mapped[int | None] = mapped_column(Integer)  # videos: median over matched frames
    video_share: Mapped[float | None] = mapped_column(Float)  # videos: share of frames known
    hash_set_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("hash_set.id", ondelete="SET NULL")
    )
    hash_set: Mapped[str | None] = mapped_column(String(120))
    category_scheme: Mapped[str | None] = mapped_column(String(24))
    category_code: Mapped[str | None] = mapped_column(String(24))
    series: Mapped[str | None] = mapped_column(String(200))
    victim_identified: Mapped[bool | None] = mapped_column(Boolean)
    camera_make: Mapped[str | None] = mapped_column(String(200))
    camera_model: Mapped[str | None] = mapped_column(String(200))
    camera_serial: Mapped[str | None] = mapped_column(String(200))
    taken_at: Mapped[str | None] = mapped_column(String(200))  # EXIF text, as written
    gps_lat: Mapped[float | None] = mapped_column(Float)
    gps_lon: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
