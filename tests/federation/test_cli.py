"""`taskforce federation key init|rotate|show` on a fresh SQLite data folder."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from taskforce.cli import app


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("TASKFORCE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TASKFORCE_DATABASE_URL", raising=False)
    monkeypatch.setenv("TASKFORCE_FEDERATION_KEY_HOLDER", "true")
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    return runner


def test_init_rotate_and_show_the_public_keys(run: CliRunner, tmp_path: Path) -> None:
    first = run.invoke(app, ["federation", "key", "init"])
    assert first.exit_code == 0, first.output
    assert "created epoch 1: public key " in first.output
    key_file = tmp_path / "federation" / "oprf-keys" / "epoch-000001.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip() not in first.output  # the secret is never printed

    again = run.invoke(app, ["federation", "key", "init"])
    assert again.exit_code != 0
    assert "exists already" in again.output
    assert "key rotate" in again.output

    assert run.invoke(app, ["federation", "key", "rotate"]).exit_code == 0
    shown = run.invoke(app, ["federation", "key", "show", "--json"])
    assert shown.exit_code == 0, shown.output
    lines = [json.loads(line) for line in shown.output.splitlines()]
    assert [(k["epoch"], k["current"]) for k in lines] == [(1, False), (2, True)]
    assert lines[0]["public_key"] in first.output
    # each epoch's PDQ-chunk key beside it, another key, its secret never printed either
    assert lines[0]["pdq_chunk_public_key"] in first.output
    assert lines[0]["pdq_chunk_public_key"] != lines[0]["public_key"]
    chunk_file = key_file.with_name("pdq-chunk-epoch-000001.key")
    assert chunk_file.read_text().strip() not in first.output


def test_a_node_that_is_not_the_key_holder_is_told_so(
    run: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TASKFORCE_FEDERATION_KEY_HOLDER", "false")
    for command in (["init"], ["rotate"], ["show"]):
        result = run.invoke(app, ["federation", "key", *command])
        assert result.exit_code != 0
        assert "not the network's OPRF key holder" in result.output
    assert not (tmp_path / "federation").exists()


def test_show_and_rotate_before_init_say_what_to_run(run: CliRunner) -> None:
    for command in (["show"], ["rotate"]):
        result = run.invoke(app, ["federation", "key", *command])
        assert result.exit_code != 0
        assert "taskforce federation key init" in result.output
