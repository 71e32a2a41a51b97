"""`taskforce rota ...` on a fresh SQLite data folder: the follow-the-sun rota typed at the
console, who is on duty, gaps, and refusals that name the option and the rule (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_hub import add_agency, fresh_hub
from rota_builders import NOW
from typer.testing import CliRunner

from taskforce.cli import app
from taskforce.rota import service

AGENCIES = [
    ("GB-NCA", "GB", "Europe/London", "+442079460001", "law_enforcement"),
    ("NL-NP", "NL", "Europe/Amsterdam", "+31201234567", "law_enforcement"),
    ("US-HSI", "US", "America/New_York", "+12025550123", "law_enforcement"),
    ("INT-WATCH", "FR", "Europe/Paris", "+33199000001", "coordinator"),
]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(service, "utcnow", lambda: NOW)  # the rota's clock: Monday 7 Dec 2026
    runner = fresh_hub(tmp_path, monkeypatch)
    for code, country, zone, phone, kind in AGENCIES:
        add_agency(runner, code, country=country, timezone=zone, phone=phone, kind=kind)
    return runner


def ok(run: CliRunner, *args: str) -> str:
    r = run.invoke(app, ["rota", *args])
    assert r.exit_code == 0, r.output
    # the console expands tabs to stops of 8: columns read here one space apart
    return "".join(" ".join(line.split()) + "\n" for line in r.stdout.splitlines())


def refused(run: CliRunner, *args: str) -> str:
    r = run.invoke(app, ["rota", *args])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    return r.stderr.strip()


def test_a_follow_the_sun_rota_at_the_console(run: CliRunner) -> None:
    assert "GB-NCA: Europe/London, languages en, powers preservation" in ok(
        run, "desk", "set", "GB-NCA", "--languages", "en", "--powers", "preservation",
        "--no-holidays", "--reliable", "mon-fri 06:00-14:00",
    )  # fmt: skip
    ok(run, "desk", "set", "NL-NP", "--languages", "nl,en", "--no-holidays")
    ok(run, "desk", "set", "US-HSI", "--languages", "en,es", "--no-holidays")
    listed = ok(run, "desk", "list").splitlines()
    assert listed[0] == "GB-NCA Europe/London en preservation no holidays active"
    assert len(listed) == 3

    r = run.invoke(app, ["rota", "rule", "add", "--desk", "GB-NCA", "--start", "06:00",
                         "--end", "14:00"])  # fmt: skip
    assert r.exit_code == 0, r.output
    # every day, where GB-NCA declared Monday to Friday: a warning, not a refusal
    assert " ".join(r.stderr.split()) == (
        "warning: GB-NCA is on duty outside its reliable hours, e.g. "
        "Sat 12 Dec 06:00-14:00 Europe/London"
    )
    ok(run, "rule", "add", "--desk", "NL-NP", "--start", "15:00", "--end", "23:00")
    night = ok(run, "rule", "add", "--desk", "US-HSI", "--start", "17:00", "--end", "01:00")
    assert night.endswith("US-HSI 17:00-01:00 America/New_York\n")
    assert len(ok(run, "rule", "list").splitlines()) == 3

    at_night = ok(run, "on-duty", "--at", "2026-12-08T03:00Z")
    assert at_night.startswith(
        "US-HSI 2026-12-07 22:00Z - 2026-12-08 06:00Z (Mon 17:00-Tue 01:00 America/New_York) rule"
    )
    assert "desk@us-hsi.example.com" in at_night
    r = run.invoke(app, ["rota", "on-duty", "--at", "2026-12-08T03:00Z", "--power", "preservation"])
    assert r.exit_code == 0
    assert r.stdout == ""
    assert "nobody on duty" in r.stderr
    assert ok(run, "on-duty").startswith("US-HSI")  # now: Monday 00:00 UTC

    r = run.invoke(app, ["rota", "gaps", "--days", "7"])
    assert (r.exit_code, r.stdout) == (0, "")
    assert "no gap in the next 7 days" in r.stderr

    ok(run, "unavailable", "add", "US-HSI", "--from", "2026-12-08T01:00Z", "--to",
       "2026-12-08T03:00Z", "--reason", "power cut")  # fmt: skip
    assert ok(run, "gaps", "--days", "7") == (
        "Any desk on duty 2026-12-08 01:00Z - 2026-12-08 03:00Z\n"
    )

    added = ok(run, "override", "add", "--from", "2026-12-08T01:00Z", "--to",
               "2026-12-08T03:00Z", "--add", "NL-NP", "--reason", "covering")  # fmt: skip
    override_id = added.split()[1].rstrip(":")
    assert added.endswith("NL-NP added\n")
    assert ok(run, "override", "list").startswith(override_id)
    r = run.invoke(app, ["rota", "gaps", "--days", "7"])
    assert r.stdout == ""
    ok(run, "override", "delete", override_id)
    assert ok(run, "override", "list") == ""

    rotation = ok(run, "rotation", "add", "Weekend", "--members", "GB-NCA,NL-NP",
                  "--kind", "weekly", "--starts-at", "2026-12-05T00:00Z")  # fmt: skip
    assert "GB-NCA > NL-NP" in rotation
    ok(run, "rule", "add", "--rotation", "Weekend", "--days", "sat,sun", "--start", "00:00",
       "--end", "24:00")  # fmt: skip
    weekend = ok(run, "on-duty", "--at", "2026-12-12T10:00Z")
    assert "NL-NP 2026-12-12 00:00Z - " in weekend  # handoff 1 of the weekly rotation
    assert " rotation " in weekend
    assert "Weekend" in ok(run, "rotation", "list")

    added = ok(run, "requirement", "add", "Preservation in Spanish", "--power", "preservation",
               "--language", "es")  # fmt: skip
    assert added.startswith("requirement Preservation in Spanish (")
    assert (
        ok(run, "requirement", "list")
        .splitlines()[0]
        .endswith("Any desk on duty any power any language")
    )
    assert ok(run, "gaps", "--days", "1").startswith(  # nobody has both
        "Preservation in Spanish 2026-12-07 00:00Z - 2026-12-08 00:00Z"
    )
    requirement_id = added.split("(")[1].rstrip(")\n")
    ok(run, "requirement", "delete", requirement_id)

    heron = ok(run, "temporary", "add", "Operation Heron", "--from", "2026-12-15T00:00Z",
               "--to", "2026-12-16T00:00Z", "--shift",
               "NL-NP,2026-12-15T00:00Z,2026-12-16T00:00Z")  # fmt: skip
    assert heron.endswith(": 1 shifts\n")
    assert "Operation Heron" in ok(run, "temporary", "list")
    assert ok(run, "on-duty", "--at", "2026-12-15T10:00Z").startswith("NL-NP")
    assert len(ok(run, "unavailable", "list", "US-HSI", "--all").splitlines()) == 1
    assert run.invoke(app, ["audit", "verify"]).exit_code == 0


def test_refusals_name_the_option_and_the_rule(run: CliRunner) -> None:
    ok(run, "desk", "set", "GB-NCA", "--no-holidays")
    ok(run, "desk", "set", "US-HSI", "--no-holidays")
    ok(run, "rule", "add", "--desk", "GB-NCA", "--start", "06:00", "--end", "14:00")
    assert refused(run, "desk", "set", "NL-NP", "--time-zone", "Europe/Atlantis") == (
        "error: time_zone: must be an IANA time zone like Europe/Amsterdam"
    )
    assert refused(run, "desk", "set", "GB-NCA", "--languages", "en,xx") == (
        "error: languages.1: must be an ISO 639-1 language code like en or es"
    )
    assert refused(run, "desk", "set", "GB-NCA", "--subdivision", "BY").startswith(
        "error: subdivision: must be a subdivision of GB: "
    )
    assert refused(run, "rule", "add", "--desk", "GB-NCA", "--start", "8", "--end", "9") == (
        'error: start: must be a clock time "HH:MM" from 00:00 to 23:59'
    )
    assert refused(
        run, "rule", "add", "--desk", "GB-NCA", "--start", "08:00", "--end", "08:00"
    ).startswith("error: end: must differ from start")
    assert refused(
        run, "rule", "add", "--desk", "GB-NCA", "--days", "fri-mon", "--start", "08:00",
        "--end", "09:00",
    ) == 'error: --days: "fri-mon" runs backwards'  # fmt: skip
    assert (
        refused(run, "rule", "add", "--desk", "FR-NONE", "--start", "08:00", "--end", "09:00")
        == "error: desk: no 24/7 desk is registered for agency FR-NONE"
    )
    assert refused(
        run, "override", "add", "--from", "2026-12-08T20:00Z", "--to", "2026-12-08T21:00Z",
        "--remove", "GB-NCA",
    ) == (
        "error: remove: the desk is not on duty between 2026-12-08 20:00 UTC and "
        "2026-12-08 21:00 UTC"
    )  # fmt: skip
    assert refused(
        run, "override", "add", "--from", "tomorrow", "--to", "2026-12-08T21:00Z", "--add",
        "US-HSI",
    ) == "error: --from: must be ISO 8601 with its offset, e.g. 2026-12-08T22:00Z"  # fmt: skip
    assert refused(run, "on-duty", "--at", "2026-12-08T03:00", "--language", "en") == (
        "error: at: must carry its UTC offset, e.g. 2026-12-03T02:00:00Z"
    )
    assert refused(run, "gaps", "--days", "400") == "error: days: from 1 to 92"
    assert refused(run, "requirement", "add", "Dutch", "--language", "nl-BE") == (
        "error: language: must be an ISO 639-1 language code like en or es"
    )
    assert refused(run, "temporary", "add", "Op", "--from", "2026-12-15T00:00Z", "--to",
                   "2026-12-16T00:00Z", "--shift", "NL-NP,2026-12-15T00:00Z") == (
        'error: --shift: like "NL-NP,2026-12-15T00:00Z,2026-12-15T12:00Z"'
    )  # fmt: skip
    assert ok(run, "rule", "list").count("\n") == 1  # nothing half-saved
