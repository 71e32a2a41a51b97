"""What the commerce pages, API and console read and send: sites, crawls, pages as evidence,
indicators with where each was seen. One shape for the three interfaces, built by
`commerce.views`; requests are checked again by the service (the field named in a refusal)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class HopIn(BaseModel):
    """One gateway hop before the landing page, with the referrer the analyst captured."""

    url: str = Field(max_length=2000)
    referrer: str | None = Field(default=None, max_length=2000)


class SiteCreate(BaseModel):
    """Open a site from a confirmed URL report or one of the agency's cases, and crawl it."""

    url: str = Field(max_length=2000, description="the landing page (http or https)")
    label: str = Field(default="", max_length=200, description="the analyst's name for it")
    report_id: uuid.UUID | None = Field(default=None, description="a confirmed URL report")
    case_id: uuid.UUID | None = Field(default=None, description="or a case of your agency")
    depth: int = Field(default=2, ge=0, le=100, description="links followed from the landing")
    page_limit: int = Field(default=50, ge=1, le=100_000, description="pages at most a crawl")
    pathway: list[HopIn] = Field(default_factory=list, max_length=50)
    recrawl_days: int | None = Field(default=None, ge=1, le=100_000)
    crawl: bool = Field(default=True, description="queue a crawl at once")


class CrawlSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    site_id: uuid.UUID
    reason: str
    status: str
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    actor_label: str
    depth: int
    page_limit: int
    pages_fetched: int
    pages_refused: int
    pages_failed: int
    indicators_found: int
    wallets_rejected: int
    detail: str


class SiteSummary(BaseModel):
    id: uuid.UUID
    url: str
    host: str
    registrable_domain: str
    label: str
    status: str
    report_id: uuid.UUID | None
    case_id: uuid.UUID | None
    case_reference: str | None
    created_at: datetime
    depth: int
    page_limit: int
    recrawl_days: int | None
    next_crawl_at: datetime | None
    last_crawled_at: datetime | None
    last_ip: str | None
    last_crawl: CrawlSummary | None
    indicators: int = Field(description="distinct indicators seen on the site")
    groups: list[GroupRef] = Field(default_factory=list)


class GroupRef(BaseModel):
    id: uuid.UUID
    kind: str
    label: str


class SitePage(BaseModel):
    items: list[SiteSummary]
    total: int
    limit: int
    offset: int


class SightingRead(BaseModel):
    page_id: uuid.UUID
    page_url: str
    crawl_id: uuid.UUID
    site_id: uuid.UUID
    seen_at: datetime
    offset: int
    snippet: str


class IndicatorRead(BaseModel):
    id: uuid.UUID
    kind: str
    value: str
    detail: str
    first_seen_at: datetime
    last_seen_at: datetime
    sites: int = Field(description="the agency's sites it was seen on")
    sightings: list[SightingRead] = Field(default_factory=list, description="the latest first")


class IndicatorPage(BaseModel):
    items: list[IndicatorRead]
    total: int
    limit: int
    offset: int


class PathwayHopRead(BaseModel):
    url: str
    referrer: str | None = None


class SiteRead(SiteSummary):
    pathway: list[PathwayHopRead]
    crawls: list[CrawlSummary]
    site_indicators: list[IndicatorRead] = Field(
        description="what was seen on this site, with where (sightings on this site only)"
    )


class PageSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    crawl_id: uuid.UUID
    site_id: uuid.UUID
    url: str
    final_url: str
    depth: int
    pathway_hop: bool
    fetched_at: datetime
    outcome: str
    reason: str
    status_code: int | None
    content_type: str | None
    body_bytes: int
    title: str


class CrawlRead(CrawlSummary):
    site_url: str
    pathway: list[PathwayHopRead]
    frontier_left: int
    pages: list[PageSummary]


class PageRead(PageSummary):
    """A page as evidence. `html` is the kept sanitised HTML as text (every media reference
    removed); it is never rendered by the hub."""

    referrer: str | None
    headers: dict[str, str]
    ip: str | None
    hops: list[dict[str, Any]]
    body_sha256: str | None
    truncated: bool
    media_removed: int
    template: str | None
    html: str | None
    sightings: list[IndicatorRead] = Field(default_factory=list)


SiteSummary.model_rebuild()
SiteRead.model_rebuild()
