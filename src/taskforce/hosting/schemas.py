"""What the hosting directory's API takes and gives."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from taskforce.cases.schemas import LineError

ASN_MAX = 4_294_967_295  # 32-bit AS numbers (RFC 6793); 0 and 4294967295 are reserved


class ProviderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=200, examples=["Fictional Hosting B.V."])
    asn: int | None = Field(default=None, ge=1, le=ASN_MAX, description="autonomous system number")
    country: str | None = Field(
        default=None, max_length=2, description="where the provider is registered, ISO alpha-2"
    )
    abuse_email: str | None = Field(
        default=None, max_length=320, description="where takedown notices go"
    )
    notes: str = Field(default="", max_length=5000)


class ProviderUpdate(BaseModel):
    """Only the fields sent change; `null` clears the ASN, country or abuse contact. From
    someone who does not keep the record, the change is proposed to its keeper (202)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=2, max_length=200)
    asn: int | None = Field(default=None, ge=1, le=ASN_MAX)
    country: str | None = Field(default=None, max_length=2)
    abuse_email: str | None = Field(default=None, max_length=320)
    notes: str | None = Field(default=None, max_length=5000)
    reason: str = Field(
        default="", max_length=1000, description="why, for the keeper when the change is proposed"
    )


class NetworkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    network: str = Field(
        min_length=3, max_length=49, description="CIDR without host bits, e.g. 203.0.113.0/26"
    )
    country: str | None = Field(
        default=None, max_length=2, description="where the block is used, if it differs"
    )
    reason: str = Field(
        default="", max_length=1000, description="why, for the keeper when the change is proposed"
    )


class NetworkRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    provider_id: uuid.UUID
    cidr: str
    prefix_length: int = Field(description="in the IPv6-mapped space: an IPv4 /24 is 120")
    country: str | None


class ProviderSummary(BaseModel):
    """One row of the directory."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    asn: int | None
    country: str | None
    abuse_email: str | None = Field(description="null: no takedown notice can be sent")
    network_count: int
    updated_at: datetime


class ProviderRead(ProviderSummary):
    notes: str
    created_at: datetime
    networks: list[NetworkRead]
    keeper: str | None = Field(
        default=None,
        description="code of the agency that keeps the record (its people change it directly, "
        "anyone else proposes); null: the network's, kept by the coordinator",
    )


class ProviderPage(BaseModel):
    items: list[ProviderSummary]
    total: int
    limit: int
    offset: int


class ImportReport(BaseModel):
    """What an import did. Lines are counted from the header (line 1)."""

    source: str
    lines_read: int = Field(description="data rows read (the header and blank lines not counted)")
    added: int = Field(description="networks new to the table")
    updated: int = Field(description="networks that moved to another provider or country")
    unchanged: int = Field(description="networks already recorded exactly so")
    rejected: int = Field(description="bad lines, none of them written")
    providers_created: int
    providers_updated: int = Field(description="providers whose ASN, country or contact changed")
    bad_lines: list[LineError] = Field(description="the first 1,000 bad lines")


class LocationRead(BaseModel):
    """Where an address is hosted and why: `steps` are the sentences an analyst reads."""

    model_config = ConfigDict(from_attributes=True)

    ip: str
    registry_country: str | None = Field(description="RIR registration country (iptocc)")
    network: str | None = Field(description="the longest block of the network table holding it")
    network_country: str | None
    provider_id: uuid.UUID | None
    provider_name: str | None
    asn: int | None
    abuse_email: str | None
    country: str | None = Field(description="the hosting country routing uses")
    country_source: str | None = Field(description='"registry", "network table" or "provider"')
    steps: list[str]
    data_source: str = Field(description="the registry data used, with its date")
