"""What nodes send each other (`/federation/v1/*`) and what the admin pages and API read."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Hello(BaseModel):
    """`GET /federation/v1/hello`: who answers, and whom it recognised."""

    node_id: uuid.UUID
    name: str
    country: str
    time: datetime
    peer: uuid.UUID  # the caller, as this node knows it


class DirectoryAgency(BaseModel):
    """An agency as every member already sees it: its 24/7 contact point and partners."""

    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    country: str = Field(min_length=2, max_length=2)
    kind: str = Field(max_length=24)
    timezone: str = Field(max_length=64)
    contact_desk: str = Field(max_length=200)
    contact_phone: str = Field(max_length=32)
    contact_email: str = Field(max_length=320)
    partners: list[str] = Field(default_factory=list, max_length=1000)


class Directory(BaseModel):
    """`GET /federation/v1/directory`: this node's active agencies."""

    node_id: uuid.UUID
    agencies: list[DirectoryAgency] = Field(max_length=10_000)


class PeerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    country: str
    url: str
    fingerprint: str
    state: str
    created_at: datetime
    removed_at: datetime | None
    last_contact_at: datetime | None
    last_error: str | None
    directory_synced_at: datetime | None
