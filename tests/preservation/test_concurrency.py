"""At once, on a committed database (not a test transaction): desks recording together get one
reference each, and several workers running the reminder job remind each request once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from builders import make_agency, make_person
from conftest import migrated_engine
from preservation_builders import request_data
from sqlalchemy import Engine, func, select

from taskforce.core.caller import Caller
from taskforce.core.db import make_sessionmaker, unit_of_work
from taskforce.core.jobs import runner as jobs
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings
from taskforce.preservation import reminders, service
from taskforce.preservation.models import PreservationEvent, PreservationRequest

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EXPIRES = datetime(2026, 5, 30, 14, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def committed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, Settings]]:
    with migrated_engine(request.param, tmp_path) as engine:
        yield engine, engine.info_settings  # type: ignore[attr-defined]


def _desk(engine: Engine) -> Caller:
    with unit_of_work(make_sessionmaker(engine)) as session:
        return make_person(session, make_agency(session, "GB-NCA")).caller


def _together(n: int, step: Callable[[], object]) -> list[object]:
    """`step` in n threads started at the same moment; their results (errors re-raised)."""
    results: list[object] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(step())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    return results


def test_desks_recording_at_once_get_one_reference_each(
    committed: tuple[Engine, Settings],
) -> None:
    engine, settings = committed
    desk = _desk(engine)

    def record() -> str:
        with unit_of_work(make_sessionmaker(engine)) as session:
            return service.record(session, desk, settings, request_data(), now=NOW).reference

    references = _together(4, record)
    assert sorted(str(r) for r in references) == [f"PR-GB-2026-000{n}" for n in range(1, 5)]


def test_workers_running_at_once_remind_each_request_once(
    committed: tuple[Engine, Settings],
) -> None:
    engine, settings = committed
    desk = _desk(engine)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as session:
        for _ in range(5):
            service.record(session, desk, settings, request_data(), now=NOW)
    due = EXPIRES - timedelta(days=14)

    def work() -> int:
        job = reminders.reminder_job(settings)
        done = 0
        while n := jobs.run(make_sessionmaker(engine), job, limit=2, now=due).claimed:
            done += n
        return done

    assert sum(int(str(n)) for n in _together(3, work)) == 5
    with unit_of_work(factory) as session:
        reminded = session.scalar(
            select(func.count())
            .select_from(PreservationEvent)
            .where(PreservationEvent.kind == "reminded")
        )
        mails = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.reference.like("preservation_request:%"))
        )
        sent = set(session.scalars(select(PreservationRequest.reminders_sent)))
    assert (reminded, mails, sent) == (5, 5, {1})
