"""Triage on a Dask cluster of real processes on loopback (`cluster_builders.py`): the same
journal, report and recorded run as a local run, resumed after an interruption, a worker killed
with SIGKILL in the middle, evidence the workers cannot see, and a scheduler that is not there.
Every database test runs on SQLite and PostgreSQL (the `session` fixture's backends)."""

from __future__ import annotations

import json
import re
import signal
import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from builders import Network, jpeg, make_agency, make_case, make_person, picture
from cluster_builders import (
    LoopbackCluster,
    examined,
    logged_examine,
    make_pki,
    poisoned_examine,
    start_cluster,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from taskforce.cli import app
from taskforce.core.db import make_engine, make_sessionmaker, unit_of_work
from taskforce.core.errors import Invalid
from taskforce.core.settings import Settings
from taskforce.triage import cluster, evidence, service
from taskforce.triage.models import TriageResult, TriageRun
from taskforce.triage.report import Summary

REPORT_FILES = ("results.jsonl", "results.csv", "results.vics.json", "summary.json", "report.html")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?( UTC|Z|[+-]\d\d:\d\d)?")


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackCluster]:
    running = start_cluster(tmp_path_factory.mktemp("dask"), workers=2)
    yield running
    running.close()


@pytest.fixture
def evidence_dir(seizure: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The 15-file seizure, 24 more pictures, and archive members spilled to the work folder
    (a small in-memory limit), so every kind of item goes to the workers."""
    more = seizure / "more"
    more.mkdir()
    for i in range(24):
        (more / f"P{i:03d}.jpg").write_bytes(jpeg(picture(10 + i).resize((160, 120))))
    monkeypatch.setattr(evidence, "IN_MEMORY_LIMIT", 2_000)
    return seizure


def _report(out: Path) -> dict[str, str]:
    return {n: TIMESTAMP.sub("<time>", (out / n).read_text(encoding="utf-8")) for n in REPORT_FILES}


def _run(
    session: Session, network: Network, settings: Settings, seizure: Path, out: Path, **kw: object
) -> Summary:
    options = service.Options(workers=0 if "scheduler" in kw else 2, **kw)  # type: ignore[arg-type]
    return service.run(session, network.gb.caller, settings, [seizure], out, options)


def _recorded(session: Session, out: Path) -> list[tuple[object, ...]]:
    run = session.scalars(select(TriageRun).where(TriageRun.report_dir == str(out.resolve()))).one()
    rows = session.execute(
        select(TriageResult.path, TriageResult.md5, TriageResult.pdq, TriageResult.match_type)
        .where(TriageResult.run_id == run.id)
        .order_by(TriageResult.path)
    )
    return [tuple(r) for r in rows]


@pytest.mark.usefixtures("known_set")
def test_a_cluster_run_equals_a_local_run(
    session: Session,
    network: Network,
    settings: Settings,
    evidence_dir: Path,
    tmp_path: Path,
    dask_cluster: LoopbackCluster,
) -> None:
    # two cases: the second run into one case would add no selectors, and say so
    first, second = make_case(session, network.gb), make_case(session, network.gb)
    local = _run(
        session, network, settings, evidence_dir, tmp_path / "local", case_reference=first.reference
    )
    remote = _run(
        session,
        network,
        settings,
        evidence_dir,
        tmp_path / "remote",
        case_reference=second.reference,
        scheduler=dask_cluster.address,
    )
    assert remote.selectors_added == local.selectors_added
    assert local.selectors_added
    assert remote.files_total == local.files_total == 39
    assert (remote.matched_exact, remote.matched_perceptual) == (2, 4)
    assert _report(tmp_path / "remote") == _report(tmp_path / "local")
    recorded = _recorded(session, tmp_path / "remote")
    assert len(recorded) == 39
    assert recorded == _recorded(session, tmp_path / "local")
    assert not (tmp_path / "remote" / ".work").exists()


@pytest.mark.usefixtures("known_set")
def test_an_interrupted_cluster_run_resumes_to_the_same_report(
    session: Session,
    network: Network,
    settings: Settings,
    evidence_dir: Path,
    tmp_path: Path,
    dask_cluster: LoopbackCluster,
) -> None:
    _run(session, network, settings, evidence_dir, tmp_path / "local")
    calls = 0

    def stop_after_ten(_done: int, _path: str) -> None:
        nonlocal calls
        calls += 1
        if calls == 10:
            raise KeyboardInterrupt

    options = service.Options(scheduler=dask_cluster.address)
    resumed = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        service.run(
            session, network.gb.caller, settings, [evidence_dir], resumed, options, stop_after_ten
        )
    assert len((resumed / "results.jsonl").read_text().splitlines()) == 10
    _run(session, network, settings, evidence_dir, resumed, scheduler=dask_cluster.address)
    assert _report(resumed) == _report(tmp_path / "local")


@pytest.mark.usefixtures("known_set")
def test_a_worker_killed_mid_run_loses_nothing_and_repeats_nothing(
    session: Session,
    network: Network,
    settings: Settings,
    evidence_dir: Path,
    tmp_path: Path,
    dask_cluster: LoopbackCluster,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _run(session, network, settings, evidence_dir, tmp_path / "local")
    victim = dask_cluster.add_worker()  # the shared cluster keeps its two workers
    monkeypatch.setattr(service, "examine", logged_examine)  # slow: every worker has work
    monkeypatch.setattr(cluster, "BATCH", 1)
    dask_cluster.log.unlink(missing_ok=True)

    def kill_at_twelve(done: int, _path: str) -> None:
        if done == 12:
            victim.send_signal(signal.SIGKILL)
            victim.wait()

    options = service.Options(scheduler=dask_cluster.address)
    out = tmp_path / "remote"
    summary = service.run(
        session, network.gb.caller, settings, [evidence_dir], out, options, kill_at_twelve
    )
    assert victim.returncode == -signal.SIGKILL
    assert summary.files_total == 39
    journal = (out / "results.jsonl").read_text().splitlines()
    assert len(journal) == 39  # every file once
    assert _report(out) == _report(tmp_path / "local")
    log = examined(dask_cluster.log)
    by_victim = {display for pid, display in log if pid == victim.pid}
    assert by_victim  # it had taken work
    again = [d for d, n in Counter(d for _pid, d in log).items() if n > 1]
    assert set(again) & by_victim  # what it held was done again by another worker


def test_a_file_that_kills_every_worker_it_meets_is_reported_and_the_run_goes_on(
    session: Session,
    network: Network,
    settings: Settings,
    seizure: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Workers with nannies (started again when they die); Dask gives up on a task after one
    death here (3 by default), then the batch is tried file by file."""
    _run(session, network, settings, seizure, tmp_path / "local")
    (seizure / "poison.jpg").write_bytes(jpeg(picture(8)))
    restarting = start_cluster(tmp_path / "dask", workers=2, nanny=True, allowed_failures=0)
    monkeypatch.setattr(service, "examine", poisoned_examine)
    try:
        summary = _run(
            session, network, settings, seizure, tmp_path / "remote", scheduler=restarting.address
        )
    finally:
        restarting.close()
    assert summary.files_total == 16
    rows = {
        r["path"]: r
        for r in map(json.loads, (tmp_path / "remote" / "results.jsonl").read_text().splitlines())
    }
    assert len(rows) == 16
    assert rows.pop(f"{seizure}/poison.jpg")["error"] == cluster.WORKER_DIED
    local = {
        r["path"]: r
        for r in map(json.loads, (tmp_path / "local" / "results.jsonl").read_text().splitlines())
    }
    assert rows == local  # every other file hashed as a local run hashes it


@pytest.mark.usefixtures("known_set")
def test_path_map_and_evidence_the_workers_cannot_see(
    session: Session,
    network: Network,
    settings: Settings,
    evidence_dir: Path,
    tmp_path: Path,
    dask_cluster: LoopbackCluster,
) -> None:
    mount = tmp_path / "mnt"
    mount.symlink_to(evidence_dir.parent)  # the workers' mount point for the same storage
    _run(session, network, settings, evidence_dir, tmp_path / "local")
    mapped = f"{evidence_dir.parent}={mount}"
    _run(
        session,
        network,
        settings,
        evidence_dir,
        tmp_path / "mapped",
        scheduler=dask_cluster.address,
        path_map=[mapped],
    )
    assert _report(tmp_path / "mapped") == _report(tmp_path / "local")

    elsewhere = f"{evidence_dir.parent}=/nonexistent/evidence"
    with pytest.raises(Invalid) as caught:
        _run(
            session,
            network,
            settings,
            evidence_dir,
            tmp_path / "unseen",
            scheduler=dask_cluster.address,
            path_map=[elsewhere],
        )
    assert caught.value.field == "scheduler"
    assert "cannot see" in caught.value.message
    assert str(evidence_dir) in caught.value.message
    assert not (tmp_path / "unseen" / "results.jsonl").exists()


def test_a_tls_cluster_takes_only_certificates_of_its_ca(
    session: Session, network: Network, settings: Settings, seizure: Path, tmp_path: Path
) -> None:
    """Scheduler, workers and coordinator with certificates of the lab's CA; a coordinator
    whose certificate another CA signed, or with none, gets no answer."""
    pki = make_pki(tmp_path / "pki", ("scheduler", "worker", "coordinator"))
    stranger = make_pki(tmp_path / "other-ca", ("coordinator",))
    secure = start_cluster(tmp_path / "dask", workers=1, pki=pki)
    try:
        assert secure.address.startswith("tls://")
        _run(session, network, settings, seizure, tmp_path / "local")
        own = (pki["ca"], pki["coordinator"], pki["coordinator"])
        _run(
            session,
            network,
            settings,
            seizure,
            tmp_path / "remote",
            scheduler=secure.address,
            tls=own,
        )
        assert _report(tmp_path / "remote") == _report(tmp_path / "local")

        foreign = (stranger["ca"], stranger["coordinator"], stranger["coordinator"])
        with pytest.raises(Invalid) as caught:
            _run(
                session,
                network,
                settings,
                seizure,
                tmp_path / "refused",
                scheduler=secure.address,
                tls=foreign,
            )
        assert "TLS certificate does not match" in caught.value.message

        plain = secure.address.replace("tls://", "tcp://")  # no certificate at all
        with pytest.raises(Invalid) as caught:
            _run(session, network, settings, seizure, tmp_path / "plain", scheduler=plain)
        assert f"--scheduler {plain}: no Dask scheduler answered" in caught.value.message
    finally:
        secure.close()


def test_spilled_members_travel_as_bytes_when_the_work_folder_is_not_shared(
    tmp_path: Path,
) -> None:
    work = tmp_path / ".work"
    work.mkdir()
    spilled = work / "member-1"
    spilled.write_bytes(jpeg(picture(3)))
    item = evidence.Item("case.zip!/a.jpg", path=spilled)
    target = cluster.Target.parse("tcp://127.0.0.1:8786")
    examiner = cluster.Examiner(None, target, service.examine, work, shared=False)  # type: ignore[arg-type]
    sent, flagged = examiner._outbound(item)
    assert flagged
    assert sent.path is None
    assert sent.data == spilled.read_bytes()
    [found] = cluster._examine_batch(service.examine, [(sent, flagged)])
    assert found == service.examine(item)  # as a local run hashes the spilled file


@pytest.mark.parametrize(
    ("address", "extra", "field"),
    [
        ("10.0.0.5:8786", [], "scheduler"),
        ("http://10.0.0.5:8786", [], "scheduler"),
        ("tcp://10.0.0.5", [], "scheduler"),
        ("tls://10.0.0.5:8786", [], "tls_ca"),
        ("tcp://10.0.0.5:8786", ["--path-map", "relative=/mnt/x"], "path_map"),
    ],
)
def test_bad_cluster_options_are_refused_naming_the_field(
    address: str, extra: list[str], field: str
) -> None:
    maps = extra[1:] if extra else []
    with pytest.raises(Invalid) as caught:
        cluster.Target.parse(address, maps)
    assert caught.value.field == field


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_scheduler_is_a_clear_error(
    tmp_path: Path, seizure: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI names --scheduler, exits 2 and prints no traceback; nothing is written."""
    monkeypatch.setenv("TASKFORCE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TASKFORCE_DATABASE_URL", raising=False)
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1.0)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    engine = make_engine(Settings())
    with unit_of_work(make_sessionmaker(engine)) as s:
        make_person(s, make_agency(s, "GB-NCA"))
    out = tmp_path / "out"
    address = f"tcp://127.0.0.1:{_free_port()}"
    command = ["triage", str(seizure), "--out", str(out), "--agency", "GB-NCA"]
    result = runner.invoke(app, [*command, "--scheduler", address])
    assert result.exit_code == 2, result.output
    assert f"--scheduler {address}: no Dask scheduler answered" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()  # no empty report folder that would look like a triage of nothing
    with unit_of_work(make_sessionmaker(engine)) as s:
        assert s.scalar(select(func.count()).select_from(TriageRun)) == 0

    result = runner.invoke(app, [*command, "--path-map", "/a=/b"])
    assert result.exit_code == 2
    assert "--path-map and certificates are for a --scheduler run" in result.output
    result = runner.invoke(app, [*command, "--scheduler", address, "--workers", "4"])
    assert result.exit_code == 2
    assert "workers: counts local processes" in result.output
    engine.dispose()
