"""The value rows of a batch of selectors: got or created, and locked until the transaction
ends (the deconfliction engine's first step, `cases.deconfliction`).

A single addition, a small batch and an import's batch take different statements for the same
result: one upsert on PostgreSQL for a single value; an insert with RETURNING for a small
batch; for an import, rows written without SQLAlchemy's per-row parameter handling (`COPY`
into a staging table on PostgreSQL, one executemany on SQLite) and read back with one select.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Column,
    MetaData,
    Table,
    and_,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from taskforce.cases.models import NoiseEntry, SelectorValue
from taskforce.core.db import BULK_MIN_ROWS, bulk_insert, is_postgres

_VALUES = cast(Table, SelectorValue.__table__)
_NOISE = cast(Table, NoiseEntry.__table__)
# PostgreSQL's staging table for an import's value rows (temporary, dropped at commit)
_STAGE = Table(
    "selector_value_stage", MetaData(), *(Column(c.name, c.type) for c in _VALUES.columns)
)


@dataclass
class Value:
    id: uuid.UUID
    created: bool
    case_count: int
    is_common: bool
    noise_rules: list[tuple[str, str]] | None = None
    """The admins' noise rules (pattern, reason) of the value's kind, where they came with the
    value row (a single addition on PostgreSQL); None: not read."""


def values(session: Session, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Value]:
    """Get or create the value rows of a batch, locked until the transaction ends.

    A row inserted now is new to the network (`case_count` 1 for the holder about to be added;
    the insert and that holder commit or roll back together), so no holder need be looked up
    for it. New rows are inserted in (kind, key) order and existing ones locked on PostgreSQL
    in id order, so two transactions racing on the same values wait instead of deadlocking."""
    rows = [
        {"id": uuid.uuid4(), "kind": k, "key": key, "case_count": 1, "is_common": False}
        for k, key in sorted(pairs)
    ]
    if len(rows) >= BULK_MIN_ROWS:
        return _values_in_bulk(session, pairs, rows)
    if len(rows) == 1 and is_postgres(session):
        return _value_upserted(session, rows[0])
    dialect_insert = pg_insert if is_postgres(session) else sqlite_insert
    inserted = session.execute(
        dialect_insert(_VALUES)
        .on_conflict_do_nothing()
        .returning(_VALUES.c.id, _VALUES.c.kind, _VALUES.c.key),
        rows,
    )
    found = {(k, key): Value(vid, True, 1, False) for vid, k, key in inserted}
    _existing_values(session, [p for p in pairs if p not in found], found)
    return found


def _value_upserted(session: Session, row: dict[str, Any]) -> dict[tuple[str, str], Value]:
    """`_values` for a single addition on PostgreSQL, in one statement instead of three: an
    existing row is "updated" to itself, which locks it and returns its count (`xmax` is 0
    only on a row this statement inserted). One row cannot deadlock by lock order. The admins'
    noise rules of the value's kind come back with it (a subquery read in the same snapshot
    as a separate select would have been): no cache to go stale across server processes, and
    one round trip fewer per addition."""
    noise = (
        select(
            func.coalesce(
                func.json_agg(func.json_build_array(_NOISE.c.pattern, _NOISE.c.reason)),
                literal_column("'[]'::json"),
            )
        )
        .where(_NOISE.c.kind == row["kind"])
        .scalar_subquery()
    )
    insert_row = pg_insert(_VALUES).values(row)
    stmt = insert_row.on_conflict_do_update(
        index_elements=[_VALUES.c.kind, _VALUES.c.key], set_={"kind": insert_row.excluded.kind}
    ).returning(
        _VALUES.c.id,
        _VALUES.c.case_count,
        _VALUES.c.is_common,
        literal_column("xmax = 0", Boolean),
        noise,
    )
    vid, count, common, created, rules = session.execute(stmt).one()
    found = Value(vid, created, count, common, [(p, r) for p, r in rules])
    return {(row["kind"], row["key"]): found}


def _existing_values(
    session: Session,
    pairs: Sequence[tuple[str, str]],
    found: dict[tuple[str, str], Value],
    mine: dict[uuid.UUID, bool] | None = None,
) -> None:
    """Read (and on PostgreSQL lock, in id order) the value rows of `pairs` into `found`;
    a row whose id is in `mine` was inserted by this batch."""
    by_kind: dict[str, list[str]] = {}
    for k, key in pairs:
        by_kind.setdefault(k, []).append(key)
    if not by_kind:
        return
    # one IN list per kind, so both databases use the (kind, key) unique index
    stmt = select(
        _VALUES.c.id, _VALUES.c.kind, _VALUES.c.key, _VALUES.c.case_count, _VALUES.c.is_common
    ).where(
        or_(*(and_(_VALUES.c.kind == k, _VALUES.c.key.in_(keys)) for k, keys in by_kind.items()))
    )
    if is_postgres(session):
        stmt = stmt.order_by(_VALUES.c.id).with_for_update()
    for vid, k, key, count, common in session.execute(stmt):
        created = mine is not None and vid in mine
        found[(k, key)] = Value(vid, created, 1 if created else count, common and not created)


def _values_in_bulk(
    session: Session, pairs: Sequence[tuple[str, str]], rows: Sequence[dict[str, Any]]
) -> dict[tuple[str, str], Value]:
    """`_values` for an import's batch: the rows are written without per-row parameter
    handling (PostgreSQL: `COPY` into a staging table, then one set-based insert; SQLite: one
    executemany), then every value of the batch is read back with one select; a row whose id
    is the one generated here was inserted now."""
    if is_postgres(session):
        session.execute(
            text(
                "CREATE TEMPORARY TABLE IF NOT EXISTS selector_value_stage "
                "(LIKE selector_value) ON COMMIT DROP"
            )
        )
        bulk_insert(session, _STAGE, rows)
        session.execute(
            text(
                "INSERT INTO selector_value (id, kind, key, case_count, is_common) "
                "SELECT id, kind, key, case_count, is_common FROM selector_value_stage "
                "ORDER BY kind, key ON CONFLICT DO NOTHING"
            )
        )
        session.execute(text("TRUNCATE selector_value_stage"))
    else:
        session.connection().connection.driver_connection.executemany(  # type: ignore[union-attr]
            "INSERT INTO selector_value (id, kind, key, case_count, is_common) "
            "VALUES (?, ?, ?, 1, 0) ON CONFLICT DO NOTHING",
            [(r["id"].hex, r["kind"], r["key"]) for r in rows],
        )
    found: dict[tuple[str, str], Value] = {}
    _existing_values(session, pairs, found, {r["id"]: True for r in rows})
    return found
