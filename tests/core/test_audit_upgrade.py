"""Upgrading a hub whose audit log is a hash chain (revision 0010) to the sealed tree: an intact
chain is re-hashed and sealed in its order; a broken one stops the upgrade."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from builders import seal_and_verify
from conftest import fresh_database, make_settings
from sqlalchemy import JSON, Column, Engine, MetaData, String, Table, Uuid, insert, select

from taskforce import migrate
from taskforce.core.audit.models import AuditEntry
from taskforce.core.db import UTCDateTime, make_engine, make_sessionmaker


@pytest.fixture(params=["sqlite", "postgresql"])
def at_0010(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with fresh_database(request.param, tmp_path) as url:
        settings = make_settings(tmp_path, url)
        engine = make_engine(settings)
        migrate.upgrade(settings, engine, revision="0010")
        engine.info_settings = settings  # type: ignore[attr-defined]
        yield engine
        engine.dispose()


_TEXT = (
    "actor_label",
    "role",
    "channel",
    "ip",
    "action",
    "operation",
    "subject_type",
    "justification",
    "outcome",
    "prev_hash",
    "entry_hash",
)


def _chain(engine: Engine, count: int, *, break_at: int | None = None) -> None:
    """Entries as revision 0010 wrote them: each hash over its content and the previous one."""
    ids = ("id", "actor_user_id", "actor_agency_id", "token_id", "subject_id", "subject_agency_id")
    table = Table(
        "audit_entry",
        MetaData(),
        *(Column(name, Uuid()) for name in ids),
        Column("at", UTCDateTime()),
        Column("recipients", JSON()),
        Column("detail", JSON()),
        *(Column(name, String()) for name in _TEXT),
    )
    prev = "0" * 64
    start = datetime(2026, 11, 30, 9, tzinfo=UTC)
    with engine.begin() as conn:
        for i in range(count):
            row: dict[str, Any] = {
                "id": uuid.uuid4(),
                "at": start + timedelta(minutes=i),
                "actor_user_id": None,
                "actor_agency_id": None,
                "actor_label": "system",
                "role": "network_admin",
                "channel": "cli",
                "token_id": None,
                "ip": None,
                "action": f"agency.create {i}",
                "operation": "collection",
                "subject_type": None,
                "subject_id": None,
                "subject_agency_id": None,
                "justification": None,
                "recipients": [],
                "outcome": "ok",
                "detail": {"n": i},
                "prev_hash": prev,
            }
            body = {k: (str(v) if k == "id" else v) for k, v in row.items()}
            body["at"] = row["at"].isoformat(timespec="microseconds")
            digest = hashlib.sha256(
                json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()
            ).hexdigest()
            if i == break_at:
                row["actor_label"] = "someone else"  # altered after it was chained
            conn.execute(insert(table).values(**row, entry_hash=digest))
            prev = digest


def test_an_intact_chain_is_sealed_in_its_order(at_0010: Engine) -> None:
    settings = at_0010.info_settings  # type: ignore[attr-defined]
    _chain(at_0010, 7)
    migrate.upgrade(settings, at_0010)
    factory = make_sessionmaker(at_0010)
    result = seal_and_verify(factory, settings)
    assert result.ok
    assert result.sealed == 7
    with factory() as session:
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.leaf_index))
        assert list(actions) == [f"agency.create {i}" for i in range(7)]


def test_a_broken_chain_stops_the_upgrade(at_0010: Engine) -> None:
    settings = at_0010.info_settings  # type: ignore[attr-defined]
    _chain(at_0010, 5, break_at=2)
    with pytest.raises(RuntimeError, match="broken at entry 3"):
        migrate.upgrade(settings, at_0010)
