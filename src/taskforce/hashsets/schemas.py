"""Hash sets as the API and CLI show them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from taskforce.cases.schemas import LineError
from taskforce.core.identification import IdentificationStatus
from taskforce.core.sharing import SharingLevel


class HashSetCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=1000)
    source: str = Field(default="", max_length=200)
    sharing: SharingLevel = SharingLevel.RED
    partners: list[str] = Field(default_factory=list, description="agency codes (AMBER)")


class HashSetUpdate(BaseModel):
    """A PATCH of one of the agency's own sets: any of its fields, each changed on its own."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(
        default=None, min_length=1, max_length=120, description="new name, unique in the agency"
    )
    not_for_export: bool | None = Field(
        default=None,
        description="the owner's mark: a GREEN set that never leaves the hub (STIX, MISP, TAXII)",
    )


class HashSetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    agency: str
    description: str
    source: str
    sharing: SharingLevel
    entry_count: int
    not_for_export: bool = False
    created_at: datetime
    updated_at: datetime


class ImportReport(BaseModel):
    hash_set: str
    format: str
    lines_read: int
    added: int
    already_present: int
    rejected: list[LineError]


class MatchQuery(BaseModel):
    """One file's hashes, computed elsewhere; any of them."""

    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    vpdq: list[str] | None = Field(
        default=None,
        max_length=100_000,
        description="a video's frames, ThreatExchange's compact vPDQ: \"pdq_hex,quality,seconds\"",
    )


class MatchRequest(BaseModel):
    hashes: list[MatchQuery] = Field(min_length=1, max_length=10_000)
    hash_sets: list[str] = Field(default_factory=list, description="names; default: all visible")
    pdq_threshold: int | None = Field(default=None, ge=0, le=64)


class MatchHit(BaseModel):
    hash_set: str
    agency: str
    match_type: str  # exact | perceptual | video
    distance: int = Field(description="PDQ bits apart; videos: median over matched frames")
    query_share: float | None = Field(
        default=None, description="videos: share of the query's usable frames that match"
    )
    known_share: float | None = Field(
        default=None, description="videos: share of the known video's frames matched"
    )
    identification: list[IdentificationStatus] = Field(
        default_factory=list,
        description="series the file belongs to: whether their victims are identified, by whom",
    )
    category: str | None
    category_label: str | None
    series: str | None
    victim_identified: bool


class MatchResult(BaseModel):
    index: int
    matches: list[MatchHit]
