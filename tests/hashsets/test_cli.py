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


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "image/png"),
        (b"Dear colleague,\nplease find the files attached.\nKind regards\n", "not a hash list"),
        (b"", "the file is empty"),
    ],
    ids=["picture", "letter", "empty"],
)
def test_a_file_that_is_no_hash_list_creates_no_set(
    run: CliRunner, tmp_path: Path, content: bytes, reason: str
) -> None:
    source = tmp_path / "upload.bin"
    source.write_bytes(content)
    r = run.invoke(
        app, ["hashset", "import", str(source), "--name", "Holiday", "--agency", "GB-NCA"]
    )
    assert r.exit_code != 0, r.output
    assert reason in r.output
    assert "Traceback" not in r.output
    assert "Holiday" not in run.invoke(app, ["hashset", "list"]).output  # no set was made


def test_an_import_that_rejects_every_line_fails(run: CliRunner, tmp_path: Path) -> None:
    assert run.invoke(app, ["hashset", "create", "Known", "--agency", "GB-NCA"]).exit_code == 0
    source = tmp_path / "bad.csv"
    source.write_text("md5,sha1\nnot-a-hash,\nstill-not,\n")
    r = run.invoke(app, ["hashset", "import", str(source), "--name", "Known", "--agency", "GB-NCA"])
    assert r.exit_code != 0, r.output
    assert "none of its 2 entries could be read" in r.output


def test_rename_and_delete(run: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "known.csv"
    source.write_text(f"md5\n{MD5}\n")
    args = ["--agency", "GB-NCA"]
    assert (
        run.invoke(app, ["hashset", "import", str(source), "--name", "Known", *args]).exit_code == 0
    )
    renamed = run.invoke(app, ["hashset", "rename", "Known", "Known 2026", *args])
    assert renamed.exit_code == 0, renamed.output
    assert "Known 2026" in run.invoke(app, ["hashset", "list"]).output
    missing = run.invoke(app, ["hashset", "delete", "Known", "--yes", *args])
    assert missing.exit_code != 0
    assert "hash set not found" in missing.output
    asked = run.invoke(app, ["hashset", "delete", "Known 2026", *args], input="n\n")
    assert asked.exit_code != 0
    assert "and its 1 entry?" in asked.output
    deleted = run.invoke(app, ["hashset", "delete", "Known 2026", "--yes", *args])
    assert deleted.exit_code == 0, deleted.output
    assert "deleted with its 1 entry" in deleted.output
    assert "no hash sets" in run.invoke(app, ["hashset", "list"]).output
