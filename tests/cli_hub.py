"""The `taskforce` console on a fresh SQLite data folder, as an operator starts one: the
migrations run, then agencies registered with `taskforce agency add`. One place, so that every
CLI test starts its hub the same way."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from taskforce.cli import app


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
