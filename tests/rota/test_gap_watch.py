"""The worker's gap watch: a gap that no change opens but time brings within the next 30 days
(here a desk's outage declared 31 days ahead) is told to the coordinator once, when the clock
reaches it, at most once per `rota_gap_check_minutes`, and never twice by two workers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import migrated_engine
from rota_builders import NOW, RotaNet, make_rota
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from watch_builders import make_coordinator

from taskforce.core.audit.models import AuditEntry
from taskforce.core.db import make_sessionmaker, unit_of_work
from taskforce.core.inbox.models import InboxNotice
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings
from taskforce.rota import directory, gapwatch
from taskforce.rota.models import CoverageRequirement, KnownGap
from taskforce.rota.schemas import UnavailabilityCreate

# US-HSI's night shift (22:00-06:00 UTC) is the only one then: 31 days after NOW, 20:00-22:00
# in New York leaves no desk on duty.
GAP = (datetime(2027, 1, 7, 1, tzinfo=UTC), datetime(2027, 1, 7, 3, tzinfo=UTC))
REACHED = GAP[0] - timedelta(days=30)  # Tue 8 Dec 01:00: the gap starts entering the window


def notices(session: Session) -> list[InboxNotice]:
    return list(session.scalars(select(InboxNotice).order_by(InboxNotice.created_at)))


def mails(session: Session) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email")))


def off(session: Session, net: RotaNet, code: str, start: datetime, end: datetime) -> None:
    directory.add_unavailability(
        session,
        net.coord.caller,
        net.desks[code].id,
        UnavailabilityCreate(starts_at=start, ends_at=end, reason="storm"),
        now=NOW,
    )


def test_a_gap_31_days_ahead_is_told_when_the_clock_reaches_it_and_once(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, net: RotaNet
) -> None:
    off(session, net, "US-HSI", *GAP)
    assert notices(session) == []  # declared 31 days ahead: the change sees no gap in 30 days

    check = gapwatch.check_due
    assert check(session_factory, settings, now=REACHED - timedelta(minutes=30)) == 0
    assert notices(session) == []
    # within the window now, but the worker looked 50 minutes ago (every 60): not yet
    assert check(session_factory, settings, now=REACHED + timedelta(minutes=20)) == 0
    assert notices(session) == []

    assert check(session_factory, settings, now=REACHED + timedelta(minutes=30)) == 1
    [notice] = notices(session)
    assert notice.agency_id == net.coordinator.id
    assert notice.kind == "rota.gap"
    assert notice.title == (
        "New gap in the 24/7 rota: Any desk on duty, from Thu 07 Jan 2027 01:00 UTC"
    )
    # told with all of it, though only its first half hour is within 30 days yet
    assert "from Thu 07 Jan 2027 01:00 UTC to Thu 07 Jan 2027 03:00 UTC" in notice.body
    assert notice.body.startswith("As time passes, these intervals come within the next 30 days")
    [mail] = mails(session)
    assert mail.recipient == "desk@int-watch.example.com"
    assert (mail.subject, mail.body) == (notice.title, notice.body)
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "rota.gaps.notify"))
    assert (entry.actor_label, entry.channel) == ("24/7 watch", "job")
    assert entry.subject_id == net.coordinator.id

    # the next looks, as the gap comes wholly within the window: nothing new
    for hours in (1, 2, 24):
        assert check(session_factory, settings, now=REACHED + timedelta(hours=hours)) == 0
    assert len(notices(session)) == 1
    assert len(mails(session)) == 1
    [known] = session.scalars(select(KnownGap)).all()
    assert (known.starts_at, known.ends_at) == GAP


def test_a_long_gap_is_told_once_while_the_horizon_moves_along_it(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, net: RotaNet
) -> None:
    start, end = datetime(2027, 1, 10, tzinfo=UTC), datetime(2027, 3, 31, tzinfo=UTC)
    for code in net.desks:
        off(session, net, code, start, end)
    # a look a day for five weeks: the gap is first within 30 days after 11 Dec 00:00
    days = [datetime(2026, 12, 9, 12, tzinfo=UTC) + timedelta(days=n) for n in range(36)]
    told = [gapwatch.check_due(session_factory, settings, now=day) for day in days]
    assert told == [0, 0, 1] + [0] * 33
    [notice] = notices(session)
    assert notice.title.endswith("from Sun 10 Jan 2027 00:00 UTC")


def test_without_a_rota_the_watch_tells_nothing_and_makes_nothing(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    make_coordinator(session)  # a coordinator, but no desk: this node keeps no rota
    assert gapwatch.check_due(session_factory, settings, now=NOW) == 0
    assert notices(session) == []
    assert mails(session) == []
    assert session.scalars(select(KnownGap)).all() == []
    assert session.scalars(select(CoverageRequirement)).all() == []


WORKERS = 3


@pytest.fixture(params=["sqlite", "postgresql"])
def committed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with migrated_engine(request.param, tmp_path) as engine:
        yield engine


def test_workers_looking_at_once_tell_a_gap_once(committed: Engine) -> None:
    factory = make_sessionmaker(committed)
    settings: Settings = committed.info_settings  # type: ignore[attr-defined]
    with unit_of_work(factory) as session:
        net = make_rota(session)
        off(session, net, "US-HSI", *GAP)
    barrier = threading.Barrier(WORKERS)
    errors: list[BaseException] = []
    told: list[int] = []

    def look() -> None:
        try:
            own = make_sessionmaker(committed)  # a worker process of its own
            barrier.wait(timeout=10)
            told.append(gapwatch.check_due(own, settings, now=REACHED + timedelta(hours=1)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=look) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sorted(told) == [0] * (WORKERS - 1) + [1]
    with unit_of_work(factory) as session:

        def count(model: type) -> int:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)

        assert count(InboxNotice) == 1
        assert count(KnownGap) == 1
        assert len(mails(session)) == 1
