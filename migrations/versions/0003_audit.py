"""audit: indexes for the decision log's auditor reads

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 08:50:00

Indexes only: creating or dropping an index does not touch the rows, so the append-only
triggers on decisions are unaffected.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_decisions_shipment_seq": ["shipment_id", "seq"],
    "ix_decisions_kind_outcome": ["kind", "outcome"],
    "ix_decisions_country_of_origin": ["country_of_origin"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "decisions", columns, unique=False)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="decisions")
