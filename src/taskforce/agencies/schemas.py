from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class AgencyKind(StrEnum):
    """What a member is, for routing public reports: a hotline takes reports of its country
    first, law enforcement when the country has no hotline (and always urgent leads), the
    network coordinator what no member country takes and what nobody acknowledged."""

    LAW_ENFORCEMENT = "law_enforcement"
    HOTLINE = "hotline"
    COORDINATOR = "coordinator"


KIND_LABELS: dict[str, str] = {
    AgencyKind.LAW_ENFORCEMENT: "law enforcement",
    AgencyKind.HOTLINE: "hotline",
    AgencyKind.COORDINATOR: "network coordinator",
}


class ContactPoint(BaseModel):
    """How to reach an agency around the clock."""

    model_config = ConfigDict(from_attributes=True)

    desk: str
    phone: str
    email: str


class AgencyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=2, max_length=32, examples=["GB-NCA"])
    name: str = Field(min_length=2, max_length=200)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    timezone: str = Field(min_length=1, max_length=64, description="IANA time zone")
    contact_desk: str = Field(min_length=2, max_length=200)
    contact_phone: str = Field(min_length=3, max_length=40, description="E.164, e.g. +442079460000")
    contact_email: str = Field(min_length=3, max_length=320)
    webhook_url: str | None = Field(default=None, max_length=500)
    kind: AgencyKind = AgencyKind.LAW_ENFORCEMENT
    notice_copy_to_police: bool = Field(
        default=False,
        description="The country's law wants its police told of every takedown notice this "
        "agency sends",
    )
    takedown_deadline_hours: int | None = Field(
        default=None, ge=1, le=24 * 90, description="Hours a host has to remove; default: hub's"
    )


class AgencyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=2, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    contact_desk: str | None = Field(default=None, min_length=2, max_length=200)
    contact_phone: str | None = Field(default=None, max_length=40)
    contact_email: str | None = Field(default=None, max_length=320)
    webhook_url: str | None = Field(default=None, max_length=500)
    is_active: bool | None = None
    kind: AgencyKind | None = None
    notice_copy_to_police: bool | None = None
    takedown_deadline_hours: int | None = Field(default=None, ge=1, le=24 * 90)


class AgencyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str
    country: str
    timezone: str
    contact: ContactPoint
    is_active: bool
    kind: AgencyKind
    notice_copy_to_police: bool
    takedown_deadline_hours: int | None
    partners: list[str] = Field(default_factory=list)
