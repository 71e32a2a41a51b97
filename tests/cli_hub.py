"""The `taskforce` console on a fresh SQLite data folder, as an operator starts one: the
migrations run, then agencies registered with `taskforce agency add`. One place, so that every
CLI test starts its hub the same way."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from taskforce.cli import app
from taskforce.core.db import make_engine, make_sessionmaker, unit_of_work
from taskforce.core.settings import Settings


def fresh_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose commands use `tmp_path` as the data folder (SQLite), upgraded."""
    monkeypatch.setenv("TASKFORCE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TASKFORCE_DATABASE_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    return runner


def add_agency(
    runner: CliRunner,
    code: str,
    *,
    country: str,
    timezone: str,
    phone: str,
    name: str | None = None,
    email: str | None = None,
    kind: str | None = None,
) -> None:
    """`taskforce agency add CODE ...`; the name and the desk's address fictional by default."""
    args = [
        "agency", "add", code, "--name", name or f"{code} (fictional)", "--country", country,
        "--timezone", timezone, "--phone", phone,
        "--email", email or f"desk@{code.lower()}.example.com",
    ]  # fmt: skip
    if kind is not None:
        args += ["--kind", kind]
    added = runner.invoke(app, args)
    assert added.exit_code == 0, added.output


@contextmanager
def hub_session(data_dir: Path) -> Iterator[Session]:
    """One unit of work on the hub in `data_dir` (to seed what a command then reads, or to
    read what it wrote): committed when the block ends, its engine disposed."""
    engine = make_engine(Settings(data_dir=data_dir, allow_insecure_defaults=True))
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            yield session
    finally:
        engine.dispose()
