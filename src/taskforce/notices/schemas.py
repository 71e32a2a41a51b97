"""What the clue notice API takes and gives."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class ClueKind(StrEnum):
    """The checklist of what a picture's background can tell about where it was taken."""

    ARCHITECTURE = "architecture"
    FURNITURE = "furniture_fittings"
    ELECTRICAL = "electrical"
    PRODUCTS = "products_brands"
    PACKAGING = "packaging_text"
    VEGETATION = "vegetation_geology"
    WEATHER = "weather_light"
    CLOTHING = "clothing_uniforms"
    VEHICLES = "vehicles_plates"
    LANGUAGE = "language_dialect"
    OTHER = "other"


CLUE_LABELS: dict[str, str] = {
    ClueKind.ARCHITECTURE: "Architecture",
    ClueKind.FURNITURE: "Furniture and fittings",
    ClueKind.ELECTRICAL: "Electrical sockets and switches",
    ClueKind.PRODUCTS: "Products and brands",
    ClueKind.PACKAGING: "Packaging text",
    ClueKind.VEGETATION: "Vegetation and geology",
    ClueKind.WEATHER: "Weather and light",
    ClueKind.CLOTHING: "Clothing and school uniforms",
    ClueKind.VEHICLES: "Vehicles and plates",
    ClueKind.LANGUAGE: "Language and dialect",
    ClueKind.OTHER: "Other",
}


class Confidence(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


CONFIDENCE_WEIGHT: dict[str, int] = {Confidence.LOW: 1, Confidence.MEDIUM: 2, Confidence.HIGH: 3}


class NoticeStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Outcome(StrEnum):
    IDENTIFIED = "identified"  # the child was identified: the series' victim is updated
    WITHDRAWN = "withdrawn"  # closed for any other reason


ATTESTATION = (
    "I attest that this image shows no child and no abuse: only an object or a background, "
    "cropped or cleaned of anything that could show or identify a victim."
)


class ClueCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ClueKind
    description: str = Field(min_length=3, max_length=2000)


class NoticeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    series_id: uuid.UUID
    title: str = Field(min_length=3, max_length=200)
    request: str = Field(default="", max_length=5000, description="what you ask the members")
    targets: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="UN M49 regions or sub-regions, or ISO country codes; none: every member",
    )
    clues: list[ClueCreate] = Field(default_factory=list, max_length=30)


class AnswerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    countries: list[str] = Field(min_length=1, max_length=20, description="ISO alpha-2 codes")
    confidence: Confidence
    note: str = Field(default="", max_length=2000)


class PublishImage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    caption: str = Field(
        min_length=3, max_length=500, description="shown to the public instead of the clue text"
    )


class PublishRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    images: list[PublishImage] = Field(min_length=1, max_length=50)


class NoticeClose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    victim_id: uuid.UUID | None = Field(default=None, description="required when identified")
    country: str | None = Field(default=None, description="where the child was identified")
    victim_status: str = Field(default="identified", pattern="^(identified|safeguarded)$")
    identified_by: str | None = Field(
        default=None, description="code of the identifying agency; default: the notice's own"
    )
    note: str = Field(default="", max_length=5000)


class TipCreate(BaseModel):
    """A public tip: where the object was seen. Lengths are capped; nothing is required about
    the tipster."""

    model_config = ConfigDict(extra="forbid")

    seen_where: str = Field(min_length=3, max_length=500)
    country: str | None = Field(default=None, max_length=60)
    message: str = Field(default="", max_length=2000)
    contact: str | None = Field(default=None, max_length=200)
    image_id: uuid.UUID | None = None


class ImageRead(BaseModel):
    id: uuid.UUID
    media_type: str
    width: int
    height: int
    byte_size: int
    sha256: str
    removed: list[str]
    attested_by: str
    attested_at: datetime
    attestation: str
    published: bool
    public_caption: str


class AnswerRead(BaseModel):
    id: uuid.UUID
    clue_id: uuid.UUID
    clue_number: int
    agency: str
    countries: list[str]
    confidence: Confidence
    note: str
    created_at: datetime
    counted: bool = Field(description="False when a later answer of the same agency replaced it")


class ClueRead(BaseModel):
    id: uuid.UUID
    number: int
    kind: ClueKind
    label: str
    description: str
    images: list[ImageRead]
    answers: list[AnswerRead]


class RankedCountry(BaseModel):
    country: str
    name: str
    score: float
    clues: int = Field(description="clues that point to the country")
    agencies: int = Field(description="agencies whose answers name it")
    share: float = Field(description="score as a share of the top score, 0 to 1")


class TimelineEntry(BaseModel):
    at: datetime
    action: str
    actor: str
    summary: str


class TipRead(BaseModel):
    id: uuid.UUID
    image_id: uuid.UUID | None
    clue_number: int | None
    seen_where: str
    country: str | None
    message: str
    contact: str | None
    created_at: datetime


class ContactRead(BaseModel):
    desk: str
    phone: str
    email: str
    timezone: str


class NoticeSummary(BaseModel):
    id: uuid.UUID
    reference: str
    title: str
    agency: str
    status: NoticeStatus
    outcome: Outcome | None
    targets: list[str]
    clue_count: int
    answer_count: int
    created_at: datetime
    closed_at: datetime | None
    is_owner: bool
    answered: bool = Field(description="whether the caller's agency has answered")


class VictimStatusRead(BaseModel):
    id: uuid.UUID
    label: str
    status: str
    identified_country: str | None


class NoticeRead(NoticeSummary):
    request: str
    agency_name: str
    contact: ContactRead
    series_id: uuid.UUID | None = Field(description="only for callers who may see the series")
    series_name: str | None
    victims: list[VictimStatusRead] = Field(description="the series' victims, for its readers")
    recipients: list[str] = Field(description="agencies the notice reaches (owner only)")
    outcome_country: str | None
    outcome_note: str
    can_answer: bool
    can_manage: bool
    clues: list[ClueRead]
    ranking: list[RankedCountry]
    timeline: list[TimelineEntry]
    tips: list[TipRead] = Field(description="public tips (owner only)")
    public_url: str | None = Field(description="the public page while published (owner only)")


class NoticeNotificationRead(BaseModel):
    id: uuid.UUID
    notice_id: uuid.UUID
    reference: str
    kind: str
    message: str
    created_at: datetime
    read_at: datetime | None


class RegionRead(BaseModel):
    name: str
    parent: str | None
    countries: list[str]


class PublicImage(BaseModel):
    id: uuid.UUID
    caption: str
    width: int
    height: int


class PublicNotice(BaseModel):
    """What the public page shows: the published objects and the appealing agency, no more."""

    agency_name: str
    agency_country: str
    images: list[PublicImage]
    open: bool
