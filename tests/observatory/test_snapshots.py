"""Publishing a month: once only, by the coordinator, after the month; the figures frozen,
their hash stored and in the audit chain; verification finds an altered snapshot."""

from __future__ import annotations

from datetime import timedelta

import pytest
from observatory_builders import NOW, Month, hub_coordinator
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import Caller
from taskforce.core.errors import Forbidden, Invalid, NotFound
from taskforce.observatory import service
from taskforce.observatory.models import Snapshot


@pytest.fixture
def coordinator(session: Session) -> Caller:
    return hub_coordinator(session).caller


@pytest.mark.usefixtures("month")
def test_publish_freezes_the_month_with_its_hash_in_the_audit_chain(
    session: Session, coordinator: Caller
) -> None:
    published = service.publish(session, coordinator, "2026-10", NOW, threshold=3)
    assert published.period == "2026-10"
    assert published.figures.reports_received == 14
    assert published.published_by == "INT-HUB"
    assert published.sha256 == service.digest(published.figures.model_dump(mode="json"))
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "observatory.publish"))
    assert entry is not None
    assert entry.operation == "disclosure"
    assert entry.detail["sha256"] == published.sha256
    assert service.verify_published(session, "2026-10").ok
    assert [s.period for s in service.published(session)] == ["2026-10"]
    assert service.snapshot(session, "2026-10").sha256 == published.sha256


@pytest.mark.usefixtures("month")
def test_published_figures_never_change(session: Session, coordinator: Caller) -> None:
    first = service.publish(session, coordinator, "2026-10", NOW, threshold=3)
    with pytest.raises(service.AlreadyPublished) as refused:
        service.publish(session, coordinator, "2026-10", NOW + timedelta(days=1), threshold=3)
    assert refused.value.rule == service.ONCE
    assert refused.value.http_status == 409
    assert service.snapshot(session, "2026-10").sha256 == first.sha256


def test_only_a_month_that_has_ended(session: Session, coordinator: Caller) -> None:
    with pytest.raises(Invalid) as refused:
        service.publish(session, coordinator, "2026-11", NOW)
    assert refused.value.rule == "a month that has ended"
    with pytest.raises(Invalid):
        service.publish(session, coordinator, "2026-13", NOW)
    with pytest.raises(Invalid):
        service.publish(session, coordinator, "last month", NOW)


def test_only_the_coordinator_publishes(session: Session, month: Month) -> None:
    with pytest.raises(Forbidden):
        service.publish(session, month.net.gb_admin.caller, "2026-10", NOW)
    assert session.scalar(select(Snapshot)) is None


@pytest.mark.usefixtures("month")
def test_verify_finds_an_altered_snapshot(session: Session, coordinator: Caller) -> None:
    service.publish(session, coordinator, "2026-10", NOW, threshold=3)
    row = session.scalars(select(Snapshot)).one()
    figures = dict(row.figures)
    figures["reports_received"] = 140
    session.execute(update(Snapshot).where(Snapshot.id == row.id).values(figures=figures))
    session.expire_all()
    check = service.verify_published(session, "2026-10")
    assert not check.ok
    assert check.stored != check.computed
    # rewriting the stored hash too is caught by the hash the audit chain holds
    session.execute(update(Snapshot).where(Snapshot.id == row.id).values(sha256=check.computed))
    session.expire_all()
    again = service.verify_published(session, "2026-10")
    assert not again.ok
    assert again.audited != again.stored


def test_an_unpublished_month_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        service.snapshot(session, "2026-10")
    with pytest.raises(NotFound):
        service.verify_published(session, "2026-10")


def test_live_figures_for_members_audited(session: Session, month: Month) -> None:
    result = service.live(session, month.net.nl.caller, "2026-10", NOW, threshold=3)
    assert result.period == "live"
    assert result.reports_received == 14
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "observatory.live"))
    assert entry is not None
    assert entry.operation == "consultation"
    current = service.live(session, month.net.nl.caller, None, NOW, threshold=3)
    assert current.period_start.month == 11
    assert current.period_end == NOW
    with pytest.raises(Invalid):
        service.live(session, month.net.nl.caller, "2027-01", NOW)
