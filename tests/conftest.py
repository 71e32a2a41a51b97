"""Fixtures: a real database per backend (SQLite always, PostgreSQL when reachable — required in
CI), a transaction per test that is rolled back, an API client, and people of three agencies.
No test reaches past loopback (`offline.py`).

Each xdist worker gets its own SQLite file and its own PostgreSQL database; the schema is built
by the Alembic migrations, so they are tested on both databases too.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from offline import refuse_outside_connections
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from taskforce import migrate
from taskforce.app import create_app
from taskforce.core.auth import service as auth_service
from taskforce.core.db import make_engine
from taskforce.core.settings import Settings

PG_ADMIN_URL = os.environ.get(
    "TASKFORCE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("TASKFORCE_REQUIRE_POSTGRES", "") == "1"

pytest_plugins = ["builders", "hotline_builders"]


# argon2 at its production cost takes 60-280 ms a password; the suite creates thousands of
# people. Tests hash with the same algorithm (argon2id) at its lowest cost; the production
# parameters are asserted on their own (tests/core/test_auth.py).
@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    auth_service._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    auth_service._hasher = auth_service.production_hasher()


@pytest.fixture(scope="session", autouse=True)
def offline() -> Iterator[None]:
    """Every test, and the session's fixtures, may reach loopback and unix sockets only."""
    with refuse_outside_connections():
        yield


def _postgres_reachable() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def worker(request: pytest.FixtureRequest) -> str:
    return str(getattr(request.config, "workerinput", {}).get("workerid", "main"))


def make_settings(data_dir: Path, url: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=url,
        allow_insecure_defaults=True,
        public_url="http://hub.example.org",
        worker="external",  # tests run the worker's tasks themselves, with fakes
        audit_seal_seconds=0,  # and seal the audit log themselves
        secure_cookies=False,  # the test client speaks plain http to http://testserver
        report_url_check=False,  # reaches out; tests/reports/test_url_check.py turns it on
    )


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextmanager
def fresh_database(backend: str, data_dir: Path, worker: str = "main") -> Iterator[str]:
    """URL of a new, empty database (SQLite file or PostgreSQL database), dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{data_dir / f'{uuid.uuid4().hex[:8]}.db'}"
        return
    if not _postgres_reachable():
        if REQUIRE_POSTGRES:
            pytest.fail("PostgreSQL unreachable but TASKFORCE_REQUIRE_POSTGRES=1")
        pytest.skip("PostgreSQL unreachable")
    name = f"taskforce_test_{worker}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def migrated_engine(backend: str, data_dir: Path, worker: str = "main") -> Iterator[Engine]:
    """An engine on a fresh database built by the Alembic migrations."""
    with fresh_database(backend, data_dir, worker) as url:
        settings = make_settings(data_dir, url)
        eng = make_engine(settings)
        migrate.upgrade(settings, eng)
        eng.info_settings = settings  # type: ignore[attr-defined]
        try:
            yield eng
        finally:
            eng.dispose()


@pytest.fixture(scope="session")
def engine(backend: str, worker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    with migrated_engine(backend, tmp_path_factory.mktemp(f"data-{backend}"), worker) as eng:
        yield eng


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> Settings:
    """The database's settings, with an audit folder of the test's own: the signed heads a test
    exports describe its rolled-back transaction, not the next test's."""
    s: Settings = engine.info_settings  # type: ignore[attr-defined]
    return s.model_copy(update={"audit_dir": tmp_path / "audit"})


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    trans = conn.begin()
    yield conn
    if trans.is_active:
        trans.rollback()
    conn.close()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    s = session_factory()
    yield s
    s.close()


@pytest.fixture
def app(settings: Settings, engine: Engine, session_factory: sessionmaker[Session]) -> object:
    application = create_app(settings, engine)
    application.state.sessionmaker = session_factory
    return application


@pytest.fixture
def client(app: object) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as c:  # type: ignore[arg-type]
        yield c
