"""What the takedown API takes and gives."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RecipientSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320, description="the host's abuse contact")


class Withdraw(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class NoticeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    reference: str
    report_id: uuid.UUID | None
    url: str
    host: str
    category: str | None
    hosting_ip: str | None
    hosting_country: str | None
    provider_id: uuid.UUID | None
    recipient: str | None
    status: Literal["open", "removed", "withdrawn"]
    created_at: datetime
    deadline_at: datetime
    escalated_at: datetime | None
    sends: int
    last_sent_at: datetime | None
    checks: int
    last_checked_at: datetime | None
    last_outcome: str | None
    next_check_at: datetime | None
    removed_at: datetime | None
    closed_reason: str


class CheckRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    outcome: str
    status_code: int | None
    ip: str | None
    final_url: str
    content_type: str | None
    detail: str
    elapsed_ms: int


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    kind: str
    detail: str


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    channel: str
    recipient: str
    subject: str
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None


class NoticeDetail(NoticeRead):
    provider: str | None
    events: list[EventRead]
    checks_done: list[CheckRead]
    messages: list[MessageRead]


class RemovalRowRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    label: str
    notices: int
    removed: int
    still_online: int
    median_hours: float | None
    p90_hours: float | None
    within_24h: float | None
    within_72h: float | None


class RemovalStatistics(BaseModel):
    by: Literal["country", "provider"]
    since: datetime | None
    rows: list[RemovalRowRead]
    total: RemovalRowRead
