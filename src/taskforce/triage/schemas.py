"""Triage runs of a case as the API and pages show them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from taskforce.core.identification import IdentificationStatus


class RunStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    INTERRUPTED = "interrupted"


class MatchFilter(StrEnum):
    """The per-file table's match filter; `known` is exact or perceptual."""

    EXACT = "exact"
    PERCEPTUAL = "perceptual"
    KNOWN = "known"
    NONE = "none"


class TriageRunSummary(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    case_reference: str
    agency: str
    status: RunStatus
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    evidence: list[str]
    files_total: int
    files_hashed: int
    matched_exact: int
    matched_perceptual: int
    new_images: int
    identified_victims: int = Field(
        description="matches with an identified victim, in hash sets shared with the caller"
    )
    errors: int
    selectors_added: int | None


class CategoryCount(BaseModel):
    category: str | None = Field(description="scheme:code; null when not shared or uncategorised")
    label: str
    files: int


class SeriesCount(BaseModel):
    series: str
    files: int


class FileError(BaseModel):
    path: str
    reason: str


class TriageResultRead(BaseModel):
    path: str
    size: int | None
    media_type: str | None
    md5: str | None
    sha1: str | None
    sha256: str | None
    pdq: str | None
    pdq_quality: int | None
    match_type: str
    distance: int | None
    video_share: float | None = Field(
        default=None, description="videos: share of the file's usable frames that match"
    )
    withheld: bool = Field(
        description="matched a hash set not shared with the caller: its details are withheld"
    )
    hash_set: str | None
    category: str | None
    category_label: str | None
    series: str | None
    victim_identified: bool | None
    identification: list[IdentificationStatus] = Field(
        default_factory=list,
        description="series the file belongs to now: whether their victims are identified, by whom",
    )
    camera_make: str | None
    camera_model: str | None
    camera_serial: str | None
    taken_at: str | None
    gps_lat: float | None
    gps_lon: float | None
    error: str | None


class ResultPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[TriageResultRead]


class TriageRunRead(TriageRunSummary):
    run_by: str
    tool: str | None = Field(description="program and host; shown to the running agency only")
    report_dir: str | None = Field(description="report folder; shown to the running agency only")
    pdq_threshold: int | None
    hash_sets: list[str] = Field(description="sets named for the run (empty: all visible)")
    by_category: list[CategoryCount]
    series: list[SeriesCount]
    withheld_matches: int = Field(description="matches in hash sets not shared with the caller")
    error_list: list[FileError] = Field(description="the first errors with their reasons")
    results: ResultPage
