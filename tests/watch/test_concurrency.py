"""Several workers escalating at once, on a committed database (not a test transaction):
every due lead is escalated exactly once, and no lead is reminded in the same round."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from builders import seal_and_verify
from conftest import migrated_engine
from sqlalchemy import ColumnElement, Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from watch_builders import RECEIVED, make_watch, open_lead

from taskforce.core.audit.models import AuditEntry
from taskforce.core.db import make_sessionmaker, unit_of_work
from taskforce.core.jobs import runner as jobs
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings
from taskforce.watch import escalation
from taskforce.watch.models import UrgentLead, UrgentLeadStep, UrgentLeadTarget

NOW = RECEIVED + timedelta(minutes=16)


@pytest.fixture(params=["sqlite", "postgresql"])
def committed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, Settings]]:
    with migrated_engine(request.param, tmp_path) as engine:
        yield engine, engine.info_settings  # type: ignore[attr-defined]


def _leads(factory: sessionmaker[Session], settings: Settings, n: int) -> list[uuid.UUID]:
    with unit_of_work(factory) as session:
        make_watch(session)
        return [open_lead(session, settings, country="GB").id for _ in range(n)]


def _run_workers(
    engine: Engine, settings: Settings, workers: int, *, now: datetime, limit: int
) -> list[int]:
    """Each worker its own sessionmaker (as its own process would), started together, each
    running the escalation job until it finds nothing due."""
    handled: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(workers)

    def work() -> None:
        factory = make_sessionmaker(engine)
        job = escalation.escalation_job(settings)
        total = 0
        try:
            barrier.wait(timeout=10)
            while n := jobs.run(factory, job, limit=limit, now=now).done:
                total += n
        except BaseException as exc:
            errors.append(exc)
        handled.append(total)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    return handled


def _count(session: Session, model: type[Any], *where: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_two_workers_escalate_a_lead_exactly_once(committed: tuple[Engine, Settings]) -> None:
    engine, settings = committed
    factory = make_sessionmaker(engine)
    [lead_id] = _leads(factory, settings, 1)
    assert sorted(_run_workers(engine, settings, 2, now=NOW, limit=50)) == [0, 1]
    with unit_of_work(factory) as session:
        steps = list(
            session.scalars(select(UrgentLeadStep.step).where(UrgentLeadStep.lead_id == lead_id))
        )
        assert steps.count("escalated") == 1
        assert "reminder" not in steps
        lead = session.get(UrgentLead, lead_id)
        assert lead is not None
        assert lead.escalated_at == NOW
        assert lead.check_at == NOW + timedelta(minutes=settings.urgent_ack_minutes)
        assert _count(session, UrgentLeadTarget, UrgentLeadTarget.reason == "escalation") == 1
        assert _count(session, OutboxMessage, OutboxMessage.subject == "urgent_lead.escalated") == 1
    assert seal_and_verify(factory, settings).ok


def test_many_workers_share_many_leads_and_escalate_each_once(
    committed: tuple[Engine, Settings],
) -> None:
    engine, settings = committed
    factory = make_sessionmaker(engine)
    ids = _leads(factory, settings, 12)
    assert sum(_run_workers(engine, settings, 4, now=NOW, limit=3)) == 12
    with unit_of_work(factory) as session:
        for lead_id in ids:
            steps = list(
                session.scalars(
                    select(UrgentLeadStep.step).where(UrgentLeadStep.lead_id == lead_id)
                )
            )
            assert steps.count("escalated") == 1, steps
            assert "reminder" not in steps, steps
        assert _count(session, UrgentLeadTarget, UrgentLeadTarget.reason == "escalation") == 12
        escalations = _count(
            session, AuditEntry, AuditEntry.action == "report.urgent_lead.escalate"
        )
        assert escalations == 12
    assert seal_and_verify(factory, settings).ok
    # the next round, one interval later, reminds each lead once
    later = NOW + timedelta(minutes=settings.urgent_ack_minutes)
    assert sum(_run_workers(engine, settings, 4, now=later, limit=3)) == 12
    with unit_of_work(factory) as session:
        assert _count(session, UrgentLeadStep, UrgentLeadStep.step == "reminder") == 12
