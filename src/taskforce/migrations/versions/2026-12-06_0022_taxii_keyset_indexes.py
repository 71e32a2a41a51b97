"""interop: keyset indexes for the TAXII server's pages

Revision ID: 0022_taxii
Revises: 0021_observatory
Create Date: 2026-12-06 20:45:00

The TAXII server reads releasable selectors and hash-set entries a page at a time in the order
(added_at, id) (interop.releasable, interop.collections). Without an index in that order every
page sorted the whole table to take its 1,000 rows (benchmarks/taxii.py).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022_taxii"
down_revision: str | None = "0021_observatory"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_selector_added_at_id", "selector", ["added_at", "id"])
    op.create_index("ix_hash_entry_added_at_id", "hash_entry", ["added_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_hash_entry_added_at_id", table_name="hash_entry")
    op.drop_index("ix_selector_added_at_id", table_name="selector")
