"""What the block list's API takes and gives."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class EntryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=4096, description="normalised before it is stored")
    match: Literal["exact", "prefix"] = "exact"
    category: str = Field(default="", max_length=40)
    reason: str = Field(default="", max_length=1000)
    source: str = Field(default="", max_length=200, description="e.g. the report id")


class EntryRemove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="content gone", max_length=1000)


class EntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    key: str
    match: str
    category: str
    reason: str
    source: str
    added_version: int
    added_at: datetime
    removed_version: int | None
    removed_at: datetime | None


class EntrySummary(EntryRead):
    """One row of the analysts' table: the entry with its agency's code and removal reason."""

    agency_code: str | None
    removed_reason: str


class EntryPage(BaseModel):
    items: list[EntrySummary]
    total: int  # entries matching the search and state, over all pages
    limit: int
    offset: int


class ListSummary(BaseModel):
    version: int  # the current version: the number of changes so far
    changed_at: datetime | None  # when that version was taken
    active: int
    removed: int


class PublicKeyRead(BaseModel):
    algorithm: Literal["Ed25519"] = "Ed25519"
    public_key: str
    key_id: str
