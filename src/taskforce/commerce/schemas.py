"""What the commerce pages, API and console read and send: sites, crawls, pages as evidence,
indicators with where each was seen. One shape for the three interfaces, built by
`commerce.views`; requests are checked again by the service (the field named in a refusal)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from taskforce.commerce.models import PaymentNotice, WalletWatch


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


# --- acting on it: the case, payment providers, the watch list ---------------------------------


class ToCase(BaseModel):
    """Chosen indicators of a site (and, with `include_site`, its URL and domain) to put on the
    site's case as selectors."""

    indicator_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)
    include_site: bool = False


class RecrawlSet(BaseModel):
    """The recrawl schedule: every `days` days (null: never), or `paused`."""

    days: int | None = Field(default=None, ge=1, le=100_000)
    paused: bool = False


class SkippedRead(BaseModel):
    kind: str
    value: str
    reason: str


class CaseworkRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    case_id: uuid.UUID
    case_reference: str
    added: int
    already_there: int
    hits: int
    skipped: list[SkippedRead]


class ChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    change: str = Field(description="new, gone or changed")
    text: str
    before: str | None = None
    after: str | None = None


class CrawlBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    crawl_id: uuid.UUID
    reason: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    pages: int
    indicators: int
    detail: str


class ChangesRead(BaseModel):
    """What the site's last finished crawl found changed since the one before."""

    model_config = ConfigDict(from_attributes=True)

    site_id: uuid.UUID
    older: CrawlBrief
    newer: CrawlBrief
    indicators: list[ChangeRead]
    pages: list[ChangeRead]


class HistoryRead(BaseModel):
    """A finished crawl and what changed since the finished crawl before it (null for the
    first and for a failed crawl)."""

    model_config = ConfigDict(from_attributes=True)

    crawl: CrawlBrief
    changes: list[ChangeRead] | None


class WatchCreate(BaseModel):
    """A wallet for the GREEN watch list: one of your wallet indicators, or an address."""

    indicator_id: uuid.UUID | None = None
    address: str | None = Field(default=None, max_length=200)
    reason: str = Field(max_length=1000)


class WatchRemove(BaseModel):
    reason: str = Field(max_length=1000)


class WatchRead(BaseModel):
    id: uuid.UUID
    chain: str
    address: str
    agency: str = Field(description="the listing agency's code")
    reason: str
    listed_at: datetime
    removed_at: datetime | None = None
    removed_reason: str = ""
    mine: bool = Field(description="listed by your agency (you may remove it)")

    @classmethod
    def of(cls, watch: WalletWatch, agency: str, mine: bool) -> WatchRead:
        return cls(
            id=watch.id,
            chain=watch.chain,
            address=watch.address,
            agency=agency,
            reason=watch.reason,
            listed_at=watch.listed_at,
            removed_at=watch.removed_at,
            removed_reason=watch.removed_reason,
            mine=mine,
        )


class ProviderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: str
    country: str | None
    abuse_email: str | None
    website: str | None
    terms: list[str]
    chains: list[str]
    notes: str


class NoticeCreate(BaseModel):
    """A notice to a payment provider about a merchant account or wallet of one of your sites."""

    site_id: uuid.UUID
    indicator_id: uuid.UUID
    provider_id: uuid.UUID


class NoticeAnswer(BaseModel):
    outcome: str = Field(
        max_length=24,
        description="account_closed, funds_frozen, under_review, not_our_customer, declined, other",
    )
    text: str = Field(default="", max_length=5000)


class NoticeClose(BaseModel):
    reason: str = Field(max_length=1000, description="why no answer is awaited any more")


class NoticeRead(BaseModel):
    id: uuid.UUID
    reference: str
    provider_id: uuid.UUID
    provider: str
    site_id: uuid.UUID | None
    indicator_id: uuid.UUID | None
    subject_kind: str
    subject: str
    recipient: str
    status: str
    overdue: bool
    created_at: datetime
    sent_at: datetime | None
    answered_at: datetime | None
    answer_outcome: str | None
    answer: str
    evidence: str = Field(description="the summary as sent (never content)")

    @classmethod
    def of(cls, notice: PaymentNotice, reference: str, provider: str, overdue: bool) -> NoticeRead:
        return cls(
            id=notice.id,
            reference=reference,
            provider_id=notice.provider_id,
            provider=provider,
            site_id=notice.site_id,
            indicator_id=notice.indicator_id,
            subject_kind=notice.subject_kind,
            subject=notice.subject,
            recipient=notice.recipient,
            status=notice.status,
            overdue=overdue,
            created_at=notice.created_at,
            sent_at=notice.sent_at,
            answered_at=notice.answered_at,
            answer_outcome=notice.answer_outcome,
            answer=notice.answer,
            evidence=notice.evidence,
        )


class NoticePage(BaseModel):
    items: list[NoticeRead]
    total: int
    limit: int
    offset: int


# --- the graph: brands and distribution groups --------------------------------------------------


class GraphRunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    computed_at: datetime
    sites: int
    indicators: int
    links: int
    brands: int
    groups: int
    seconds: float


class GroupSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str = Field(description="distribution_group or brand")
    label: str
    key: str = Field(description="stable across runs: the group's history")
    parent_id: uuid.UUID | None
    site_ids: list[str]
    indicator_ids: list[str]


class IndicatorBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    value: str
    detail: str


class GroupsRead(BaseModel):
    """The agency's latest graph run: its distribution groups (largest first), the brands in
    no group, and the indicators set aside as common infrastructure."""

    run: GraphRunRead | None
    groups: list[GroupSummary]
    common: list[IndicatorBrief]


class GroupSiteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    host: str
    label: str
    url: str
    status: str
    last_crawled_at: datetime | None
    brand_id: uuid.UUID | None


class GroupIndicatorRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    value: str
    detail: str
    first_seen_at: datetime
    last_seen_at: datetime
    sites: int
    common: bool


class LinkEvidenceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    indicator_id: str
    kind: str
    value: str
    weight: float


class LinkRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    a: str
    b: str
    a_id: str
    b_id: str
    weight: float
    pairs: int
    evidence: list[LinkEvidenceRead]


class HistoryPointRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    run_id: uuid.UUID
    computed_at: datetime
    sites: int
    brands: int
    group_id: uuid.UUID


class GroupRead(BaseModel):
    """A brand or distribution group: its sites, its indicators with when each was seen, the
    links between its sites with the evidence for each, its brands or its group, history."""

    model_config = ConfigDict(from_attributes=True)

    group: GroupSummary
    run: GraphRunRead
    latest: bool
    sites: list[GroupSiteRead]
    indicators: list[GroupIndicatorRead]
    links: list[LinkRead]
    brands: list[GroupSummary]
    parent: GroupSummary | None
    history: list[HistoryPointRead]


SiteSummary.model_rebuild()
SiteRead.model_rebuild()
