"""`taskforce observatory ...` on a fresh SQLite data folder: internet users with bad lines,
publish once, list, verify, show as text, JSON and CSV."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_hub import fresh_hub
from typer.testing import CliRunner

from taskforce.cli import app

PERIOD = "2020-01"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    return fresh_hub(tmp_path, monkeypatch)


def test_internet_users_keeps_good_lines_and_reports_bad_ones(
    run: CliRunner, tmp_path: Path
) -> None:
    file = tmp_path / "users.csv"
    file.write_text(
        "country,internet_users,year,source\n"
        "NL,16500000,2023,ITU (fictional test figure)\n"
        "DEU,78000000,2023,ITU (fictional test figure)\n"
        "XX,100,2023,ITU\n"
        "GB,many,2023,ITU\n"
        "FR,1000,1850,ITU\n"
        "US,1000,2023\n"
    )
    result = run.invoke(app, ["observatory", "internet-users", str(file)])
    assert result.exit_code == 0, result.output
    assert "loaded 2 countries, 4 bad lines" in result.output
    assert "line 4: country" in result.output
    assert "line 5: internet_users" in result.output
    assert "line 6: year" in result.output
    assert "line 7: 4 fields" in result.output
    shown = run.invoke(app, ["observatory", "show", "--period", PERIOD, "--format", "json"])
    assert shown.exit_code == 0, shown.output
    denominators = json.loads(shown.output)["denominators"]
    assert denominators["internet_users_countries"] == 2
    assert denominators["internet_users_year"] == 2023


def test_a_missing_file_is_named_without_a_traceback(run: CliRunner, tmp_path: Path) -> None:
    result = run.invoke(app, ["observatory", "internet-users", str(tmp_path / "absent.csv")])
    assert result.exit_code == 2
    assert "cannot be read: No such file" in result.output


def test_a_header_missing_loads_nothing(run: CliRunner, tmp_path: Path) -> None:
    file = tmp_path / "users.csv"
    file.write_text("NL,16500000,2023,ITU\n")
    result = run.invoke(app, ["observatory", "internet-users", str(file)])
    assert result.exit_code == 1
    assert "line 1: the first line must be the header" in result.output


def test_publish_once_list_verify_show(run: CliRunner) -> None:
    assert run.invoke(app, ["observatory", "snapshots"]).exit_code == 1
    first = run.invoke(app, ["observatory", "publish", "--period", PERIOD])
    assert first.exit_code == 0, first.output
    assert first.output.startswith(f"published {PERIOD}")
    again = run.invoke(app, ["observatory", "publish", "--period", PERIOD])
    assert again.exit_code == 2
    assert "published once" in again.output
    listed = run.invoke(app, ["observatory", "snapshots"])
    assert listed.exit_code == 0
    assert PERIOD in listed.output
    checked = run.invoke(app, ["observatory", "verify", "--period", PERIOD])
    assert checked.exit_code == 0, checked.output
    assert "ok: the published figures are unchanged" in checked.output
    text = run.invoke(app, ["observatory", "show", "--period", PERIOD, "--published"])
    assert text.exit_code == 0, text.output
    assert "not a measure of prevalence" in text.output
    assert "\t" not in text.output  # columns aligned with spaces, under their headings
    assert f"{PERIOD} as published" in text.output
    heading = next(line for line in text.output.splitlines() if "median hours" in line)
    assert heading.strip() == "country  removed  median hours  90th pct hours  open past deadline"
    sheet = run.invoke(
        app, ["observatory", "show", "--period", PERIOD, "--published", "--format", "csv"]
    )
    assert sheet.output.startswith("table,period,country")
    missing = run.invoke(app, ["observatory", "verify", "--period", "2020-02"])
    assert missing.exit_code == 1
    assert "snapshot not found" in missing.output
    assert "2020-02 has not been published" in missing.output  # which month, and where to look
    assert run.invoke(app, ["observatory", "show", "--format", "xml"]).exit_code == 2
