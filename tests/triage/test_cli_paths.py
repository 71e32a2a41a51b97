"""`taskforce triage` never reports success for nothing: evidence that is not there and a
report folder that is a file are refused by name, before any progress bar or report."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from builders import make_agency
from typer.testing import CliRunner

from taskforce.cli import app
from taskforce.core.db import make_engine, make_sessionmaker, unit_of_work
from taskforce.core.settings import Settings


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("TASKFORCE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TASKFORCE_DATABASE_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    engine = make_engine(Settings())
    with unit_of_work(make_sessionmaker(engine)) as s:
        make_agency(s, "GB-NCA")
    engine.dispose()
    return runner


def _triage(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["triage", *args, "--agency", "GB-NCA", "--workers", "1"])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_missing_evidence_is_named_and_nothing_is_written(
    runner: CliRunner, tmp_path: Path
) -> None:
    real = tmp_path / "seizure"
    real.mkdir()
    (real / "a.txt").write_text("benign")
    missing = tmp_path / "seizure-17-typo"
    out = tmp_path / "report"
    code, output = _triage(runner, str(real), str(missing), "--out", str(out))
    assert code == 2, output
    assert f"no such file or folder: {missing}" in output
    assert "report:" not in output
    assert not out.exists()  # refused before the run began


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_evidence_is_named(runner: CliRunner, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        code, output = _triage(runner, str(locked), "--out", str(tmp_path / "report"))
    finally:
        locked.chmod(0o700)
    assert code == 2, output
    assert f"cannot read {locked}" in output


def test_out_naming_a_file_is_a_clear_error(runner: CliRunner, tmp_path: Path) -> None:
    real = tmp_path / "seizure"
    real.mkdir()
    (real / "a.txt").write_text("benign")
    existing = tmp_path / "notes.txt"
    existing.write_text("my notes")
    code, output = _triage(runner, str(real), "--out", str(existing))
    assert code == 2, output
    assert f"out: {existing} is a file" in output
    assert existing.read_text() == "my notes"
    under = existing / "report"  # a folder under a file cannot be made either
    code, output = _triage(runner, str(real), "--out", str(under))
    assert code == 2, output
    assert "out: " in output


def test_an_empty_folder_is_triaged_to_an_empty_report(runner: CliRunner, tmp_path: Path) -> None:
    """The fixed cost's benchmark case (`time taskforce triage EMPTY --out X`): it runs, says
    it found nothing and writes a report that says so."""
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "report"
    code, output = _triage(runner, str(empty), "--out", str(out))
    assert code == 0, output
    assert "0 files, 0 hashed" in output
    assert json.loads((out / "summary.json").read_text())["files_total"] == 0
    assert (out / "results.jsonl").read_text() == ""
