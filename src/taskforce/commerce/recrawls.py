"""The recrawl schedule: a site with `recrawl_days` set, active and due (`next_crawl_at` past)
gets a `scheduled` crawl, asked for through `service.queue_crawl` by the background worker
(`core.jobs`: each due site is claimed with a lease on `next_crawl_at`, so two workers never
queue the same site twice). The site's next date is pushed at once; when the crawl finishes the
crawler sets it again from the finishing time. A site whose crawl is still queued or running
(a slow crawl) gets no second one: its date is pushed and the crawl already there goes on.

An analyst sets or clears a site's schedule, and pauses or resumes a site: a paused site is
not recrawled (a crawl asked for by hand still runs).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.commerce import service
from taskforce.commerce.models import CommerceCrawl, CommerceSite
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller
from taskforce.core.db import utcnow
from taskforce.core.errors import Invalid
from taskforce.core.jobs import runner as jobs

LEASE = timedelta(minutes=5)  # queueing a crawl is a few rows: a claim never needs longer
ACTIVE, PAUSED = "active", "paused"


# --- the job --------------------------------------------------------------------------------


def schedule_job() -> jobs.Job[CommerceSite, uuid.UUID, None]:
    """Due recrawls as a background job: nothing slow is done outside the transaction, the
    runner is used for its lease (no site queued twice by two workers) and its failure
    bookkeeping."""
    return jobs.Job(
        name="commerce.recrawl",
        model=CommerceSite,
        lease_column=CommerceSite.next_crawl_at,
        lease=LEASE,
        due=lambda now: [
            CommerceSite.recrawl_days.is_not(None),
            CommerceSite.status == ACTIVE,
            CommerceSite.next_crawl_at.is_not(None),
            CommerceSite.next_crawl_at <= now,
        ],
        order=(CommerceSite.next_crawl_at, CommerceSite.id),
        take=lambda site: site.id,
        work=lambda _site_id: None,
        record=lambda session, site_id, _none, now: queue_scheduled(session, site_id, now),
    )


def queue_scheduled(session: Session, site_id: uuid.UUID, now: datetime) -> bool:
    """Queue one due site's scheduled crawl and push its next date; False when nothing was
    queued (the schedule was cleared or paused meanwhile, or a crawl is still under way)."""
    site = session.get(CommerceSite, site_id)
    if site is None:
        return False
    if site.recrawl_days is None or site.status != ACTIVE:
        site.next_crawl_at = None
        return False
    site.next_crawl_at = now + timedelta(days=site.recrawl_days)
    under_way = session.scalar(
        select(CommerceCrawl.id).where(
            CommerceCrawl.site_id == site.id, CommerceCrawl.status.in_(service.ACTIVE)
        )
    )
    if under_way is not None:
        return False
    agency = session.get(Agency, site.owner_agency_id)
    assert agency is not None
    service.queue_crawl(
        session,
        agency_service.job_caller(agency, "recrawl schedule"),
        site,
        reason="scheduled",
        now=now,
    )
    return True


def queue_due(session: Session, *, now: datetime | None = None, limit: int = 100) -> int:
    """Queue every due recrawl in the caller's transaction (a command, tests); how many."""
    return jobs.run_here(session, schedule_job(), limit=limit, now=now or utcnow()).done


# --- an analyst's settings ------------------------------------------------------------------


def _next_date(site: CommerceSite, now: datetime) -> datetime | None:
    """When a scheduled site is next due: its last crawl plus the interval, or now if it has
    never been crawled; none while it is paused or unscheduled."""
    if site.recrawl_days is None or site.status != ACTIVE:
        return None
    if site.last_crawled_at is None:
        return now
    return site.last_crawled_at + timedelta(days=site.recrawl_days)


def _audit(
    session: Session, caller: Caller, site: CommerceSite, what: str, **detail: object
) -> None:
    audit.record(
        session,
        caller,
        action=f"commerce.site.{what}",
        operation=Operation.ALTERATION,
        subject_type="commerce_site",
        subject_id=site.id,
        subject_agency_id=site.owner_agency_id,
        detail=dict(detail),
    )


def set_recrawl(
    session: Session,
    caller: Caller,
    site_id: uuid.UUID,
    days: int | None,
    *,
    now: datetime | None = None,
) -> CommerceSite:
    """Recrawl a site every `days` days (None: not any more). The next crawl is due `days`
    after the last one, at once if that is past or the site was never crawled."""
    now = now or utcnow()
    site = service.own_site(session, caller, site_id)
    service.check_recrawl_days(days)
    site.recrawl_days = days
    site.next_crawl_at = _next_date(site, now)
    session.flush()
    _audit(session, caller, site, "recrawl", days=days)
    return site


def pause(session: Session, caller: Caller, site_id: uuid.UUID) -> CommerceSite:
    """Stop recrawling a site, its schedule kept for when it is resumed."""
    site = service.own_site(session, caller, site_id)
    if site.status == PAUSED:
        raise Invalid("status", "the site is paused already")
    site.status = PAUSED
    site.next_crawl_at = None
    session.flush()
    _audit(session, caller, site, "pause")
    return site


def resume(
    session: Session, caller: Caller, site_id: uuid.UUID, *, now: datetime | None = None
) -> CommerceSite:
    """Recrawl a paused (or gone) site again on its schedule."""
    now = now or utcnow()
    site = service.own_site(session, caller, site_id)
    if site.status == ACTIVE:
        raise Invalid("status", "the site is not paused")
    site.status = ACTIVE
    site.next_crawl_at = _next_date(site, now)
    session.flush()
    _audit(session, caller, site, "resume")
    return site
