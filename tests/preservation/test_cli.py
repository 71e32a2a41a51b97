"""`taskforce preservation ...` on a fresh SQLite data folder: record, list, show, the steps,
counts as CSV, and refusals with exit code 2 naming the field."""

from __future__ import annotations

import json
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


RECORD = [
    "preservation",
    "record",
    "--agency",
    "GB-NCA",
    "--provider",
    "Fictional Mail Ltd",
    "-i",
    "email:Night.Fox@Example.COM",
    "-i",
    "username:kik:Night_Fox",
    "--legal-basis",
    "art29_preservation",
    "--sent",
    "2026-03-01T14:30",
]


def test_record_list_show_and_the_steps(run: CliRunner) -> None:
    old = run.invoke(app, RECORD)
    assert old.exit_code == 0, old.output
    assert old.stdout.startswith("recorded PR-GB-")
    assert "2 identifiers on case GB-NCA-" in old.stdout
    assert "expires 2026-05-30 14:30 UTC" in old.stdout  # sent + 90 days
    r = run.invoke(app, RECORD[:-2])  # sent now: it can still be extended
    assert r.exit_code == 0, r.output
    reference = r.stdout.split()[1].rstrip(":")

    listed = run.invoke(app, ["preservation", "list", "--agency", "GB-NCA"])
    assert listed.exit_code == 0
    assert len(listed.stdout.splitlines()) == 2
    assert reference in listed.stdout
    assert run.invoke(app, ["preservation", "list", "--agency", "NL-NP"]).stdout == (
        "no preservation request\n"
    )
    hidden = run.invoke(app, ["preservation", "show", reference, "--agency", "NL-NP"])
    assert hidden.exit_code == 1
    assert "preservation request not found" in hidden.stderr

    shown = run.invoke(app, ["preservation", "show", reference, "--agency", "GB-NCA", "--json"])
    body = json.loads(shown.stdout)
    assert [i["normalised"] for i in body["identifiers"]] == ["night.fox@example.com", "night_fox"]

    args = ["--agency", "GB-NCA"]
    assert run.invoke(app, ["preservation", "extend", reference, *args]).exit_code == 0
    twice = run.invoke(app, ["preservation", "extend", reference, *args])
    assert twice.exit_code == 2
    assert "extension: a preservation is extended once only" in twice.stderr
    done = run.invoke(
        app, ["preservation", "follow-up", reference, *args, "--formal-reference", "MLA-7"]
    )
    assert done.exit_code == 0, done.output
    assert "Followed up" in done.stdout

    counts = run.invoke(app, ["preservation", "counts", "--format", "csv"])
    assert counts.exit_code == 0, counts.output
    lines = counts.stdout.splitlines()
    assert lines[0] == "dimension,key,total,active,expiring_soon"
    assert "agency,GB-NCA,2,1,1" in lines  # the old one: past its expiry, not yet marked
    assert "status,followed_up,1,0," in lines
    assert "night" not in counts.stdout.lower()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--legal-basis", "art99"], "legal_basis: must be one of"),
        (["--requesting-country", "XX"], "requesting_country: must be an ISO 3166-1"),
        (["-i", "fax:123"], "identifiers.2.type: must be one of"),
        (["-i", "nothing"], "identifiers.2: each identifier is type:value"),
        (["--expires", "2026-02-01"], "expires_at: must be after sent_at"),
        (["--sent", "yesterday"], "sent_at: a date like 2026-03-01"),
    ],
)
def test_bad_input_exits_2_naming_the_field(
    run: CliRunner, change: list[str], message: str
) -> None:
    r = run.invoke(app, [*RECORD, *change])
    assert r.exit_code == 2, r.output
    assert message in r.stderr
    assert "Traceback" not in r.output
    assert run.invoke(app, ["preservation", "counts"]).stdout.startswith("network: 0 requests")
