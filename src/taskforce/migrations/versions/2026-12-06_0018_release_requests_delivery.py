"""Federation, release requests (issue 14 point 5): an incoming request keeps the owning case
(the publication that linked its ref to the case is deleted when the entry is withdrawn, and
the owning agency must still be the one that decides), and each request's delivery to the
other node keeps its attempts and the time of the next one (retried with backoff).

Revision ID: 0018_h3
Revises: 0017_pdq
Create Date: 2026-12-06 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import taskforce.core.db

revision: str = "0018_h3"
down_revision: str | None = "0017_pdq"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("federation_release_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("case_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("next_attempt_at", taskforce.core.db.UTCDateTime(), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_federation_release_request_case_id_case_file"),
            "case_file",
            ["case_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            batch_op.f("ix_federation_release_request_next_attempt_at"),
            ["next_attempt_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("federation_release_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_federation_release_request_next_attempt_at"))
        batch_op.drop_constraint(
            batch_op.f("fk_federation_release_request_case_id_case_file"), type_="foreignkey"
        )
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("case_id")
