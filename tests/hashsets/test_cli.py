"""An analyst's hash-set work at the console, on a fresh SQLite data folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from taskforce.cli import app

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("TASKFORCE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TASKFORCE_DATABASE_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    added = runner.invoke(
        app,
        [
            "agency",
            "add",
            "GB-NCA",
            "--name",
            "NCA",
            "--country",
            "GB",
            "--timezone",
            "Europe/London",
            "--phone",
            "+442079460000",
            "--email",
            "desk@nca.example.com",
        ],
    )
    assert added.exit_code == 0, added.output
    return runner


def test_import_export_and_list(run: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "known.csv"
    source.write_text(f"md5,pdq,category,series\n{MD5.upper()},{PDQ},national-a,Bridge\nbad,,,\n")
    first = run.invoke(
        app,
        [
            "hashset",
            "import",
            str(source),
            "--name",
            "Known",
            "--agency",
            "GB-NCA",
            "--sharing",
            "green",
        ],
    )
    assert first.exit_code == 0, first.output
    assert "1 added" in first.output
    assert "1 rejected" in first.output
    assert "line 3: md5" in first.output
    again = run.invoke(
        app, ["hashset", "import", str(source), "--name", "Known", "--agency", "GB-NCA"]
    )
    assert "0 added, 1 already present" in again.output

    out = tmp_path / "known.vics.json"
    exported = run.invoke(
        app,
        ["hashset", "export", "Known", "--format", "vics", "--out", str(out), "--agency", "GB-NCA"],
    )
    assert exported.exit_code == 0, exported.output
    media = json.loads(out.read_text())["value"]
    assert media[0]["MD5"] == MD5.upper()
    assert media[0]["Series"] == "Bridge"

    listed = run.invoke(app, ["hashset", "list"])
    assert "Known" in listed.output
    assert "GB-NCA" in listed.output
    assert "green" in listed.output


def test_unknown_agency_is_a_clear_error(run: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "list.txt"
    source.write_text(MD5 + "\n")
    result = run.invoke(
        app, ["hashset", "import", str(source), "--name", "K", "--agency", "XX-NONE"]
    )
    assert result.exit_code != 0
    assert "XX-NONE" in result.output or "agency" in result.output


def test_an_amber_set_created_by_an_import_names_its_partners(
    run: CliRunner, tmp_path: Path
) -> None:
    source = tmp_path / "list.txt"
    source.write_text(MD5 + "\n")
    base = ["hashset", "import", str(source), "--name", "K", "--agency", "GB-NCA"]
    refused = run.invoke(app, [*base, "--sharing", "amber"])
    assert refused.exit_code == 2
    assert "partner" in refused.output
    partner = ["agency", "add", "NL-NP", "--name", "NP", "--country", "NL"]
    partner += ["--timezone", "Europe/Amsterdam", "--phone", "+31201234567"]
    partner += ["--email", "desk@politie.example.nl"]
    assert run.invoke(app, partner).exit_code == 0
    created = run.invoke(app, [*base, "--sharing", "amber", "--partner", "NL-NP"])
    assert created.exit_code == 0, created.output
    assert "1 added" in created.output
