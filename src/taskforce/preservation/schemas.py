"""What the preservation interfaces take and give, and the words of the domain: legal bases and
the states a request goes through."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class LegalBasis(StrEnum):
    """Under what the provider is asked to keep the data."""

    ART29_PRESERVATION = "art29_preservation"  # Budapest Convention Art. 29: expedited
    ART30_PARTIAL_DISCLOSURE = "art30_partial_disclosure"  # Art. 30: traffic data, the path
    ART9_EMERGENCY_DISCLOSURE = "art9_emergency_disclosure"  # Second Protocol Art. 9
    DOMESTIC_LAW = "domestic_law"  # the desk's own law (a domestic preservation order)


LEGAL_BASIS_LABELS: dict[str, str] = {
    LegalBasis.ART29_PRESERVATION: "Art. 29 expedited preservation",
    LegalBasis.ART30_PARTIAL_DISCLOSURE: "Art. 30 partial disclosure of traffic data",
    LegalBasis.ART9_EMERGENCY_DISCLOSURE: "Second Protocol Art. 9 emergency disclosure",
    LegalBasis.DOMESTIC_LAW: "domestic law",
}


class PreservationStatus(StrEnum):
    """sent → confirmed → extended (once) → followed_up | expired | withdrawn."""

    SENT = "sent"  # asked; the provider has not confirmed yet
    CONFIRMED = "confirmed"  # the provider confirmed it keeps the data (its reference)
    EXTENDED = "extended"  # kept a second term (Art. 29(7)); no further extension
    FOLLOWED_UP = "followed_up"  # a formal request (MLA, production order) took over
    EXPIRED = "expired"  # the term ran out with no formal request
    WITHDRAWN = "withdrawn"  # no longer needed


ACTIVE = (PreservationStatus.SENT, PreservationStatus.CONFIRMED, PreservationStatus.EXTENDED)
STATUS_LABELS: dict[str, str] = {
    PreservationStatus.SENT: "Sent",
    PreservationStatus.CONFIRMED: "Confirmed",
    PreservationStatus.EXTENDED: "Extended",
    PreservationStatus.FOLLOWED_UP: "Followed up",
    PreservationStatus.EXPIRED: "Expired",
    PreservationStatus.WITHDRAWN: "Withdrawn",
}

MAX_IDENTIFIERS = 50


class IdentifierIn(BaseModel):
    """An account identifier asked about: a selector type and value as the cases domain reads
    them (a username names its platform)."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=32, description="Selector type, e.g. email")
    value: str = Field(min_length=1, max_length=2048)
    platform: str | None = Field(default=None, max_length=100, description="For usernames")


class PreservationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str = Field(min_length=1, max_length=200, description="The provider's name")
    provider_country: str | None = Field(
        default=None, max_length=8, description="ISO 3166-1 alpha-2 of the provider, if known"
    )
    identifiers: list[IdentifierIn] = Field(min_length=1, max_length=MAX_IDENTIFIERS)
    legal_basis: str = Field(
        max_length=64, description="One of: " + ", ".join(b.value for b in LegalBasis)
    )
    requesting_country: str | None = Field(
        default=None, max_length=8, description="ISO 3166-1 alpha-2; default: the agency's"
    )
    sent_at: datetime | None = Field(default=None, description="When it was sent; default now")
    expires_at: datetime | None = Field(
        default=None, description="Default: sent_at + the preservation_days setting (90)"
    )
    provider_reference: str = Field(default="", max_length=100)
    notes: str = Field(default="", max_length=5000)
    case_id: uuid.UUID | None = Field(
        default=None,
        description="An open RED case of the agency for the identifiers; default: a new RED "
        "case 'Preservation <reference>' is opened",
    )


class Confirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider_reference: str = Field(default="", max_length=100)
    note: str = Field(default="", max_length=1000)


class Extend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=1000)


class FollowUp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    formal_reference: str = Field(
        min_length=1, max_length=100, description="The MLA or production order's reference"
    )
    note: str = Field(default="", max_length=1000)


class Withdraw(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)


class IdentifierRead(BaseModel):
    type: str
    value: str
    platform: str | None = None
    normalised: str


class PreservationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    reference: str
    agency: str
    case_id: uuid.UUID | None
    requesting_country: str
    provider: str
    provider_country: str | None
    provider_reference: str
    identifiers: list[IdentifierRead]
    legal_basis: str
    status: str
    sent_at: datetime
    confirmed_at: datetime | None
    expires_at: datetime
    extended_at: datetime | None
    followed_up_at: datetime | None
    formal_reference: str
    notes: str
    created_at: datetime


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    kind: str
    actor: str
    detail: str


class PreservationDetail(PreservationRead):
    case_reference: str | None
    hits: int
    events: list[EventRead]


class PendingPreservation(BaseModel):
    """A request still holding data at a provider, for a shift handover."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    reference: str
    provider: str
    expires_at: datetime
    status: str


class CountRow(BaseModel):
    key: str
    total: int
    active: int
    expiring_soon: int


class PreservationCounts(BaseModel):
    """Numbers only: what the coordinator may see of every agency's requests."""

    scope: str  # "network" (the coordinator) or the agency's code
    at: datetime
    soon_days: int
    total: int
    active: int
    expiring_soon: int
    by_status: dict[str, int]
    by_agency: list[CountRow]
    by_provider: list[CountRow]
