"""`taskforce case not-for-export` and `taskforce hashset not-for-export` on a fresh SQLite data
folder: the owner's agency marks and unmarks; another agency is refused with a non-zero exit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from taskforce.cli import app


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("TASKFORCE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TASKFORCE_DATABASE_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    for code, country, tz, phone in (
        ("GB-NCA", "GB", "Europe/London", "+442079460001"),
        ("NL-NP", "NL", "Europe/Amsterdam", "+31201234567"),
    ):
        added = runner.invoke(
            app,
            [
                "agency",
                "add",
                code,
                "--name",
                f"{code} (fictional)",
                "--country",
                country,
                "--timezone",
                tz,
                "--phone",
                phone,
                "--email",
                f"desk@{code.lower()}.example.com",
            ],
        )
        assert added.exit_code == 0, added.output
    return runner


def test_a_hash_set_is_marked_by_its_owner_only(run: CliRunner) -> None:
    created = run.invoke(
        app, ["hashset", "create", "Known", "--agency", "GB-NCA", "--sharing", "green"]
    )
    assert created.exit_code == 0, created.output
    marked = run.invoke(app, ["hashset", "not-for-export", "Known", "--agency", "GB-NCA"])
    assert marked.exit_code == 0, marked.output
    assert marked.stdout.strip() == "hash set 'Known': not for export"
    refused = run.invoke(app, ["hashset", "not-for-export", "Known", "--agency", "NL-NP"])
    assert refused.exit_code != 0
    undone = run.invoke(app, ["hashset", "not-for-export", "Known", "--agency", "GB-NCA", "--undo"])
    assert undone.stdout.strip() == "hash set 'Known': may leave the hub as TLP:GREEN"


def test_a_case_is_marked_by_its_owner_only(run: CliRunner) -> None:
    # a preservation request opens a (RED) case for its identifiers
    recorded = run.invoke(
        app,
        [
            "preservation",
            "record",
            "--agency",
            "GB-NCA",
            "--provider",
            "Fictional Mail Ltd",
            "-i",
            "email:lark@example.com",
            "--legal-basis",
            "art29_preservation",
            "--sent",
            "2026-03-01T14:30",
        ],
    )
    assert recorded.exit_code == 0, recorded.output
    match = re.search(r"on case (GB-NCA-\d{4}-\d{4})", recorded.stdout)
    assert match, recorded.stdout
    reference = match.group(1)
    marked = run.invoke(app, ["case", "not-for-export", reference, "--agency", "GB-NCA"])
    assert marked.exit_code == 0, marked.output
    assert marked.stdout.strip() == (
        f"{reference}: marked not for export; never exported while RED"
    )
    refused = run.invoke(app, ["case", "not-for-export", reference, "--agency", "NL-NP"])
    assert refused.exit_code != 0  # NL cannot see GB's RED case: not found
    missing = run.invoke(app, ["case", "not-for-export", "GB-NCA-1999-0001", "--agency", "GB-NCA"])
    assert missing.exit_code != 0
