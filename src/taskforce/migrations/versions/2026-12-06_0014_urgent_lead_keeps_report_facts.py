"""An urgent lead keeps the two facts of its report the watch shows: the report's kind and
when it arrived. They were read from `public_report` on every page and reminder, which made the
watch depend on the reports domain while reports open the leads (a cycle). Existing leads get
them from their report.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 06:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import taskforce.core.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("urgent_lead", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("received_at", taskforce.core.db.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute(
        "UPDATE urgent_lead SET "
        "kind = (SELECT r.kind FROM public_report r WHERE r.id = urgent_lead.report_id), "
        "received_at = (SELECT r.created_at FROM public_report r WHERE r.id = urgent_lead.report_id)"
    )
    with op.batch_alter_table("urgent_lead", schema=None) as batch_op:
        batch_op.alter_column("kind", existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column(
            "received_at",
            existing_type=taskforce.core.db.UTCDateTime(timezone=True),
            nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("urgent_lead", schema=None) as batch_op:
        batch_op.drop_column("received_at")
        batch_op.drop_column("kind")
