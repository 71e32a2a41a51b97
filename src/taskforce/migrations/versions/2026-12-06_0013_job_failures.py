"""The job runner keeps the items whose steps crashed: attempts, the last error, when the item
is tried again, or that it was given up (`core.jobs`).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 06:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import taskforce.core.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_failure",
        sa.Column("job", sa.String(length=40), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("failed_at", taskforce.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_try_at", taskforce.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("gave_up_at", taskforce.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("job", "item_id", name=op.f("pk_job_failure")),
    )
    with op.batch_alter_table("job_failure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_failure_gave_up_at"), ["gave_up_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("job_failure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_failure_gave_up_at"))
    op.drop_table("job_failure")
