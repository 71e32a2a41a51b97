from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import taskforce.models
from taskforce.core.db import _configure_sqlite

target_metadata = taskforce.models.Base.metadata
config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or ""
    engine = create_engine(url)
    if url.startswith("sqlite"):
        _configure_sqlite(engine)
    with engine.begin() as conn:
        _migrate(conn)
    engine.dispose()


def _migrate(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    context.run_migrations()


run()
