"""What the series API takes and gives: series, their media (hashes) and victims."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from taskforce.core.identification import IdentificationStatus
from taskforce.core.sharing import SharingLevel
from taskforce.series.linking import Kind, Rules

__all__ = ["IdentificationStatus"]  # composed by series.status, defined in core (hash sets, triage)


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


# --- proposals: what the API takes and gives -----------------------------------------------


class ProposalStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SPLIT = "split"  # not set by this module; treated as decided if another writer sets it


DECIDED = frozenset({ProposalStatus.ACCEPTED, ProposalStatus.REJECTED, ProposalStatus.SPLIT})


class ProposeOptions(BaseModel):
    """How far apart two images may be and still count as evidence (defaults: `Rules`)."""

    model_config = ConfigDict(extra="forbid")

    pdq_distance: int = Field(default=Rules.pdq_distance, ge=0, le=64)
    burst_minutes: float = Field(default=Rules.burst_seconds / 60, gt=0, le=24 * 60)
    place_metres: float = Field(default=Rules.place_metres, ge=5, le=5_000)
    place_hours: float = Field(default=Rules.place_seconds / 3600, gt=0, le=24 * 31)
    name_gap: int = Field(default=Rules.name_gap, ge=0, le=1_000)

    def rules(self) -> Rules:
        return Rules(
            pdq_distance=self.pdq_distance,
            burst_seconds=self.burst_minutes * 60,
            place_metres=self.place_metres,
            place_seconds=self.place_hours * 3600,
            name_gap=self.name_gap,
        )


class EvidenceExample(BaseModel):
    a: str = Field(description="path of one file")
    b: str = Field(description="path of the other")
    pdq_distance: int | None = None
    seconds: int | None = Field(default=None, description="taken this many seconds apart")
    metres: float | None = Field(default=None, description="GPS positions this far apart")


class ProposalEvidence(BaseModel):
    kind: Kind
    label: str
    strong: bool = Field(description="links two files on its own")
    pairs: int = Field(description="examined pairs inside the proposal showing this evidence")
    linking_pairs: int = Field(description="of those, pairs the linking rule accepted")
    examples: list[EvidenceExample]


class Count(BaseModel):
    value: str
    count: int


class Place(BaseModel):
    lat: float = Field(description="centre of the GPS positions, rounded to 0.001°")
    lon: float
    spread_metres: float = Field(description="farthest position from the centre, to 10 m")


class ProposalSummary(BaseModel):
    size: int
    with_pdq: int = Field(description="files with a usable PDQ hash (quality ≥ 50)")
    cameras: list[Count] = Field(default_factory=list)
    serials: list[Count] = Field(default_factory=list)
    with_time: int = 0
    first_taken: str | None = Field(default=None, description="camera clock, no time zone")
    last_taken: str | None = None
    with_gps: int = 0
    place: Place | None = None
    folders: list[Count] = Field(default_factory=list)


class ProposalMember(BaseModel):
    """A file of the proposal: its triage result, by path and hashes (never the file)."""

    id: int = Field(description="triage result id")
    path: str
    md5: str | None
    sha256: str | None
    pdq: str | None
    camera: str | None
    taken_at: str | None


class ProposalRead(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    status: ProposalStatus
    score: float = Field(description="mean confidence of the linked pairs, 0–1")
    size: int
    parent_id: uuid.UUID | None = Field(description="the proposal this one was split from")
    series_id: uuid.UUID | None = Field(description="the series it was accepted into")
    created_at: datetime
    decided_at: datetime | None
    summary: ProposalSummary
    evidence: list[ProposalEvidence]
    members: list[ProposalMember]


class ProposalRun(BaseModel):
    """What proposing did: images examined, proposals written, and the open ones now."""

    images: int = Field(description="the case's new images examined")
    excluded: int = Field(description="images already in decided or split proposals")
    created: int
    kept: int = Field(description="open proposals found again unchanged")
    removed: int = Field(description="open, untouched proposals no longer found")
    proposals: list[ProposalRead]


class ProposalAccept(BaseModel):
    """Accept into a new series (`name`, sharing as for any series) or an existing one."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=2, max_length=200)
    series_id: uuid.UUID | None = None
    description: str = Field(default="", max_length=20_000)
    sharing: SharingLevel = SharingLevel.RED
    partners: list[str] = Field(default_factory=list, max_length=100)


class ProposalSplit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    members: list[int] = Field(
        min_length=1, max_length=100_000, description="triage result ids to move out"
    )


class ProposalReject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=500)


class SplitResult(BaseModel):
    kept: ProposalRead
    split_off: ProposalRead
