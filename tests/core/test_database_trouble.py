"""A database that is busy, aborted a transaction or is gone is never a 500 (issue 11, findings
4 and 5): SQLite's write lock waited on too long and an unreachable database answer 503 with
Retry-After (JSON for the API, a page for the pages) and /healthz fails; a transaction
PostgreSQL aborted for a serialization failure or a deadlock is run again, its body replayed.

Each test runs its own committed database (not the rolled-back test transaction): locks,
deadlocks and a vanished database need real connections."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from builders import make_agency, make_person, token_for, web_login
from conftest import PG_ADMIN_URL, migrated_engine
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from taskforce.app import create_app
from taskforce.cli import app as cli_app
from taskforce.core import unavailable
from taskforce.core.caller import Role
from taskforce.core.db import make_engine, make_sessionmaker, unit_of_work
from taskforce.core.http import SessionDep
from taskforce.core.settings import Settings
from taskforce.core.unavailable import trouble


@dataclass
class Hub:
    backend: str
    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    app: FastAPI
    client: TestClient
    headers: dict[str, str]
    runs: list[int] = field(default_factory=list)

    def login(self) -> None:
        with unit_of_work(self.factory) as session:
            person = make_person(session, make_agency(session, "NL-NP"), role=Role.INVESTIGATOR)
            web_login(self.client, session, person)


def _hub(backend: str, tmp_path: Path) -> Iterator[Hub]:
    with migrated_engine(backend, tmp_path) as migrated:
        base: Settings = migrated.info_settings  # type: ignore[attr-defined]
        settings = base.model_copy(update={"database_lock_wait_seconds": 0.5})
        engine = make_engine(settings)
        factory = make_sessionmaker(engine)
        with unit_of_work(factory) as session:
            admin = make_person(session, make_agency(session), role=Role.AGENCY_ADMIN)
            headers = token_for(session, settings, admin)
        app = create_app(settings, engine)
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Hub(backend, settings, engine, factory, app, client, headers)
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hub]:
    yield from _hub(request.param, tmp_path)


@pytest.fixture
def sqlite_hub(tmp_path: Path) -> Iterator[Hub]:
    yield from _hub("sqlite", tmp_path)


@pytest.fixture
def pg_hub(tmp_path: Path) -> Iterator[Hub]:
    yield from _hub("postgresql", tmp_path)


def _sqlite_file(hub: Hub) -> Path:
    return Path(hub.settings.effective_database_url.split("///", 1)[1])


def _unavailable(response: object, retry_after: str) -> None:
    r = response
    assert r.status_code == 503, r.text  # type: ignore[attr-defined]
    assert r.headers["retry-after"] == retry_after  # type: ignore[attr-defined]
    assert r.json()["error"] == "unavailable"  # type: ignore[attr-defined]


# --- SQLite's write lock ----------------------------------------------------------------------


def test_a_request_kept_waiting_for_sqlites_write_lock_is_a_503_with_retry_after(
    sqlite_hub: Hub,
) -> None:
    hub = sqlite_hub
    hub.login()
    assert hub.client.get("/api/v1/cases", headers=hub.headers).status_code == 200
    other = sqlite3.connect(_sqlite_file(hub), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer (a long import) holds the lock
    try:
        _unavailable(hub.client.get("/api/v1/cases", headers=hub.headers), "5")
        page = hub.client.get("/ui/cases")
        assert page.status_code == 503
        assert page.headers["retry-after"] == "5"
        assert "The database is busy" in page.text
        assert "<html" in page.text
        assert hub.client.get("/healthz").status_code == 200  # busy is not down
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert hub.client.get("/api/v1/cases", headers=hub.headers).status_code == 200


# --- a database that disappeared ------------------------------------------------------------


def test_a_database_that_disappeared_is_a_503_and_healthz_fails(hub: Hub) -> None:
    hub.login()
    assert hub.client.get("/api/v1/cases", headers=hub.headers).status_code == 200
    assert hub.client.get("/ui/cases").status_code == 200
    assert hub.client.get("/healthz").json() == {"status": "ok"}
    backup = None
    if hub.backend == "sqlite":
        path = _sqlite_file(hub)
        backup = path.with_suffix(".backup")
        with sqlite3.connect(path) as source, sqlite3.connect(backup) as copy:
            source.backup(copy)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink()  # the pool's open connections still hold it
    else:
        name = hub.settings.effective_database_url.rsplit("/", 1)[1]
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()

    _unavailable(hub.client.get("/api/v1/cases", headers=hub.headers), "30")
    write = hub.client.post("/api/v1/cases", json={"title": "Lost?"}, headers=hub.headers)
    _unavailable(write, "30")
    page = hub.client.get("/ui/cases")
    assert page.status_code == 503
    assert "cannot be reached" in page.text
    health = hub.client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["status"] == "unavailable"

    if backup is not None:  # no empty database was made in its place; restoring it heals
        path = _sqlite_file(hub)
        assert not path.exists()
        shutil.move(backup, path)
        assert hub.client.get("/healthz").json() == {"status": "ok"}
        assert hub.client.get("/api/v1/cases", headers=hub.headers).status_code == 200


# --- PostgreSQL: serialization failures and deadlocks are run again -------------------------


@pytest.fixture
def probe(pg_hub: Hub) -> Hub:
    """Two rows other transactions fight over, and routes that meet them."""
    hub = pg_hub
    with hub.engine.begin() as conn:
        conn.execute(text("CREATE TABLE retry_probe (id int PRIMARY KEY, value int NOT NULL)"))
        conn.execute(text("INSERT INTO retry_probe VALUES (1, 0), (2, 0)"))
    router = APIRouter()
    engine = hub.engine

    @router.post("/api/v1/probe/serialization")
    def serialization(body: dict[str, int], session: SessionDep) -> dict[str, int]:
        hub.runs.append(body["by"])
        session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        value = session.execute(text("SELECT value FROM retry_probe WHERE id = 1")).scalar_one()
        if len(hub.runs) == 1:  # another client changes the row after this one read it
            with engine.begin() as other:
                other.execute(text("UPDATE retry_probe SET value = value + 100 WHERE id = 1"))
        session.execute(
            text("UPDATE retry_probe SET value = :v WHERE id = 1"), {"v": value + body["by"]}
        )
        return {"value": value + body["by"]}

    @router.post("/api/v1/probe/deadlock")
    def deadlock(session: SessionDep) -> dict[str, int]:
        hub.runs.append(1)
        session.execute(text("SET LOCAL deadlock_timeout = '100ms'"))  # this side detects it
        session.execute(text("UPDATE retry_probe SET value = value + 1 WHERE id = 1"))
        if len(hub.runs) == 1:
            pid = _other_writer_waiting_for_row_1(engine)
            hub.runs.append(-pid)
        session.execute(text("UPDATE retry_probe SET value = value + 1 WHERE id = 2"))
        return {"runs": len([r for r in hub.runs if r > 0])}

    hub.app.include_router(router)
    return hub


def _other_writer_waiting_for_row_1(engine: Engine) -> int:
    """Start another writer that locks row 2 and then waits for row 1 (held by the caller);
    return once PostgreSQL shows it waiting, so the caller's next lock closes the cycle."""
    started = threading.Event()
    backend_pid: list[int] = []

    def other() -> None:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL deadlock_timeout = '10s'"))  # the request side decides
            backend_pid.append(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
            conn.execute(text("UPDATE retry_probe SET value = value + 10 WHERE id = 2"))
            started.set()
            conn.execute(text("UPDATE retry_probe SET value = value + 10 WHERE id = 1"))

    thread = threading.Thread(target=other, daemon=True)
    thread.start()
    assert started.wait(10)
    with engine.connect() as watcher:
        for _ in range(200):
            waiting = watcher.execute(
                text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": backend_pid[0]},
            ).scalar()
            watcher.rollback()
            if waiting == "Lock":
                return backend_pid[0]
            time.sleep(0.02)
    raise AssertionError("the other writer never waited for row 1")


def _rows(hub: Hub) -> dict[int, int]:
    with hub.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, value FROM retry_probe"))
        return {row.id: row.value for row in rows}


def test_a_serialization_failure_is_run_again_with_the_same_body(probe: Hub) -> None:
    r = probe.client.post("/api/v1/probe/serialization", json={"by": 7}, headers=probe.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"value": 107}  # the second run read the other client's change
    assert probe.runs == [7, 7]  # the body was replayed
    assert _rows(probe)[1] == 107  # both writes are there, neither lost


def test_a_deadlock_is_run_again_and_both_writers_succeed(probe: Hub) -> None:
    r = probe.client.post("/api/v1/probe/deadlock", headers=probe.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"runs": 2}
    for _ in range(100):  # the other writer commits once the aborted run let go of row 1
        if _rows(probe) == {1: 11, 2: 11}:
            break
        time.sleep(0.05)
    assert _rows(probe) == {1: 11, 2: 11}


def test_a_body_too_large_to_keep_is_not_replayed_but_answered_503(
    probe: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(unavailable, "REPLAY_LIMIT", 8)
    r = probe.client.post(
        "/api/v1/probe/serialization", json={"by": 1, "padding": 123456789}, headers=probe.headers
    )
    _unavailable(r, "5")
    assert probe.runs == [1]
    assert _rows(probe)[1] == 100  # only the other client's change


def test_errors_that_are_bugs_stay_bugs(tmp_path: Path) -> None:
    """Only outages and lock trouble become 503: a bad statement is still a 500."""
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn, pytest.raises(OperationalError) as syntax:
        conn.execute(text("SELEC 1"))
    assert trouble(syntax.value) is None
    engine.dispose()


def test_the_console_says_the_database_cannot_be_reached_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that has no such database (a SQLite folder without one is "not initialised":
    tests/core/test_cli_database.py)."""
    monkeypatch.setenv("TASKFORCE_DATA_DIR", str(tmp_path))
    gone = PG_ADMIN_URL.rsplit("/", 1)[0] + "/taskforce_never_created"
    monkeypatch.setenv("TASKFORCE_DATABASE_URL", gone)
    r = CliRunner().invoke(cli_app, ["agency", "list"])
    assert r.exit_code == 75, r.output
    assert "error: the database cannot be reached" in r.output
    assert "Traceback" not in r.output
