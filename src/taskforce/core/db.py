"""Database engine, sessions and the column types every table uses.

SQLite (WAL) is the embedded default, PostgreSQL the production database. On SQLite every
transaction starts with `BEGIN IMMEDIATE`: nearly every request writes (reads are audited), and
a deferred transaction that reads and then writes would fail with "database is locked" instead
of waiting its turn. This also makes savepoints work (SQLAlchemy's documented pysqlite fix).
"""

from __future__ import annotations

import math
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from psycopg import sql as psycopg_sql
from sqlalchemy import (
    DateTime,
    Dialect,
    Engine,
    MetaData,
    Table,
    TypeDecorator,
    create_engine,
    event,
    insert,
    inspect,
)
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    make_transient_to_detached,
    mapped_column,
    sessionmaker,
)
from typing_extensions import override

from taskforce.core.settings import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @override
    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    @override
    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UUIDPk:
    """UUID primary keys: records keep their identity when nodes federate."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Origin:
    """Where a record was created, so a hub can later tell nodes' records apart."""

    origin_node: Mapped[str] = mapped_column(default="local")


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory or `file:` URLs."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1]
    if path and path != ":memory:" and not path.startswith("file:"):
        return Path(path)
    return None


def has_schema(engine: Engine) -> bool:
    """Whether `taskforce db upgrade` has ever run on this database (Alembic's table is there)."""
    return inspect(engine).has_table("alembic_version")


def make_engine(settings: Settings, url: str | None = None) -> Engine:
    url = url or settings.effective_database_url
    wait = settings.database_lock_wait_seconds
    if url.startswith("sqlite"):
        file = sqlite_file(url)
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": wait})
        _configure_sqlite(engine, file, wait)
        return engine
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=wait,
        # an unreachable server is a 503 within seconds, not a request hanging on TCP
        connect_args={"connect_timeout": max(1, min(10, math.ceil(wait)))},
    )
    if engine.dialect.name == "postgresql":
        _configure_pipeline(engine)
    return engine


def _file_identity(file: Path) -> tuple[int, int] | None:
    try:
        found = file.stat()
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


