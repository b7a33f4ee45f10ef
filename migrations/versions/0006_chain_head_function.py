"""uflpa_chain_head(): take the decision-chain lock and read the head in one round trip
(PostgreSQL only; SQLite's write lock already serialises appends).

A plain SELECT cannot do both: its snapshot is taken before the lock is granted, so it
would read a stale head. A VOLATILE PL/pgSQL function takes a new snapshot per statement,
so the head it returns is read after the lock is held.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CREATE = """
CREATE FUNCTION uflpa_chain_head(lock_key bigint)
RETURNS TABLE (seq bigint, hash varchar) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    RETURN QUERY SELECT d.seq, d.hash FROM decisions d ORDER BY d.seq DESC LIMIT 1;
END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CREATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS uflpa_chain_head(bigint)")
