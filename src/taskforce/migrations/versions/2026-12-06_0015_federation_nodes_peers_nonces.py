"""Federation: this node's identity (one row; its private key stays in the data folder), its
peers with their public keys and state, the nonces of signed requests seen (replays refused)
and each peer's agency directory.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import taskforce.core.db


revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "federation_node",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("created_at", taskforce.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", taskforce.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_node")),
    )
    op.create_table(
        "federation_nonce",
        sa.Column("node_id", sa.Uuid(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("expires_at", taskforce.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("node_id", "nonce", name=op.f("pk_federation_nonce")),
    )
    with op.batch_alter_table("federation_nonce", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_federation_nonce_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "federation_peer",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("removed_at", taskforce.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_contact_at", taskforce.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column(
            "directory_synced_at", taskforce.core.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("created_at", taskforce.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", taskforce.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_peer")),
        sa.UniqueConstraint("name", name=op.f("uq_federation_peer_name")),
    )
    with op.batch_alter_table("federation_peer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_federation_peer_state"), ["state"], unique=False)

    op.create_table(
        "federation_peer_agency",
        sa.Column("peer_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("contact_desk", sa.String(length=200), nullable=False),
        sa.Column("contact_phone", sa.String(length=32), nullable=False),
        sa.Column("contact_email", sa.String(length=320), nullable=False),
        sa.Column("partners", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["peer_id"],
            ["federation_peer.id"],
            name=op.f("fk_federation_peer_agency_peer_id_federation_peer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("peer_id", "agency_id", name=op.f("pk_federation_peer_agency")),
    )


def downgrade() -> None:
    op.drop_table("federation_peer_agency")
    with op.batch_alter_table("federation_peer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_federation_peer_state"))

    op.drop_table("federation_peer")
    with op.batch_alter_table("federation_nonce", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_federation_nonce_expires_at"))

    op.drop_table("federation_nonce")
    op.drop_table("federation_node")