def _configure_sqlite(engine: Engine, file: Path | None = None, wait: float = 30.0) -> None:
    opened = False  # once the file has been opened, a missing file is an outage, not a start

    @event.listens_for(engine, "do_connect")
    def _refuse_vanished(_dialect: Any, _record: Any, _args: Any, _params: Any) -> None:
        # SQLite would create an empty database in its place, and the next requests would
        # write to it: refused, so the operator sees the outage (503, /healthz) and restores.
        if opened and file is not None and not file.exists():
            raise sqlite3.OperationalError(f"database file is missing: {file}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        nonlocal opened
        opened = True
        if file is not None:
            record.info[_FILE_IDENTITY] = _file_identity(file)
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # 128 MiB of page cache (the default is 2 MiB): with a million selectors the indexes
        # that every addition touches stay in memory. It is allocated only as pages are read.
        cursor.execute("PRAGMA cache_size=-131072")
        cursor.close()

    @event.listens_for(engine, "checkout")
    def _same_file(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        # An open connection keeps writing to a file that was removed or replaced (its inode
        # lives on): it would accept writes that no one will ever read. One stat per checkout.
        if file is not None and record.info.get(_FILE_IDENTITY) != _file_identity(file):
            raise DisconnectionError("the database file was removed or replaced")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


_FILE_IDENTITY = "taskforce.sqlite_file"


def check_ready(engine: Engine) -> None:
    """Raise unless the database can serve requests: reachable, and its schema in place (the
    migrations' version table answers). A plain read outside any transaction: on SQLite it
    never waits for the write lock, so a busy hub still reports itself up."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT version_num FROM alembic_version")
        if cursor.fetchone() is None:
            raise LookupError("the database has no schema version")
    finally:
        connection.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


_KEEP = "taskforce.keep_on_rollback"


def keep_on_rollback(session: Session, write: Callable[[Session], None]) -> None:
    """Register a write that must survive if the transaction is rolled back.

    A refused read or a failed login is itself evidence (probing, password guessing): its audit
    entry and login attempt are replayed in a fresh transaction by `unit_of_work`.
    """
    session.info.setdefault(_KEEP, []).append(write)


def _replay_kept(session: Session) -> None:
    kept: list[Callable[[Session], None]] = session.info.pop(_KEEP, [])
    if not kept:
        return
    for write in kept:
        write(session)
    session.commit()
    session.info.pop(_KEEP, None)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any exception (after
    which the writes registered with `keep_on_rollback` are committed on their own)."""
    session = factory()
    try:
        yield session
        session.info.pop(_KEEP, None)
        session.commit()
    except BaseException:
        session.rollback()
        try:
            _replay_kept(session)
        except Exception:
            session.rollback()
        raise
    finally:
        session.close()


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


_PIPELINE = "taskforce.pipeline"
BULK_MIN_ROWS = 50


@contextmanager
def pipelined(session: Session) -> Iterator[None]:
    """On PostgreSQL, send the block's writes without waiting for each answer (psycopg
    pipeline mode): they go with the next read, or when the block ends, one round trip for
    all instead of one each. Add-and-deconflict is ~10 statements, and on a server sharing the
    machine each round trip costs more than the statement (benchmarks/deconfliction.py).

    A pipelined write's error is raised at that next read or at the block's end, not at the
    statement, and its row count is unknown: the block must not catch a write's error to carry
    on, nor flush ORM updates (their row count is checked). SQLite: nothing changes."""
    if not is_postgres(session):
        yield
        return
    fairy: Any = session.connection().connection
    if _PIPELINE in fairy.info:
        yield
        return
    with fairy.driver_connection.pipeline() as pipe:
        fairy.info[_PIPELINE] = pipe
        try:
            yield
        finally:
            del fairy.info[_PIPELINE]


def _configure_pipeline(engine: Engine) -> None:
    @event.listens_for(engine, "after_cursor_execute")
    def _answer_reads(
        conn: Any, _cursor: Any, _stmt: str, _params: Any, context: Any, _many: bool
    ) -> None:
        # SQLAlchemy looks at a statement's result as soon as it has run: a read (or a write
        # with RETURNING) in pipeline mode must have its answer first.
        pipe = conn.connection.info.get(_PIPELINE)
        if pipe is None or context is None:
            return
        writes = context.isinsert or context.isupdate or context.isdelete
        compiled = context.compiled
        if not writes or (compiled is not None and compiled.effective_returning):
            pipe.sync()


def bulk_insert(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows of one table (the columns of the first row, every row giving them all)
    without SQLAlchemy's per-row parameter handling, which cost half an import's statement
    time (cProfile, benchmarks/deconfliction.py): PostgreSQL `COPY`, SQLite one
    `executemany`. Each value goes through its column type's own bind processor, so what is
    stored is what an ordinary insert stores. Statement listeners do not see these writes.
    A few rows take the ordinary insert (COPY costs a round trip more)."""
    if not rows:
        return
    connection = session.connection()
    if len(rows) < BULK_MIN_ROWS:
        connection.execute(insert(table), rows[0] if len(rows) == 1 else list(rows))
        return
    dialect = connection.dialect
    given = rows[0].keys()
    keys = [c.key for c in table.columns if c.key in given]  # the compiled statement's order
    processors = [table.c[k].type.dialect_impl(dialect).bind_processor(dialect) for k in keys]
    tuples = [
        tuple(v if p is None or v is None else p(v) for p, v in zip(processors, row, strict=True))
        for row in ([values[k] for k in keys] for values in rows)
    ]
    raw: Any = connection.connection.driver_connection
    if dialect.name == "postgresql" and _PIPELINE not in connection.connection.info:
        statement = psycopg_sql.SQL("COPY {} ({}) FROM STDIN").format(
            psycopg_sql.Identifier(table.name),
            psycopg_sql.SQL(", ").join(psycopg_sql.Identifier(k) for k in keys),
        )
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in tuples:
                copy.write_row(row)
        return
    if dialect.name == "sqlite":  # the statement as SQLAlchemy writes it, with ? marks
        raw.executemany(str(insert(table).compile(dialect=dialect, column_keys=keys)), tuples)
        return
    connection.execute(insert(table), [dict(row) for row in rows])


def insert_new(session: Session, objects: Sequence[Base]) -> None:
    """Insert new objects of one model with one Core insert and attach them as persistent.

    This skips the unit of work, whose bookkeeping costs more than the SQL on a hot path (one
    addition of a selector, thousands of hits in an import). Python-side column defaults are
    applied here; the rows are written at once, in the order given.
    """
    if not objects:
        return
    session.flush()  # rows they refer to may still be pending; nearly free when none are
    table: Any = objects[0].__table__
    rows = []
    for obj in objects:
        row = {}
        for column in table.columns:
            value = getattr(obj, column.key)
            if value is None and column.default is not None:
                default = column.default
                value = default.arg(None) if default.is_callable else default.arg
            setattr(obj, column.key, value)  # every column loaded: no lazy read after attach
            row[column.key] = value
        rows.append(row)
    bulk_insert(session, table, rows)
    for obj in objects:
        make_transient_to_detached(obj)
        session.add(obj)
