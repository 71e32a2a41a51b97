"""Commercial sites as evidence: each site an agency investigates, every crawl of it and every
page fetched (URL, time, status, headers, SHA-256 of the body, the referrer used; the HTML kept
compressed with every media reference removed), the indicators found on the pages with where
they were seen, the graph runs that group sites into brands and distribution groups, the
payment providers notices go to, the notices themselves, and the GREEN wallet watch list.

Everything here belongs to one agency (`owner_agency_id`): an agency sees its own sites, crawls,
indicators and groups only; what crosses agencies goes through selectors of its case
(deconfliction) and the watch list, which is GREEN by construction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, Origin, UTCDateTime, UUIDPk, utcnow


class CommerceSite(Base, UUIDPk, Origin):
    """A commercial site under investigation: where a crawl starts, how deep it goes, the
    pathway (gateway → landing, with referrers) a disguised site needs, and its recrawl
    schedule. Started from a confirmed report or from a case."""

    __tablename__ = "commerce_site"
    __table_args__ = (
        UniqueConstraint("owner_agency_id", "url", name="uq_commerce_site_agency_url"),
    )

    owner_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    url: Mapped[str] = mapped_column(Text)  # the start (landing) URL, normalised
    host: Mapped[str] = mapped_column(String(253), index=True)
    registrable_domain: Mapped[str] = mapped_column(String(253), index=True)
    label: Mapped[str] = mapped_column(String(200), default="")  # the analyst's name for it
    report_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("public_report.id"), index=True)
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("case_file.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    depth: Mapped[int] = mapped_column(Integer, default=2)  # links followed from the start
    page_limit: Mapped[int] = mapped_column(Integer, default=50)
    # the recorded pathway, in order: [{"url": ..., "referrer": ... | None}, ...]; the last
    # hop is the landing page. Empty: the start URL is fetched directly.
    pathway: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    recrawl_days: Mapped[int | None] = mapped_column(Integer)  # None: not recrawled
    next_crawl_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_crawled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_ip: Mapped[str | None] = mapped_column(String(45))  # where the landing page answered
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | paused | gone


class CommerceCrawl(Base, UUIDPk):
    """One crawl of a site, run in steps by the job runner: each step fetches a few pages and
    records them with the frontier left, so an interrupted crawl resumes where it stopped."""

    __tablename__ = "commerce_crawl"

    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("commerce_site.id"), index=True)
    owner_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    requested_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    actor_label: Mapped[str] = mapped_column(String(320), default="")
    reason: Mapped[str] = mapped_column(String(16), default="manual")  # manual | scheduled
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # queued | running | done | failed | cancelled
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # the runner's lease column: when the next step is due (None once finished)
    next_step_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    depth: Mapped[int] = mapped_column(Integer, default=2)
    page_limit: Mapped[int] = mapped_column(Integer, default=50)
    pathway: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # pages still to fetch: [{"url": ..., "depth": n, "referrer": ... | None}, ...]
    frontier: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    visited: Mapped[list[str]] = mapped_column(JSON, default=list)  # URLs taken from the frontier
    pages_fetched: Mapped[int] = mapped_column(Integer, default=0)
    pages_refused: Mapped[int] = mapped_column(Integer, default=0)
    pages_failed: Mapped[int] = mapped_column(Integer, default=0)
    indicators_found: Mapped[int] = mapped_column(Integer, default=0)
    wallets_rejected: Mapped[int] = mapped_column(Integer, default=0)  # bad checksums, counted
    detail: Mapped[str] = mapped_column(String(1000), default="")


class CommercePage(Base, UUIDPk):
    """One request of a crawl, as evidence. `outcome` fetched: the body was HTML or text and
    is kept sanitised; refused: not fetched or not kept, `reason` says why (an internal address,
    an image behind a text/html header, a media URL); failed: the server did not answer."""

    __tablename__ = "commerce_page"

    crawl_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("commerce_crawl.id"), index=True)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("commerce_site.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    final_url: Mapped[str] = mapped_column(Text, default="")
    referrer: Mapped[str | None] = mapped_column(Text)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    pathway_hop: Mapped[bool] = mapped_column(Boolean, default=False)  # a replayed gateway hop
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # fetched | refused | failed
    reason: Mapped[str] = mapped_column(String(500), default="")
    status_code: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(200))
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))
    hops: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # redirects
    body_sha256: Mapped[str | None] = mapped_column(String(64))  # of the bytes as received
    body_bytes: Mapped[int] = mapped_column(Integer, default=0)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)  # over the byte cap
    html_gz: Mapped[bytes | None] = mapped_column(LargeBinary)  # sanitised HTML, gzip
    media_removed: Mapped[int] = mapped_column(Integer, default=0)  # references taken out
    title: Mapped[str] = mapped_column(String(300), default="")
    template: Mapped[str | None] = mapped_column(String(64), index=True)  # DOM-shape print


class CommerceIndicator(Base, UUIDPk):
    """A payment or infrastructure indicator an agency has seen on its sites, once per value."""

    __tablename__ = "commerce_indicator"
    __table_args__ = (
        UniqueConstraint("owner_agency_id", "kind", "value", name="uq_commerce_indicator_value"),
    )

    owner_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    # wallet | processor | merchant | affiliate | analytics | messenger | email | template | ip
    kind: Mapped[str] = mapped_column(String(24))
    value: Mapped[str] = mapped_column(String(500))  # normalised
    # the sub-kind: a wallet's chain (btc, eth, ltc, doge, xmr), an analytics system (ga, ga4,
    # gtm, adsense, yandex, ...), a messenger (telegram, session, tox), a processor's provider id
    detail: Mapped[str] = mapped_column(String(64), default="")
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class CommerceSighting(Base, UUIDPk):
    """Where an indicator was seen: the page, the offset in its text and a short snippet."""

    __tablename__ = "commerce_sighting"
    __table_args__ = (Index("ix_commerce_sighting_site_indicator", "site_id", "indicator_id"),)

    indicator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("commerce_indicator.id"), index=True)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("commerce_site.id"), index=True)
    page_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("commerce_page.id"), index=True)
    crawl_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("commerce_crawl.id"), index=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    offset: Mapped[int] = mapped_column(Integer, default=0)
    snippet: Mapped[str] = mapped_column(String(300), default="")


class CommerceGraphRun(Base, UUIDPk):
    """One computation of an agency's graph; kept, with its groups, so the graph has history."""

    __tablename__ = "commerce_graph_run"

    owner_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    sites: Mapped[int] = mapped_column(Integer, default=0)
    indicators: Mapped[int] = mapped_column(Integer, default=0)
    links: Mapped[int] = mapped_column(Integer, default=0)
    brands: Mapped[int] = mapped_column(Integer, default=0)
    groups: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


