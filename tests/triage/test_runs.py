"""Triage runs recorded with a case: the run and one row per file, counts, filters and paging,
downloads equal to the report folder's files, a resumed run that adds nothing twice, and who
may read a run (the case's sharing decides; a hash set's own sharing decides its details)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from builders import Network, make_agency, make_case, make_person, token_for
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from taskforce.cli import app
from taskforce.core.audit.models import AuditEntry
from taskforce.core.db import make_engine, make_sessionmaker, unit_of_work
from taskforce.core.errors import Invalid, NotFound
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.triage import reading, recording, service
from taskforce.triage.models import TriageResult, TriageRun
from taskforce.triage.report import Summary
from taskforce.triage.schemas import MatchFilter, RunStatus


def _triage(
    session: Session, network: Network, settings: Settings, seizure: Path, out: Path, ref: str
) -> Summary:
    options = service.Options(workers=2, case_reference=ref)
    return service.run(session, network.gb.caller, settings, [seizure], out, options)


def _export(session: Session, network: Network, run_id: object, fmt: str) -> str:
    buffer = io.StringIO()
    reading.export_results(session, network.gb.caller, run_id, fmt=fmt, out=buffer)  # type: ignore[arg-type]
    return buffer.getvalue()


def _audited(session: Session, action: str, outcome: str = "ok") -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == action, AuditEntry.outcome == outcome)
        )
        or 0
    )


@pytest.mark.usefixtures("known_set")
def test_a_run_with_a_case_is_recorded_with_every_file(
    session: Session,
    network: Network,
    settings: Settings,
    seizure: Path,
    tmp_path: Path,
) -> None:
    case = make_case(session, network.gb, title="Seizure 17")
    out = tmp_path / "report"
    summary = _triage(session, network, settings, seizure, out, case.reference)

    runs = reading.list_runs(session, network.gb.caller, case.id)
    assert len(runs) == 1
    run = runs[0]
    assert run.status == RunStatus.FINISHED
    assert run.finished_at is not None
    assert run.evidence == [str(seizure)]
    assert (run.files_total, run.files_hashed) == (summary.files_total, summary.files_hashed)
    assert run.files_total == 15
    assert (run.matched_exact, run.matched_perceptual) == (2, 4)
    assert run.new_images == summary.new_images > 0
    assert (run.identified_victims, run.errors) == (2, 2)
    assert summary.selectors_added is not None  # a case was named
    assert run.selectors_added == summary.selectors_added > 0

    read = reading.get_run(session, network.gb.caller, run.id)
    assert read.results.total == 15
    assert len(read.results.items) == 15
    assert read.report_dir == str(out.resolve())
    assert read.pdq_threshold == 31
    assert {c.category: c.files for c in read.by_category} == {
        "taskforce:national-a": 2,
        "taskforce:national-b": 2,
        "vic-us:1": 2,
    }
    assert {s.series: s.files for s in read.series} == {"Series Hill": 2, "Series Lake": 2}
    assert read.withheld_matches == 0
    reasons = {e.path.rsplit("/", 1)[1]: e.reason for e in read.error_list}
    assert sorted(reasons) == ["empty.jpg", "truncated.jpg"]
    assert "empty file" in reasons["empty.jpg"]
    assert "cannot decode" in reasons["truncated.jpg"]
    turned = next(f for f in read.results.items if f.path.endswith("turned.jpg"))
    assert turned.match_type == "perceptual"
    assert turned.victim_identified is True
    assert turned.series == "Series Lake"
    assert turned.hash_set == "Known"
    assert turned.category == "taskforce:national-b"
    assert turned.category_label
    assert turned.pdq
    assert len(turned.pdq) == 64
    assert turned.sha256

    # the downloads are the report folder's files, byte for byte
    assert _export(session, network, run.id, "csv") == (out / "results.csv").read_text()
    assert json.loads(_export(session, network, run.id, "vics")) == json.loads(
        (out / "results.vics.json").read_text()
    )
    assert _audited(session, "triage.list") == 1
    assert _audited(session, "triage.read") == 1
    assert _audited(session, "triage.export") == 2


@pytest.mark.usefixtures("known_set")
def test_filters_and_paging(
    session: Session,
    network: Network,
    settings: Settings,
    seizure: Path,
    tmp_path: Path,
) -> None:
    case = make_case(session, network.gb)
    _triage(session, network, settings, seizure, tmp_path / "r", case.reference)
    run_id = reading.list_runs(session, network.gb.caller, case.id)[0].id

    def paths(**kw: object) -> list[str]:
        chosen = reading.ResultFilter(**kw)  # type: ignore[arg-type]
        found = reading.get_run(session, network.gb.caller, run_id, chosen=chosen)
        return [f.path.rsplit("/", 1)[1] for f in found.results.items]

    assert paths(match=MatchFilter.EXACT) == ["IMG_0002.jpg", "escape.jpg"]  # DCIM/ < bundle.zip
    assert sorted(paths(match=MatchFilter.PERCEPTUAL)) == [
        "IMG_0000.jpg",
        "IMG_0001.jpg",
        "resized.jpg",
        "turned.jpg",
    ]
    assert len(paths(match=MatchFilter.KNOWN)) == 6
    assert len(paths(match=MatchFilter.NONE)) == 9
    assert sorted(paths(category="vic-us:1")) == ["IMG_0000.jpg", "resized.jpg"]
    assert paths(category="taskforce:national-c") == []
    assert paths(errors_only=True) == ["empty.jpg", "truncated.jpg"]
    assert paths(match=MatchFilter.KNOWN, errors_only=True) == []
    with pytest.raises(Invalid):
        paths(category="national")

    whole = [f.path for f in reading.get_run(session, network.gb.caller, run_id).results.items]
    assert whole == sorted(whole)  # code-point order on both databases, as results.csv
    pages = [
        reading.get_run(session, network.gb.caller, run_id, limit=4, offset=o).results
        for o in (0, 4, 8, 12)
    ]
    assert [len(p.items) for p in pages] == [4, 4, 4, 3]
    assert pages[3].total == 15
    assert [f.path for p in pages for f in p.items] == whole


@pytest.mark.usefixtures("known_set")
def test_an_interrupted_run_resumes_without_duplicating_rows(
    session: Session,
    session_factory: sessionmaker[Session],
    network: Network,
    settings: Settings,
    seizure: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recording, "DB_BATCH", 4)
    monkeypatch.setattr(recording, "DB_SECONDS", 10_000.0)
    case = make_case(session, network.gb)
    whole = tmp_path / "whole"
    _triage(session, network, settings, seizure, whole, case.reference)
    session.commit()

    resumed = tmp_path / "resumed"
    calls = 0

    def stop_after_six(_done: int, _path: str) -> None:
        nonlocal calls
        calls += 1
        if calls == 6:
            raise KeyboardInterrupt

    # as the CLI runs it: one unit of work, committed after each database write
    options = service.Options(workers=2, case_reference=case.reference)
    with pytest.raises(KeyboardInterrupt), unit_of_work(session_factory) as uow:
        service.run(
            uow,
            network.gb.caller,
            settings,
            [seizure],
            resumed,
            options,
            stop_after_six,
            checkpoint=uow.commit,
        )
    stopped = session.scalars(
        select(TriageRun).where(TriageRun.report_dir == str(resumed.resolve()))
    ).one()
    session.refresh(stopped)
    assert stopped.status == "interrupted"  # marked again after the rollback
    assert len((resumed / "results.jsonl").read_text().splitlines()) == 6
    held = session.scalar(
        select(func.count()).select_from(TriageResult).where(TriageResult.run_id == stopped.id)
    )
    assert held == 4  # the first batch was committed; the next two files were rolled back

    _triage(session, network, settings, seizure, resumed, case.reference)
    runs = reading.list_runs(session, network.gb.caller, case.id)
    assert len(runs) == 2  # the resumed folder's run was continued, not opened again
    by_dir = {reading.get_run(session, network.gb.caller, r.id).report_dir: r for r in runs}
    first, again = by_dir[str(whole.resolve())], by_dir[str(resumed.resolve())]
    assert again.id == stopped.id
    assert again.status == RunStatus.FINISHED
    counts = (
        "files_total",
        "files_hashed",
        "matched_exact",
        "matched_perceptual",
        "new_images",
        "identified_victims",
        "errors",
    )
    assert [getattr(again, c) for c in counts] == [getattr(first, c) for c in counts]
    rows = session.execute(
        select(func.count(), func.count(func.distinct(TriageResult.path))).where(
            TriageResult.run_id == again.id
        )
    ).one()
    assert tuple(rows) == (15, 15)
    assert _export(session, network, again.id, "csv") == (whole / "results.csv").read_text()

    # running a finished folder again adds nothing and keeps one run
    _triage(session, network, settings, seizure, resumed, case.reference)
    assert len(reading.list_runs(session, network.gb.caller, case.id)) == 2
    assert _export(session, network, again.id, "csv") == (whole / "results.csv").read_text()


@pytest.mark.usefixtures("known_set")
def test_visibility_follows_the_case_and_hash_set_details_follow_the_hash_set(
    session: Session,
    network: Network,
    settings: Settings,
    seizure: Path,
    tmp_path: Path,
) -> None:
    red = make_case(session, network.gb, title="Red", sharing=SharingLevel.RED)
    _triage(session, network, settings, seizure, tmp_path / "red", red.reference)
    red_run = reading.list_runs(session, network.gb.caller, red.id)[0].id
    for person in (network.us, network.nl):
        with pytest.raises(NotFound):
            reading.list_runs(session, person.caller, red.id)
        with pytest.raises(NotFound):
            reading.get_run(session, person.caller, red_run)
        with pytest.raises(NotFound):
            reading.export_results(session, person.caller, red_run, fmt="csv", out=io.StringIO())
    assert _audited(session, "triage.list", "not_found") == 2
    assert _audited(session, "triage.read", "not_found") == 2
    assert _audited(session, "triage.export", "not_found") == 2

    # a GREEN case is visible to every member, but the RED hash set's details are GB's only
    green = make_case(session, network.gb, title="Green", sharing=SharingLevel.GREEN)
    _triage(session, network, settings, seizure, tmp_path / "green", green.reference)
    listed = reading.list_runs(session, network.us.caller, green.id)
    assert listed[0].matched_exact == 2
    assert listed[0].identified_victims == 0
    seen = reading.get_run(session, network.us.caller, listed[0].id)
    assert seen.withheld_matches == 6
    assert seen.by_category == []
    assert seen.series == []
    assert seen.report_dir is None
    assert seen.tool is None
    assert seen.run_by == "GB-NCA"
    assert seen.hash_sets == []
    known = [f for f in seen.results.items if f.match_type != "none"]
    assert len(known) == 6
    assert all(f.withheld and f.hash_set is None for f in known)
    text = seen.model_dump_json() + _export_as(session, network.us.caller, seen.id)
    assert "Series Hill" not in text
    assert "national-b" not in text
    assert "Known" not in text
    chosen = reading.ResultFilter(category="withheld")
    withheld = reading.get_run(session, network.us.caller, seen.id, chosen=chosen)
    assert withheld.results.total == 6


def _export_as(session: Session, caller: object, run_id: object) -> str:
    buffer = io.StringIO()
    reading.export_results(session, caller, run_id, fmt="csv", out=buffer)  # type: ignore[arg-type]
    return buffer.getvalue()


@pytest.mark.usefixtures("known_set")
def test_api_lists_and_reads_runs_and_answers_404_to_others(
    client: TestClient,
    session: Session,
    network: Network,
    settings: Settings,
    seizure: Path,
    tmp_path: Path,
) -> None:
    case = make_case(session, network.gb, sharing=SharingLevel.AMBER, partners=["NL-NP"])
    _triage(session, network, settings, seizure, tmp_path / "r", case.reference)
    gb = token_for(session, settings, network.gb)
    nl = token_for(session, settings, network.nl)
    us = token_for(session, settings, network.us)

    listed = client.get(f"/api/v1/cases/{case.id}/triage-runs", headers=gb)
    assert listed.status_code == 200, listed.text
    [run] = listed.json()
    assert run["files_total"] == 15
    assert run["errors"] == 2
    assert run["identified_victims"] == 2
    page = client.get(
        f"/api/v1/triage-runs/{run['id']}",
        params={"match_type": "known", "category": "vic-us:1", "limit": 1, "offset": 1},
        headers=gb,
    )
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["results"]["total"] == 2
    assert len(body["results"]["items"]) == 1
    assert body["results"]["items"][0]["series"] == "Series Hill"
    errors = client.get(f"/api/v1/triage-runs/{run['id']}?errors=true", headers=gb).json()
    assert [e["error"] for e in errors["results"]["items"]] == [
        e["reason"] for e in errors["error_list"]
    ]
    url = f"/api/v1/triage-runs/{run['id']}"
    assert client.get(f"{url}?match_type=bad", headers=gb).status_code == 422

    # the AMBER partner sees the run (the RED hash set's details withheld); others get 404
    assert client.get(url, headers=nl).json()["withheld_matches"] == 6
    for path in (f"/api/v1/cases/{case.id}/triage-runs", url):
        refused = client.get(path, headers=us)
        assert refused.status_code == 404
        assert refused.json()["error"] == "not_found"
    assert client.get(f"/api/v1/triage-runs/{case.id}", headers=gb).status_code == 404


def test_the_cli_commits_the_run_as_it_goes(
    tmp_path: Path, seizure: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`taskforce triage --case` on a fresh data folder: the run is in the database after."""
    monkeypatch.setenv("TASKFORCE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TASKFORCE_DATABASE_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    engine = make_engine(Settings())
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as s:
        person = make_person(s, make_agency(s, "GB-NCA"))
        reference = make_case(s, person, title="CLI case").reference
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "triage",
            str(seizure),
            "--out",
            str(out),
            "--agency",
            "GB-NCA",
            "--case",
            reference,
            "--workers",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "recorded with case" in result.output
    with unit_of_work(factory) as s:
        run = s.scalars(select(TriageRun)).one()
        assert run.status == "finished"
        assert run.files_total == 15
        assert s.scalar(select(func.count()).select_from(TriageResult)) == 15
    engine.dispose()
