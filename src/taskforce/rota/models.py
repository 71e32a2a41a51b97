"""The rota as the coordinator writes it; shifts are computed from it (`engine`), never stored.

The model is GoAlert's: rules (a clock window on chosen weekdays, in a time zone) give a desk
or a rotation the duty; a rotation hands the duty from one desk to the next every N hours,
days, weeks or months; temporary schedules replace the rules for a window (an operation);
overrides add, remove or replace a desk for a window (a swap, a sick day). A desk's public
holidays (`holidays`, with its subdivision) and its own unavailability take it off duty; an
override is the coordinator's explicit decision and is applied last.

Local clock times are kept as "HH:MM" with the zone they are read in; instants are UTC.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, Timestamps, UTCDateTime, UUIDPk, utcnow


class DutyDesk(Base, UUIDPk, Timestamps):
    """A member agency's 24/7 desk and what it declares it can do."""

    __tablename__ = "duty_desk"

    agency_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agency.id", ondelete="CASCADE"), unique=True
    )
    time_zone: Mapped[str] = mapped_column(String(64))  # IANA; the desk's own clock
    subdivision: Mapped[str | None] = mapped_column(String(8))  # `holidays` subdivision ("BY")
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)  # ISO 639-1, lower case
    powers: Mapped[list[str]] = mapped_column(JSON, default=list)  # schemas.Power values
    # Hours of reliable cover in the desk's zone: [{"weekdays": [0..6], "start": "HH:MM",
    # "end": "HH:MM"}] (Monday 0); a rule outside them is shown as a warning, not refused.
    reliable_hours: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    observes_holidays: Mapped[bool] = mapped_column(Boolean, default=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The desk's iCal feed: sha256 of the secret in its URL; None: no feed (or revoked).
    feed_secret_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    feed_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DeskUnavailability(Base, UUIDPk):
    """A window in which a desk cannot take the duty (declared, or imported from its iCal)."""

    __tablename__ = "duty_desk_unavailability"
    __table_args__ = (CheckConstraint("starts_at < ends_at", name="positive_length"),)

    desk_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("duty_desk.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(8), default="desk")  # desk | ical
    ical_uid: Mapped[str | None] = mapped_column(String(255))  # re-import replaces, not adds
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Rotation(Base, UUIDPk, Timestamps):
    """Desks taking the duty in turn: each holds it `shift_length` hours/days/weeks/months
    (`kind`), counted in `time_zone` from `starts_at`, in `position` order."""

    __tablename__ = "rota_rotation"
    __table_args__ = (CheckConstraint("shift_length >= 1", name="shift_length_positive"),)

    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[str] = mapped_column(String(8))  # hourly | daily | weekly | monthly
    shift_length: Mapped[int] = mapped_column(Integer, default=1)
    time_zone: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the first handoff


class RotationMember(Base, UUIDPk):
    __tablename__ = "rota_rotation_member"
    __table_args__ = (UniqueConstraint("rotation_id", "position"),)

    rotation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("rota_rotation.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    desk_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("duty_desk.id", ondelete="CASCADE"))


class RotaRule(Base, UUIDPk, Timestamps):
    """On `weekdays`, from `start` to `end` on the clock of `time_zone`, the target holds the
    duty. `end` before `start` runs past midnight; `end` "24:00" is the end of the day."""

    __tablename__ = "rota_rule"
    __table_args__ = (
        CheckConstraint("(desk_id IS NULL) <> (rotation_id IS NULL)", name="one_target"),
    )

    desk_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("duty_desk.id", ondelete="CASCADE"), index=True
    )
    rotation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("rota_rotation.id", ondelete="CASCADE"), index=True
    )
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=list)  # 0 Monday … 6 Sunday
    start: Mapped[str] = mapped_column(String(5))  # "HH:MM"
    end: Mapped[str] = mapped_column(String(5))  # "HH:MM" or "24:00"
    time_zone: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(100), default="")


class RotaOverride(Base, UUIDPk):
    """For [starts_at, ends_at): add a desk, remove one, or both (replace one with another)."""

    __tablename__ = "rota_override"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="positive_length"),
        CheckConstraint(
            "add_desk_id IS NOT NULL OR remove_desk_id IS NOT NULL", name="adds_or_removes"
        ),
    )

    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    add_desk_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("duty_desk.id", ondelete="CASCADE")
    )
    remove_desk_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("duty_desk.id", ondelete="CASCADE")
    )
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TemporarySchedule(Base, UUIDPk):
    """For [starts_at, ends_at) its shifts replace every rule (an operation's own cover);
    overrides, holidays and unavailability still apply."""

    __tablename__ = "rota_temporary_schedule"
    __table_args__ = (CheckConstraint("starts_at < ends_at", name="positive_length"),)

    name: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TemporaryShift(Base, UUIDPk):
    __tablename__ = "rota_temporary_shift"
    __table_args__ = (CheckConstraint("starts_at < ends_at", name="positive_length"),)

    schedule_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("rota_temporary_schedule.id", ondelete="CASCADE"), index=True
    )
    desk_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("duty_desk.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CoverageRequirement(Base, UUIDPk):
    """What must be covered at every instant: a desk on duty with `power` (any, if None) that
    works in `language` (any, if None). The gap finder checks each."""

    __tablename__ = "rota_requirement"
    __table_args__ = (UniqueConstraint("power", "language"),)

    name: Mapped[str] = mapped_column(String(100))
    power: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class KnownGap(Base, UUIDPk):
    """A gap the coordinator was told of, so a change tells them only of gaps it creates."""

    __tablename__ = "rota_known_gap"

    requirement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("rota_requirement.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    found_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    notes: Mapped[str] = mapped_column(Text, default="")
