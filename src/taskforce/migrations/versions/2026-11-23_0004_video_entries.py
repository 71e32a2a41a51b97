"""video entries in hash sets: vPDQ frames

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 11:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("hash_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vpdq", sa.Text(), nullable=True))
    op.create_table(
        "hash_entry_frame",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("entry_id", _ID, nullable=False),
        sa.Column("pdq", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["hash_entry.id"],
            name=op.f("fk_hash_entry_frame_entry_id_hash_entry"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hash_entry_frame")),
    )
    with op.batch_alter_table("hash_entry_frame", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hash_entry_frame_entry_id"), ["entry_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hash_entry_frame", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hash_entry_frame_entry_id"))
    op.drop_table("hash_entry_frame")
    with op.batch_alter_table("hash_entry", schema=None) as batch_op:
        batch_op.drop_column("vpdq")
