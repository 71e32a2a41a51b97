"""What every CLI command needs: settings, a unit of work, and errors turned into exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from taskforce.core.db import make_engine, make_sessionmaker, unit_of_work
from taskforce.core.errors import TaskforceError
from taskforce.core.settings import Settings
from taskforce.core.unavailable import describe, trouble

TEMPORARY_FAILURE = 75  # sysexits.h EX_TEMPFAIL: the command may succeed if run again later

err = Console(stderr=True, highlight=False)
out = Console(highlight=False, soft_wrap=True)


@dataclass
class State:
    settings: Settings
    _engine: Engine | None = field(default=None, repr=False)

    @cached_property
    def engine(self) -> Engine:
        return self._engine or make_engine(self.settings)

    @cached_property
    def sessionmaker(self) -> sessionmaker[Session]:
        return make_sessionmaker(self.engine)


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
        err.print(f"error: {exc.message}", markup=False)
        raise typer.Exit(exc.exit_code) from None
    except Exception as exc:
        kind = trouble(exc)
        if kind is None:
            raise
        what = "cannot be reached" if kind == "down" else "is busy"
        err.print(f"error: the database {what} ({describe(exc)}); try again later")
        raise typer.Exit(TEMPORARY_FAILURE) from None
