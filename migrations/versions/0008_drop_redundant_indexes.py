"""Drop two indexes that a wider index already covers.

`ix_assessments_shipment_id` (shipment_id) is served by the unique index on
(shipment_id, sequence), and `ix_decisions_shipment_id` (shipment_id) by
`ix_decisions_shipment_seq` (shipment_id, seq): a B-tree answers look-ups on its leading
column. Every new shipment wrote an entry into each of them for nothing.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_assessments_shipment_id", "assessments"),
    ("ix_decisions_shipment_id", "decisions"),
)


def upgrade() -> None:
    for name, table in INDEXES:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table in INDEXES:
        op.create_index(name, table, ["shipment_id"])
