"""What the series API takes and gives: series, their media (hashes) and victims."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from taskforce.core.sharing import SharingLevel


class SeriesCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=200, description="the agency's label")
    description: str = Field(default="", max_length=20_000)
    sharing: SharingLevel = SharingLevel.RED
    partners: list[str] = Field(default_factory=list, max_length=100)
    first_seen_at: datetime | None = Field(default=None, description="first sighting")
    status_public: bool = Field(
        default=True,
        description="tell every member whether the victims are identified and whom to contact",
    )


class MediaHashes(BaseModel):
    """One file of a series by its hashes (any of them)."""

    model_config = ConfigDict(extra="forbid")

    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = Field(default=None, ge=0, le=100)


class MediaAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    media: list[MediaHashes] = Field(default_factory=list, max_length=100_000)
    triage_results: list[int] = Field(
        default_factory=list, max_length=100_000, description="ids of a case's triage results"
    )
    hash_set: str | None = Field(
        default=None, description="name of a visible hash set: its entries of this `series`"
    )
    hash_set_series: str | None = Field(default=None, max_length=200)
    source: str = Field(default="", max_length=300)


class MediaAdded(BaseModel):
    added: int
    already_present: int


class VictimCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=100, description="internal label, never a name")
    age_band: str = "unknown"
    sex: str = "unknown"
    notes: str = Field(default="", max_length=5_000)


class VictimIdentify(BaseModel):
    """Marks a victim identified (or safeguarded): by the caller's agency unless named."""

    model_config = ConfigDict(extra="forbid")

    status: str = "identified"
    country: str = Field(min_length=2, max_length=2, description="ISO 3166 alpha-2")
    identified_at: datetime | None = None
    agency: str | None = Field(default=None, description="identifying agency code")


class VictimRead(BaseModel):
    id: uuid.UUID
    label: str
    age_band: str
    sex: str
    status: str
    identified_by: str | None
    identified_at: datetime | None
    identified_country: str | None
    notes: str


class IdentificationStatus(BaseModel):
    """What every member may know of a series: whether its victims are identified, by whom."""

    series_id: uuid.UUID | None = Field(description="when the series is visible to the caller")
    series: str | None = Field(description="the name, when the series is visible to the caller")
    owner_agency: str
    victims: int
    identified: int
    identified_by: list[str] = Field(description="identifying agencies' codes")
    contact: str | None = Field(description="24/7 contact of the (first) identifying agency")

    @property
    def all_identified(self) -> bool:
        return self.victims > 0 and self.identified == self.victims


class SeriesRead(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    agency: str
    sharing: SharingLevel
    partners: list[str]
    first_seen_at: datetime | None
    status_public: bool
    created_at: datetime
    media_count: int
    victims: list[VictimRead]
    status: IdentificationStatus
