"""People, their API tokens, web sessions and login attempts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from taskforce.core.db import Base, Timestamps, UTCDateTime, UUIDPk, utcnow

if TYPE_CHECKING:
    from taskforce.agencies.models import Agency


class User(Base, UUIDPk, Timestamps):
    __tablename__ = "user_account"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    agency: Mapped[Agency] = relationship("Agency", lazy="raise")


class ApiToken(Base, UUIDPk):
    """A bearer token for scripts. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_token"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebSession(Base, UUIDPk):
    """A login in the browser; the cookie carries only a signed reference to this row."""

    __tablename__ = "web_session"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginAttempt(Base, UUIDPk):
    """Kept to rate-limit password guessing per account and per address."""

    __tablename__ = "login_attempt"

    email: Mapped[str] = mapped_column(String(320), index=True)
    ip: Mapped[str | None] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    failures_before: Mapped[int] = mapped_column(Integer, default=0)
