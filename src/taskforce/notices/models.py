"""Clue notices: a specialist asks member countries where an object or a scene of a series
comes from; agencies answer per clue, and the public may say where they have seen an object.

A notice belongs to the agency that owns its series. It reaches the member agencies in its
target countries (the countries of the regions it names), or every member when it names none;
who may read it is decided from those countries when it is read.
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
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, Timestamps, UTCDateTime, UUIDPk, utcnow


class ClueNotice(Base, UUIDPk, Timestamps):
    __tablename__ = "clue_notice"

    reference: Mapped[str] = mapped_column(String(64), unique=True)  # GB-NCA-CN-2026-0001
    series_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), index=True
    )
    owner_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    request: Mapped[str] = mapped_column(Text, default="")  # what the specialist asks
    targets: Mapped[list[str]] = mapped_column(JSON, default=list)  # as chosen; [] = all
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(16))  # identified | withdrawn
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    outcome_country: Mapped[str | None] = mapped_column(String(2))
    victim_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("victim.id", ondelete="SET NULL")
    )
    # The public "trace an object" page: an unguessable token while published, else None.
    public_token: Mapped[str | None] = mapped_column(String(64), unique=True)


class NoticeTarget(Base):
    """One country a notice reaches (none at all: every member agency)."""

    __tablename__ = "clue_notice_target"

    notice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clue_notice.id", ondelete="CASCADE"), primary_key=True
    )
    country: Mapped[str] = mapped_column(String(2), primary_key=True, index=True)


class Clue(Base, UUIDPk):
    __tablename__ = "clue"
    __table_args__ = (UniqueConstraint("notice_id", "number"),)

    notice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clue_notice.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... within the notice
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ClueImage(Base, UUIDPk):
    """A sanitised picture of an object or background: re-encoded, no metadata, attested."""

    __tablename__ = "clue_image"

    clue_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clue.id", ondelete="CASCADE"), index=True
    )
    content: Mapped[bytes] = mapped_column(LargeBinary)
    media_type: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    original_sha256: Mapped[str] = mapped_column(String(64))
    byte_size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    removed: Mapped[list[str]] = mapped_column(JSON, default=list)  # metadata stripped
    attested_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    attested_by_label: Mapped[str] = mapped_column(String(320))
    attested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attestation: Mapped[str] = mapped_column(Text)  # the exact text the uploader attested
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    public_caption: Mapped[str] = mapped_column(Text, default="")


class ClueAnswer(Base, UUIDPk):
    """An agency's answer to one clue: the countries it points to, and how sure it is."""

    __tablename__ = "clue_answer"

    notice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clue_notice.id", ondelete="CASCADE"), index=True
    )
    clue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clue.id", ondelete="CASCADE"))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    actor_label: Mapped[str] = mapped_column(String(320))
    countries: Mapped[list[str]] = mapped_column(JSON, default=list)  # ISO alpha-2
    confidence: Mapped[str] = mapped_column(String(8))  # low | medium | high
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PublicTip(Base, UUIDPk):
    """What a member of the public said about a published object. Nothing about the tipster
    is kept (no address, no browser) except a contact they chose to give."""

    __tablename__ = "clue_tip"

    notice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clue_notice.id", ondelete="CASCADE"), index=True
    )
    image_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clue_image.id", ondelete="SET NULL")
    )
    seen_where: Mapped[str] = mapped_column(String(500))
    country: Mapped[str | None] = mapped_column(String(2))
    message: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str | None] = mapped_column(String(200))  # only if volunteered
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class TipThrottle(Base):
    """One accepted tip per row, by a keyed hash of the sender's address; rows older than the
    limit's window are deleted, so the hash is not kept beyond it (and the address never)."""

    __tablename__ = "clue_tip_throttle"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    key_hash: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class NoticeEvent(Base, UUIDPk):
    """One line of a notice's timeline: created, clue or image added, answered, tip received,
    published, withdrawn, closed."""

    __tablename__ = "clue_notice_event"

    notice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clue_notice.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agency.id"))
    actor_label: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class NoticeNotification(Base, UUIDPk):
    """An entry in an agency's notice inbox (a new notice for it, an answer or tip on its own
    notice, the closure of a notice it answered)."""

    __tablename__ = "clue_notice_notification"

    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    notice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clue_notice.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # new | answer | tip | closed
    message: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
