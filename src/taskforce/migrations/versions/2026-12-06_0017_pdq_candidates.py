"""Federation, PDQ candidates (issue 14 point 3): the chunk tokens of this node's PDQ values,
those of the PDQ entries its peers published, and the candidates where they meet (a hit only
once the owner confirms it).

Revision ID: 0017_pdq
Revises: 0016
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import taskforce.core.db

revision: str = "0017_pdq"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "federation_own_pdq_chunk",
        sa.Column("value_id", sa.Uuid(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("token", sa.LargeBinary(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["value_id"],
            ["selector_value.id"],
            name=op.f("fk_federation_own_pdq_chunk_value_id_selector_value"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "value_id", "epoch", "position", name=op.f("pk_federation_own_pdq_chunk")
        ),
    )
    with op.batch_alter_table("federation_own_pdq_chunk", schema=None) as batch_op:
        batch_op.create_index(
            "ix_federation_own_pdq_chunk_epoch_token", ["epoch", "token"], unique=False
        )

    op.create_table(
        "federation_remote_pdq_chunk",
        sa.Column("peer_id", sa.Uuid(), nullable=False),
        sa.Column("ref", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("token", sa.LargeBinary(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["peer_id"],
            ["federation_peer.id"],
            name=op.f("fk_federation_remote_pdq_chunk_peer_id_federation_peer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "peer_id", "ref", "position", name=op.f("pk_federation_remote_pdq_chunk")
        ),
    )
    with op.batch_alter_table("federation_remote_pdq_chunk", schema=None) as batch_op:
        batch_op.create_index(
            "ix_federation_remote_pdq_chunk_epoch_token", ["epoch", "token"], unique=False
        )

    op.create_table(
        "federation_pdq_candidate",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("peer_id", sa.Uuid(), nullable=False),
        sa.Column("ref", sa.String(length=36), nullable=False),
        sa.Column("value_id", sa.Uuid(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("next_try_at", taskforce.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", taskforce.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", taskforce.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["peer_id"],
            ["federation_peer.id"],
            name=op.f("fk_federation_pdq_candidate_peer_id_federation_peer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["value_id"],
            ["selector_value.id"],
            name=op.f("fk_federation_pdq_candidate_value_id_selector_value"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_pdq_candidate")),
    )
    with op.batch_alter_table("federation_pdq_candidate", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_federation_pdq_candidate_peer_id"), ["peer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_federation_pdq_candidate_state"), ["state"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_federation_pdq_candidate_value_id"), ["value_id"], unique=False
        )
        batch_op.create_index(
            "uq_federation_pdq_candidate", ["peer_id", "ref", "value_id"], unique=True
        )


def downgrade() -> None:
    op.drop_table("federation_pdq_candidate")
    op.drop_table("federation_remote_pdq_chunk")
    op.drop_table("federation_own_pdq_chunk")
