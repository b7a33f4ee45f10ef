"""Small typed factories shared by the database tests."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session, sessionmaker

from app.db.base import utcnow
from app.db.models import Importer, Shipment
from app.services.decision_log import record_decision
from app.services.principal import SYSTEM


def add_bare_shipment(session: Session) -> Shipment:
    """A shipment of a new importer, with no manifest content (the caller commits)."""
    importer = Importer(name=f"imp-{uuid.uuid4().hex[:8]}")
    session.add(importer)
    session.flush()
    shipment = Shipment(
        importer_id=importer.id,
        reference=uuid.uuid4().hex[:10],
        body_sha256="0" * 64,
        manifest={},
        status="admitted",
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    session.add(shipment)
    session.flush()
    return shipment


def append_decisions(sessions: sessionmaker[Session], n: int) -> None:
    """Commit `n` assessment decisions for one new shipment."""
    with sessions() as session:
        shipment = add_bare_shipment(session)
        for i in range(n):
            record_decision(
                session,
                shipment=shipment,
                kind="assessment",
                outcome="admit",
                actor=SYSTEM,
                risk_score=i,
            )
        session.commit()
