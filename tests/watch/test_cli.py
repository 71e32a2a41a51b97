"""`taskforce watch drill schedule|list` and `taskforce watch statistics` at the console, on a
fresh SQLite data folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_hub import add_agency, fresh_hub
from typer.testing import CliRunner

from taskforce.agencies import service as agency_service
from taskforce.cli import app
from taskforce.core.db import make_engine, make_sessionmaker, unit_of_work
from taskforce.core.settings import Settings
from taskforce.rota.models import DutyDesk

# far ahead of any clock this test runs on: the window must not have ended
WINDOW = ["--from", "2099-01-01T00:00:00Z", "--to", "2099-01-01T06:00:00+01:00"]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    runner = fresh_hub(tmp_path, monkeypatch)
    add_agency(
        runner,
        "nl-np",
        name="Fictional Police NL",
        country="nl",
        timezone="Europe/Amsterdam",
        phone="+31201234567",
    )
    engine = make_engine(Settings())
    with unit_of_work(make_sessionmaker(engine)) as session:
        agency = agency_service.get_by_code(session, "NL-NP")
        session.add(DutyDesk(agency_id=agency.id, time_zone="Europe/Amsterdam"))
    engine.dispose()
    return runner


def test_schedule_and_list_a_drill(run: CliRunner) -> None:
    r = run.invoke(app, ["watch", "drill", "schedule", "--desk", "nl-np", *WINDOW])
    assert r.exit_code == 0, r.output
    assert "1 drill(s) scheduled" in r.output
    assert "send times stay hidden" in r.output
    listing = run.invoke(app, ["watch", "drill", "list"])
    assert listing.exit_code == 0, listing.output
    assert "NL-NP" in listing.output
    assert "2099-01-01 00:00–2099-01-01 05:00 UTC  scheduled" in listing.output
    sheet = run.invoke(app, ["watch", "statistics", "--format", "csv"])
    assert sheet.exit_code == 0, sheet.output
    assert sheet.output.startswith("desk,name,source,alerts")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--desk", "NL-NP", "--all", *WINDOW], "desk: give --desk CODE or --all"),
        (["--all", "--from", "2099-01-01T00:00", "--to", "2099-01-02T00:00Z"], "from: a time"),
        (["--all", "--from", "soon", "--to", "2099-01-02T00:00Z"], "from: an ISO 8601 time"),
        (["--desk", "FR-XX", *WINDOW], "desk: no active 24/7 desk of agency FR-XX"),
    ],
)
def test_a_bad_schedule_is_refused_with_exit_2(
    run: CliRunner, args: list[str], message: str
) -> None:
    r = run.invoke(app, ["watch", "drill", "schedule", *args])
    assert r.exit_code == 2
    assert message in r.output
    assert "Traceback" not in r.output
    assert "no drills" in run.invoke(app, ["watch", "drill", "list"]).output
