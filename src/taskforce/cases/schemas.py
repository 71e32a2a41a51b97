"""What the cases API takes and returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from taskforce.core.sharing import SharingLevel

OFFENCE_TYPES = (
    "possession",
    "distribution",
    "production",
    "grooming",
    "sextortion",
    "live_streaming",
    "trafficking",
    "commercial_exploitation",
    "travelling_offender",
    "other",
)


def export_standing(sharing: str, not_for_export: bool) -> str:
    """Whether a case's or hash set's rows may leave the hub, in the words the pages and the
    console use (the rule itself is interop/releasable.py's)."""
    if sharing != SharingLevel.GREEN:
        mark = "marked not for export; " if not_for_export else ""
        return f"{mark}never exported while {sharing.upper()}"
    return "not for export" if not_for_export else "may leave the hub as TLP:GREEN"


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Assessment(StrEnum):
    SAME_INVESTIGATION = "same_investigation"
    RELATED = "related"
    COINCIDENTAL = "coincidental"


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=3, max_length=200)
    summary: str = Field(default="", max_length=20_000)
    offence_types: list[str] = Field(default_factory=list, max_length=10)
    sharing: SharingLevel = SharingLevel.RED
    partners: list[str] = Field(
        default_factory=list, max_length=100, description="Agency codes named on an AMBER case"
    )
    lead_investigator: str | None = Field(
        default=None, max_length=320, description="E-mail of a user of the same agency"
    )


class CaseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=3, max_length=200)
    summary: str | None = Field(default=None, max_length=20_000)
    offence_types: list[str] | None = Field(default=None, max_length=10)
    sharing: SharingLevel | None = None
    partners: list[str] | None = Field(default=None, max_length=100)
    lead_investigator: str | None = Field(default=None, max_length=320)
    not_for_export: bool | None = Field(
        default=None,
        description="the owner's mark: a GREEN case that never leaves the hub (STIX, MISP, TAXII)",
    )


class CaseClose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        default="", max_length=1000, description="why; required while hits are unacknowledged"
    )


class CaseSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    reference: str
    title: str
    status: CaseStatus
    sharing: SharingLevel
    agency: str
    created_at: datetime
    updated_at: datetime
    selector_count: int = 0
    open_hits: int = 0


class CaseRead(CaseSummary):
    summary: str
    offence_types: list[str]
    partners: list[str]
    lead_investigator: str | None
    closed_at: datetime | None
    is_owner: bool
    not_for_export: bool = False


class CaseEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor_label: str
    action: str
    changes: dict[str, Any]


class SelectorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=32)
    value: str = Field(min_length=1, max_length=2048)
    platform: str | None = Field(default=None, max_length=100)
    observed_at: datetime | None = None
    note: str = Field(default="", max_length=500)


class SelectorRead(BaseModel):
    id: uuid.UUID
    type: str
    value: str
    normalized: str
    platform: str | None
    observed_at: datetime | None
    note: str
    added_at: datetime
    status: Literal["active", "noise", "common"]
    status_reason: str | None


class ContactPointRead(BaseModel):
    desk: str
    phone: str
    email: str
    timezone: str


class OtherSide(BaseModel):
    """What the caller may learn of the other case: all of it, or only whom to call."""

    disclosure: Literal["full", "blind"]
    selector_type: str
    case_id: uuid.UUID | None = None
    reference: str | None = None
    title: str | None = None
    agency: str | None = None
    agency_name: str | None = None
    node: str | None = None  # a cross-node hit: the other node's name
    contact: ContactPointRead


class HitRead(BaseModel):
    id: uuid.UUID
    type: str
    distance: int
    created_at: datetime
    case_id: uuid.UUID
    case_reference: str
    case_title: str
    selector_value: str
    other: OtherSide
    acknowledged_at: datetime | None
    assessment: Assessment | None
    withdrawn_at: datetime | None = None  # a cross-node hit whose entry the other node withdrew


class SelectorAdded(BaseModel):
    selector: SelectorRead
    normalized: str
    created: bool
    hits: list[HitRead]


class HitAssess(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assessment: Assessment | None = None


class SearchMatch(BaseModel):
    case_id: uuid.UUID
    reference: str
    title: str
    agency: str
    sharing: SharingLevel
    status: CaseStatus
    selector_value: str
    distance: int
    observed_at: datetime | None


class SearchResult(BaseModel):
    type: str
    normalized: str
    purpose: str
    matches: list[SearchMatch]


class LineError(BaseModel):
    line: int
    field: str
    rule: str
    value: str


class BulkReport(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[LineError]
    hits: int


class NotificationRead(BaseModel):
    id: uuid.UUID
    hit_id: uuid.UUID
    case_id: uuid.UUID
    case_reference: str
    selector_type: str
    created_at: datetime
    read_at: datetime | None


class NoiseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=32)
    pattern: str = Field(min_length=1, max_length=2048)
    reason: str = Field(min_length=3, max_length=200)


class NoiseRead(BaseModel):
    id: uuid.UUID | None
    type: str
    pattern: str
    reason: str
    builtin: bool
