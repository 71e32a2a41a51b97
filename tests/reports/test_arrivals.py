"""Arrivals of public reports go into the audit chain from the worker, in batches, each exactly
once — also with two workers at once on a committed database."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from builders import seal_and_verify
from conftest import migrated_engine
from sqlalchemy import func, select

from taskforce.core.audit.models import AuditEntry
from taskforce.core.db import make_sessionmaker
from taskforce.core.jobs import runner as jobs
from taskforce.core.settings import Settings
from taskforce.reports import service
from taskforce.reports.models import Report
from taskforce.reports.schemas import Kind, ReportCreate


def _reports(factory: object, settings: Settings, n: int) -> None:
    with factory.begin() as session:  # type: ignore[attr-defined]
        for i in range(n):
            data = ReportCreate(
                kind=Kind.URL,
                details={"url": f"https://e{i}.example.com/a"},
                country=None,
                language="en",
            )
            service.submit_report(session, settings, data, address=f"198.51.100.{i % 250}:{i}")


@pytest.mark.parametrize("backend_name", ["sqlite", "postgresql"])
def test_two_workers_log_every_arrival_exactly_once_in_batches(
    backend_name: str, tmp_path: Path
) -> None:
    with migrated_engine(backend_name, tmp_path) as engine:
        settings: Settings = engine.info_settings  # type: ignore[attr-defined]
        factory = make_sessionmaker(engine)
        _reports(factory, settings, 120)
        barrier = threading.Barrier(2)
        counts: list[int] = []
        errors: list[BaseException] = []

        def work() -> None:
            try:
                barrier.wait(timeout=10)
                total = 0
                while done := jobs.once(factory, lambda s: service.log_arrivals(s, limit=25)):
                    total += done
                counts.append(total)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        assert sum(counts) == 120
        with factory() as session:
            logged = session.scalars(
                select(AuditEntry.subject_id).where(AuditEntry.action == "report.public.create")
            ).all()
            assert len(logged) == len(set(logged)) == 120
            assert (
                session.scalar(
                    select(func.count()).select_from(Report).where(Report.logged_at.is_(None))
                )
                == 0
            )
        result = seal_and_verify(factory, settings)
        assert result.ok
        assert result.checked == result.sealed == 120
