"""`taskforce case not-for-export` and `taskforce hashset not-for-export` on a fresh SQLite data
folder: the owner's agency marks and unmarks; another agency is refused with a non-zero exit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_hub import add_agency, fresh_hub
from typer.testing import CliRunner

from taskforce.cli import app


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    runner = fresh_hub(tmp_path, monkeypatch)
    add_agency(runner, "GB-NCA", country="GB", timezone="Europe/London", phone="+442079460001")
    add_agency(runner, "NL-NP", country="NL", timezone="Europe/Amsterdam", phone="+31201234567")
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
