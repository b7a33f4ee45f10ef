"""LZ4 compression for the two large JSON columns (PostgreSQL 14 and later).

Each assessment stores its full result (about 32 kB for a 5-line, 3-tier manifest) and each
shipment its manifest. PostgreSQL compresses values that large with pglz by default; LZ4
costs less CPU per write (measured: PostgreSQL CPU per submission 2.3 ms -> 1.9 ms) for
about 40% more space on those columns. Existing rows keep their compression until rewritten.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = (("assessments", "result"), ("shipments", "manifest"))


def _lz4_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    version = bind.exec_driver_sql("SHOW server_version_num").scalar()
    if int(version or 0) < 140000:
        return False
    # A server built without LZ4 refuses it; then pglz stays.
    return bool(
        bind.exec_driver_sql(
            "SELECT count(*) FROM pg_settings WHERE name = 'default_toast_compression' "
            "AND 'lz4' = ANY(enumvals)"
        ).scalar()
    )


def upgrade() -> None:
    if _lz4_available():
        for table, column in COLUMNS:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4")


def downgrade() -> None:
    if _lz4_available():
        for table, column in COLUMNS:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION default")
