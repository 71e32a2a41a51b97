"""The audit log sealed in a Merkle tree: entries lose their link to the previous entry (the
lock that kept that chain in order was the hub's one queue) and get a place in the tree.

The old chain is verified first and the upgrade refuses a broken one: re-hashing a tampered log
into a fresh tree would launder the tampering. Each entry's hash becomes its RFC 9162 leaf hash
(the same content, without the link); the sealer then gives every entry its place, in the
order the chain had them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 02:30:00
"""

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import taskforce.core.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FIELDS = (
    "id", "at", "actor_user_id", "actor_agency_id", "actor_label", "role", "channel",
    "token_id", "ip", "action", "operation", "subject_type", "subject_id", "subject_agency_id",
    "justification", "recipients", "outcome", "detail",
)


_IDS = ("id", "actor_user_id", "actor_agency_id", "token_id", "subject_id", "subject_agency_id")
_TYPES: dict[str, Any] = {
    **{name: sa.Uuid() for name in _IDS},
    "recipients": sa.JSON(),
    "detail": sa.JSON(),
}


def _canonical(row: Any, *, with_link: bool) -> bytes:
    """The entry's content as revision 0010 and 0011 hash it (frozen here on purpose)."""
    body: dict[str, Any] = {}
    for name in _FIELDS:
        value = row[name]
        if name in _IDS:
            value = str(value) if value else None
        body[name] = value
    body["id"] = str(row["id"])
    body["at"] = row["at"].isoformat(timespec="microseconds")
    body["recipients"] = list(row["recipients"] or [])
    body["detail"] = row["detail"] or {}
    if with_link:
        body["prev_hash"] = row["prev_hash"]
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def upgrade() -> None:
    table = sa.table(
        "audit_entry",
        sa.column("seq", sa.Integer()),
        *(sa.column(name, _TYPES.get(name, sa.String())) for name in _FIELDS if name != "at"),
        sa.column("at", taskforce.core.db.UTCDateTime()),
        sa.column("prev_hash", sa.String()),
        sa.column("entry_hash", sa.String()),
    )
    bind = op.get_bind()
    prev, last, new_hashes = "0" * 64, 0, []
    while True:
        rows = (
            bind.execute(
                sa.select(table).where(table.c.seq > last).order_by(table.c.seq).limit(5000)
            )
            .mappings()
            .all()
        )
        if not rows:
            break
        for row in rows:
            if row["prev_hash"] != prev or (
                hashlib.sha256(_canonical(row, with_link=True)).hexdigest() != row["entry_hash"]
            ):
                raise RuntimeError(
                    f"the audit chain is broken at entry {row['seq']} (taskforce audit verify on "
                    "the previous release names why); not sealing a tampered log: restore it "
                    "from a backup before upgrading"
                )
            prev = row["entry_hash"]
            leaf = hashlib.sha256(b"\x00" + _canonical(row, with_link=False)).hexdigest()
            new_hashes.append({"s": row["seq"], "h": leaf})
            last = row["seq"]
    if new_hashes:
        bind.execute(
            table.update()
            .where(table.c.seq == sa.bindparam("s"))
            .values(entry_hash=sa.bindparam("h")),
            new_hashes,
        )

    op.create_table(
        "audit_tree",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("frontier", sa.JSON(), nullable=False),
        sa.Column("sealed_at", taskforce.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_tree")),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "leaf_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.create_unique_constraint(batch_op.f("uq_audit_entry_leaf_index"), ["leaf_index"])
        batch_op.drop_column("prev_hash")
    op.create_index(
        "ix_audit_entry_unsealed",
        "audit_entry",
        ["seq"],
        unique=False,
        sqlite_where=sa.text("leaf_index IS NULL"),
        postgresql_where=sa.text("leaf_index IS NULL"),
    )


def downgrade() -> None:
    raise NotImplementedError("the hash chain cannot be rebuilt from a sealed log")
