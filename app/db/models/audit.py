"""Indexes the auditor's reads need on the decision log (no new tables).

The Decision table itself is defined in core.py; these indexes attach to it. They serve the
per-shipment GROUP BY behind the statistics and the kind / outcome / origin filters.
"""

from __future__ import annotations

from sqlalchemy import Index

from app.db.models.core import Decision

DECISION_AUDIT_INDEXES = (
    Index("ix_decisions_shipment_seq", Decision.shipment_id, Decision.seq),
    Index("ix_decisions_kind_outcome", Decision.kind, Decision.outcome),
    Index("ix_decisions_country_of_origin", Decision.country_of_origin),
)
