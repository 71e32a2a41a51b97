"""The console finds its database or says why not: a database without a schema is named, with
the command that makes one, and no empty SQLite file is left behind by asking."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import fresh_database
from typer.testing import CliRunner

from taskforce.cli import app as cli_app

NOT_INITIALISED = "this database is not initialised: run `taskforce db upgrade`"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("TASKFORCE_DATA_DIR", str(folder))
    monkeypatch.delenv("TASKFORCE_DATABASE_URL", raising=False)
    return folder


def test_a_fresh_data_folder_is_refused_and_left_untouched(data_dir: Path) -> None:
    r = CliRunner().invoke(cli_app, ["agency", "list"])
    assert r.exit_code == 2, r.output
    assert NOT_INITIALISED in r.output
    assert "Traceback" not in r.output
    assert not (data_dir / "taskforce.db").exists()  # asking made no empty database
    assert not data_dir.exists()


def test_an_empty_sqlite_file_is_not_a_database(data_dir: Path) -> None:
    data_dir.mkdir()
    (data_dir / "taskforce.db").touch()  # what the console of an older release left behind
    r = CliRunner().invoke(cli_app, ["hashset", "list"])
    assert r.exit_code == 2, r.output
    assert NOT_INITIALISED in r.output


def test_the_demo_database_is_pointed_to(data_dir: Path) -> None:
    (data_dir / "demo").mkdir(parents=True)
    (data_dir / "demo" / "taskforce.db").touch()
    r = CliRunner().invoke(cli_app, ["hashset", "list"])
    assert r.exit_code == 2, r.output
    assert f"export TASKFORCE_DATA_DIR={data_dir / 'demo'}" in r.output


def test_db_check_on_a_fresh_folder_says_so_without_a_traceback(data_dir: Path) -> None:
    r = CliRunner().invoke(cli_app, ["db", "check"])
    assert r.exit_code == 2, r.output
    assert NOT_INITIALISED in r.output
    assert not (data_dir / "taskforce.db").exists()
    assert CliRunner().invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    r = CliRunner().invoke(cli_app, ["db", "check"])
    assert r.exit_code == 0, r.output
    assert "models and migrations agree" in r.output


@pytest.mark.usefixtures("data_dir")
def test_after_db_upgrade_the_same_command_works() -> None:
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    r = runner.invoke(cli_app, ["agency", "list"])
    assert r.exit_code == 0, r.output
    assert NOT_INITIALISED not in r.output


def test_an_empty_postgresql_database_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fresh_database("postgresql", tmp_path) as url:
        monkeypatch.setenv("TASKFORCE_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("TASKFORCE_DATABASE_URL", url)
        r = CliRunner().invoke(cli_app, ["agency", "list"])
    assert r.exit_code == 2, r.output
    assert NOT_INITIALISED in r.output
