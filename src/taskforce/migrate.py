"""Alembic, driven from code: `taskforce db upgrade`, the tests and the demo all use this."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from taskforce.core.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def upgrade(settings: Settings, engine: Engine | None = None, revision: str = "head") -> None:
    config = alembic_config(settings.effective_database_url)
    if engine is not None:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    else:
        command.upgrade(config, revision)


def check(settings: Settings) -> None:
    """Fail if the models and the migrations disagree."""
    command.check(alembic_config(settings.effective_database_url))