class CommerceGroup(Base, UUIDPk):
    """A proposed brand (sites that are one shop under many names: same template, same
    wallets) or distribution group (brands run on the same payment and infrastructure), with
    the evidence for every link."""

    __tablename__ = "commerce_group"

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("commerce_graph_run.id"), index=True)
    owner_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # brand | distribution_group
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("commerce_group.id"))
    label: Mapped[str] = mapped_column(String(200), default="")
    key: Mapped[str] = mapped_column(String(64), index=True)  # stable across runs
    site_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    indicator_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    # [{"a": site id, "b": site id, "weight": w, "shared": [indicator id, ...]}, ...]
    links: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class PaymentProvider(Base, UUIDPk):
    """A payment provider or exchange notices go to: its abuse contact and the lexicon terms
    that name it on a page."""

    __tablename__ = "payment_provider"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    # card_scheme | processor | exchange | wallet_service | bank | other
    kind: Mapped[str] = mapped_column(String(24), default="processor")
    country: Mapped[str | None] = mapped_column(String(2))
    abuse_email: Mapped[str | None] = mapped_column(String(320))
    website: Mapped[str | None] = mapped_column(String(500))
    terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    chains: Mapped[list[str]] = mapped_column(JSON, default=list)  # an exchange's currencies
    notes: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class PaymentNotice(Base, UUIDPk, Origin):
    """A notice to a payment provider or exchange about a merchant account or wallet behind a
    commercial site: the evidence summary (never content), sent through the outbox and tracked
    until the provider answers."""

    __tablename__ = "payment_notice"

    owner_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payment_provider.id"), index=True)
    site_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("commerce_site.id"), index=True)
    indicator_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("commerce_indicator.id"), index=True
    )
    subject_kind: Mapped[str] = mapped_column(String(24))  # merchant | wallet | processor
    subject: Mapped[str] = mapped_column(String(500))
    recipient: Mapped[str] = mapped_column(String(320))
    evidence: Mapped[str] = mapped_column(Text, default="")  # the summary as sent
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outbox_reference: Mapped[str | None] = mapped_column(String(80), index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # account_closed | funds_frozen | under_review | not_our_customer | declined | other
    answer_outcome: Mapped[str | None] = mapped_column(String(24))
    answer: Mapped[str] = mapped_column(String(2000), default="")


class WalletWatch(Base, UUIDPk, Origin):
    """A wallet on the GREEN watch list every member receives: listed by an agency with the
    reason, removed (never deleted) when it no longer applies. One a peer node published
    (`origin_node` its node id) has no agency here: `listed_by_label` names the peer's agency
    and `remote_ref` is the entry's ref in that peer's feed."""

    __tablename__ = "wallet_watch"
    __table_args__ = (Index("uq_wallet_watch_remote", "origin_node", "remote_ref", unique=True),)

    # None: listed on a peer node
    owner_agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agency.id"), index=True)
    listed_by_label: Mapped[str] = mapped_column(String(200), default="")  # a peer's agency
    remote_ref: Mapped[str | None] = mapped_column(String(36))
    chain: Mapped[str] = mapped_column(String(8))  # btc | eth | ltc | doge | xmr
    address: Mapped[str] = mapped_column(String(128), index=True)  # normalised
    indicator_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("commerce_indicator.id"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    listed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    listed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    removed_reason: Mapped[str] = mapped_column(String(500), default="")
