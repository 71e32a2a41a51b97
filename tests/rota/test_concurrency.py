"""Desks declaring the same outage at once, on a committed database (not a test
transaction): the gap it opens is told to the coordinator once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import migrated_engine
from rota_builders import NOW, make_rota
from sqlalchemy import Engine, func, select

from taskforce.core.db import make_sessionmaker, unit_of_work
from taskforce.core.inbox.models import InboxNotice
from taskforce.core.outbox.models import OutboxMessage
from taskforce.rota import directory
from taskforce.rota.models import DeskUnavailability, KnownGap
from taskforce.rota.schemas import UnavailabilityCreate

WRITERS = 4


@pytest.fixture(params=["sqlite", "postgresql"])
def committed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with migrated_engine(request.param, tmp_path) as engine:
        yield engine


def test_one_gap_opened_by_several_changes_at_once_is_told_once(committed: Engine) -> None:
    factory = make_sessionmaker(committed)
    with unit_of_work(factory) as session:
        net = make_rota(session)
    desk_id = net.desks["US-HSI"].id
    data = UnavailabilityCreate(
        starts_at=datetime(2026, 12, 8, 1, tzinfo=UTC),
        ends_at=datetime(2026, 12, 8, 3, tzinfo=UTC),
        reason="storm",
    )
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def declare() -> None:
        try:
            own = make_sessionmaker(committed)
            barrier.wait(timeout=10)
            with unit_of_work(own) as session:
                directory.add_unavailability(session, net.coord.caller, desk_id, data, now=NOW)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=declare) for _ in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    with unit_of_work(factory) as session:

        def count(model: type) -> int:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)

        assert count(DeskUnavailability) == WRITERS
        assert count(InboxNotice) == 1
        assert count(KnownGap) == 1
        mails = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email"))
        assert len(list(mails)) == 1
