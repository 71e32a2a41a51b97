"""What every CLI command needs: settings, a unit of work, and errors turned into exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import NoReturn

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from taskforce.core.db import has_schema, make_engine, make_sessionmaker, sqlite_file, unit_of_work
from taskforce.core.errors import TaskforceError
from taskforce.core.settings import Settings
from taskforce.core.unavailable import describe, trouble

TEMPORARY_FAILURE = 75  # sysexits.h EX_TEMPFAIL: the command may succeed if run again later

err = Console(stderr=True, highlight=False)
out = Console(highlight=False, soft_wrap=True)


NOT_INITIALISED = "this database is not initialised: run `taskforce db upgrade`"


@dataclass
class State:
    settings: Settings
    _engine: Engine | None = field(default=None, repr=False)

    @cached_property
    def engine_to_upgrade(self) -> Engine:
        """The engine of the commands that create the schema (`db upgrade`, `serve`, `worker`):
        on SQLite, connecting creates the file."""
        return self._engine or make_engine(self.settings)

    @cached_property
    def engine(self) -> Engine:
        """The engine of every other command: the one place the CLI opens its database, so a
        database without a schema is refused here, before any empty SQLite file is made."""
        file = (
            None if self._engine is not None else sqlite_file(self.settings.effective_database_url)
        )
        if file is not None and not file.exists():
            _not_initialised(self.settings, f"no database at {file}")
        try:
            ready = has_schema(self.engine_to_upgrade)
        except Exception as exc:
            self.engine_to_upgrade.dispose()
            if trouble(exc) is None:
                raise
            err.print(f"error: the database cannot be reached ({describe(exc)}); try again later")
            raise typer.Exit(TEMPORARY_FAILURE) from None
        if not ready:
            self.engine_to_upgrade.dispose()
            _not_initialised(self.settings, "it has no tables")
        return self.engine_to_upgrade

    @cached_property
    def sessionmaker(self) -> sessionmaker[Session]:
        return make_sessionmaker(self.engine)


def _not_initialised(settings: Settings, why: str) -> NoReturn:
    """Say what is missing and how to make it, and where the demo's database is if it is there."""
    err.print(f"error: {NOT_INITIALISED} ({why})", markup=False, soft_wrap=True)
    demo = settings.data_dir / "demo"
    if settings.database_url is None and (demo / "taskforce.db").exists():
        err.print(
            f"the demo's database is in {demo}: export TASKFORCE_DATA_DIR={demo} to use it",
            markup=False,
            soft_wrap=True,
        )
    raise typer.Exit(2)


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State), "root callback sets the CLI state"
    return obj


@contextmanager
def unit(ctx: typer.Context) -> Iterator[Session]:
    """One transaction for one command; a TaskforceError becomes its message and exit code, a
    database that is busy or unreachable a message and exit code 75, never a traceback."""
    try:
        with unit_of_work(state(ctx).sessionmaker) as session:
            yield session
    except TaskforceError as exc:
        err.print(f"error: {exc.message}", markup=False, soft_wrap=True)  # paths stay whole
        raise typer.Exit(exc.exit_code) from None
    except Exception as exc:
        kind = trouble(exc)
        if kind is None:
            raise
        what = "cannot be reached" if kind == "down" else "is busy"
        err.print(f"error: the database {what} ({describe(exc)}); try again later")
        raise typer.Exit(TEMPORARY_FAILURE) from None
