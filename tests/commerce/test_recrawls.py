"""The recrawl schedule: due sites get one scheduled crawl, never a second while one is under
way; an analyst sets, clears and pauses a site's schedule. Every time is given explicitly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from builders import Network
from site_history_builders import make_crawl, make_site
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from taskforce.commerce import recrawls
from taskforce.commerce.models import CommerceCrawl, CommerceSite
from taskforce.core.audit.models import AuditEntry
from taskforce.core.errors import Forbidden, Invalid, NotFound
from taskforce.core.jobs import runner as jobs

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def crawls_of(session: Session, site: CommerceSite) -> list[CommerceCrawl]:
    return list(
        session.scalars(
            select(CommerceCrawl)
            .where(CommerceCrawl.site_id == site.id)
            .order_by(CommerceCrawl.requested_at)
        )
    )


def test_a_due_site_gets_one_scheduled_crawl_and_its_next_date(
    session: Session, network: Network
) -> None:
    site = make_site(
        session, network.gb.caller, recrawl_days=7, next_crawl_at=NOW - timedelta(hours=1)
    )
    assert recrawls.queue_due(session, now=NOW) == 1
    (crawl,) = crawls_of(session, site)
    assert (crawl.reason, crawl.status, crawl.requested_at) == ("scheduled", "queued", NOW)
    assert crawl.actor_label == "recrawl schedule (GB-NCA)"
    assert crawl.frontier[-1]["url"] == site.url
    session.refresh(site)
    assert site.next_crawl_at == NOW + timedelta(days=7)
    assert recrawls.queue_due(session, now=NOW + timedelta(days=1)) == 0  # not due again
    queued = session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "commerce.crawl.queue", AuditEntry.subject_id == site.id
        )
    )
    assert queued is not None
    assert queued.detail["reason"] == "scheduled"


def test_sites_not_due_paused_or_unscheduled_are_left_alone(
    session: Session, network: Network
) -> None:
    caller = network.gb.caller
    make_site(
        session,
        caller,
        "https://later.example/",
        recrawl_days=7,
        next_crawl_at=NOW + timedelta(minutes=1),
    )
    make_site(
        session,
        caller,
        "https://paused.example/",
        recrawl_days=7,
        next_crawl_at=NOW,
        status="paused",
    )
    make_site(
        session, caller, "https://gone.example/", recrawl_days=7, next_crawl_at=NOW, status="gone"
    )
    make_site(session, caller, "https://once.example/", next_crawl_at=NOW)
    assert recrawls.queue_due(session, now=NOW) == 0
    assert session.scalars(select(CommerceCrawl)).all() == []


def test_a_slow_crawl_is_never_doubled(session: Session, network: Network) -> None:
    """A crawl still running when the next date comes: no second crawl, the date is pushed."""
    site = make_site(session, network.gb.caller, recrawl_days=1, next_crawl_at=NOW)
    running = make_crawl(session, site, NOW - timedelta(days=1), [], status="running")
    assert recrawls.queue_due(session, now=NOW) == 0
    assert [c.id for c in crawls_of(session, site)] == [running.id]
    session.refresh(site)
    assert site.next_crawl_at == NOW + timedelta(days=1)
    # once it finished, the next date brings the next crawl
    running.status, running.finished_at = "done", NOW + timedelta(hours=2)
    session.flush()
    assert recrawls.queue_due(session, now=NOW + timedelta(days=1)) == 1
    assert [c.reason for c in crawls_of(session, site)] == ["manual", "scheduled"]


def test_two_workers_never_claim_the_same_site(session: Session, network: Network) -> None:
    make_site(session, network.gb.caller, recrawl_days=3, next_crawl_at=NOW)
    job = recrawls.schedule_job()
    first = jobs.claim(session, job, limit=10, now=NOW)
    assert len(first) == 1
    assert jobs.claim(session, job, limit=10, now=NOW) == []


def test_the_worker_task_queues_due_recrawls(
    session_factory: sessionmaker[Session], session: Session, network: Network
) -> None:
    from taskforce import worker

    site = make_site(session, network.gb.caller, recrawl_days=30, next_crawl_at=NOW)
    session.commit()
    tools = worker.Tools(resolver=None, checker=None)  # type: ignore[arg-type]
    assert worker._recrawls(session_factory, None, tools, NOW) == 1  # type: ignore[arg-type]
    assert [c.reason for c in crawls_of(session, site)] == ["scheduled"]


def test_setting_and_clearing_a_schedule(session: Session, network: Network) -> None:
    caller = network.gb_analyst.caller
    never = make_site(session, caller, "https://new.example/")
    crawled = make_site(
        session, caller, "https://old.example/", last_crawled_at=NOW - timedelta(days=2)
    )
    assert recrawls.set_recrawl(session, caller, never.id, 14, now=NOW).next_crawl_at == NOW
    site = recrawls.set_recrawl(session, caller, crawled.id, 14, now=NOW)
    assert (site.recrawl_days, site.next_crawl_at) == (14, NOW + timedelta(days=12))
    site = recrawls.set_recrawl(session, caller, crawled.id, 1, now=NOW)
    assert site.next_crawl_at == NOW - timedelta(days=1)  # overdue: the next round queues it
    site = recrawls.set_recrawl(session, caller, crawled.id, None, now=NOW)
    assert (site.recrawl_days, site.next_crawl_at) == (None, None)
    for days in (0, 366, -3):
        with pytest.raises(Invalid) as refused:
            recrawls.set_recrawl(session, caller, crawled.id, days, now=NOW)
        assert refused.value.field == "recrawl_days"
    changed = session.scalars(
        select(AuditEntry.action).where(AuditEntry.subject_id == crawled.id)
    ).all()
    assert changed.count("commerce.site.recrawl") == 3


def test_another_agency_or_a_reader_may_not_schedule(session: Session, network: Network) -> None:
    site = make_site(session, network.gb.caller)
    with pytest.raises(NotFound):
        recrawls.set_recrawl(session, network.us.caller, site.id, 7, now=NOW)
    with pytest.raises(NotFound):
        recrawls.pause(session, network.nl.caller, site.id)
    with pytest.raises(Forbidden):
        recrawls.set_recrawl(session, network.gb_reader.caller, site.id, 7, now=NOW)
    session.refresh(site)
    assert site.recrawl_days is None


def test_a_paused_site_is_not_recrawled_until_resumed(session: Session, network: Network) -> None:
    caller = network.gb.caller
    site = make_site(
        session, caller, recrawl_days=7, next_crawl_at=NOW, last_crawled_at=NOW - timedelta(days=7)
    )
    recrawls.pause(session, caller, site.id)
    assert (site.status, site.next_crawl_at) == ("paused", None)
    with pytest.raises(Invalid):
        recrawls.pause(session, caller, site.id)
    assert recrawls.queue_due(session, now=NOW + timedelta(days=30)) == 0
    later = NOW + timedelta(days=30)
    recrawls.resume(session, caller, site.id, now=later)
    assert (site.status, site.next_crawl_at, site.recrawl_days) == ("active", NOW, 7)
    with pytest.raises(Invalid):
        recrawls.resume(session, caller, site.id, now=later)
    assert recrawls.queue_due(session, now=later) == 1


def test_a_schedule_cleared_while_claimed_queues_nothing(
    session: Session, network: Network
) -> None:
    """The analyst's change wins over a claim taken before it."""
    caller = network.gb.caller
    site = make_site(session, caller, recrawl_days=7, next_crawl_at=NOW)
    job = recrawls.schedule_job()
    (_claimed,) = jobs.claim(session, job, limit=1, now=NOW)
    recrawls.set_recrawl(session, caller, site.id, None, now=NOW)
    assert recrawls.queue_scheduled(session, site.id, NOW) is False
    assert crawls_of(session, site) == []
    assert site.next_crawl_at is None
