"""triage results: share of a video's frames that match

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 11:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("triage_result", schema=None) as batch_op:
        batch_op.add_column(sa.Column("video_share", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("triage_result", schema=None) as batch_op:
        batch_op.drop_column("video_share")
