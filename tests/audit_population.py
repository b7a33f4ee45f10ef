"""A varied decision log for the auditor tests: shipments over the API, then follow-ups.

Shipments come from the fixture manifests (clean and detained ones, several sectors,
origins and importers, USD and EUR values, some without values). Follow-up decisions of
other kinds (determination, rebuttal_assessment, rescreen) are written through
record_decision, the same call the rebuttal and rescreen features use, so the auditor view
is tested against kinds and outcomes it does not special-case.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Decision, Shipment
from app.services.decision_log import record_decision
from app.services.principal import SYSTEM

MANIFEST_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "manifests"
SOURCES = (
    "clean_vietnam_cotton_from_us",
    "xpcc_regiment_cotton",
    "clean_yiwu_zhejiang",
    "tomato_sauce_italy_bazhou_paste",
    "gap_solar_untraced_polysilicon",
    "seafood_entity_list_match",
    "clean_hamilton_nz",
    "aluminium_wheels_xinjiang_postcode",
    "example_design",
)
IMPORTERS = ("Acme Apparel Inc", "Globex Imports LLC", "Initech Trading Co")


def manifests(count: int, prefix: str = "AUD") -> Iterator[dict[str, Any]]:
    templates = [json.loads((MANIFEST_DIR / f"{name}.json").read_text()) for name in SOURCES]
    for i in range(count):
        manifest = copy.deepcopy(templates[i % len(templates)])
        manifest["reference"] = f"{prefix}-{i:05d}"
        manifest["importer"] = IMPORTERS[i % len(IMPORTERS)]
        for line in manifest["lines"]:
            if line.get("value") is not None:
                line["value"] = 1000 + i * 7 + 0.25
                if i % 10 == 0:
                    line["currency"] = "EUR"  # counted, but not summed with dollars
        yield manifest


def add_follow_ups(sessions: sessionmaker[Session]) -> dict[str, int]:
    """Determinations, rebuttal assessments and rescreens on some shipments."""
    counts = {"released": 0, "excluded": 0, "rebuttal_assessment": 0, "rescreen": 0}
    with sessions() as session:
        shipments = list(session.scalars(select(Shipment).order_by(Shipment.reference)))
        for i, shipment in enumerate(shipments):
            first = session.scalar(
                select(Decision).where(Decision.shipment_id == shipment.id).order_by(Decision.seq)
            )
            assert first is not None
            if first.outcome == "detain":
                if i % 3 == 0:
                    _follow(session, shipment, first, "rebuttal_assessment", "admit")
                    _follow(session, shipment, first, "determination", "released")
                    counts["rebuttal_assessment"] += 1
                    counts["released"] += 1
                elif i % 5 == 1:
                    _follow(session, shipment, first, "determination", "excluded")
                    counts["excluded"] += 1
                elif i % 7 == 2:
                    _follow(session, shipment, first, "rebuttal_assessment", "detain")
                    counts["rebuttal_assessment"] += 1
            elif i % 11 == 4:
                # An entity-list update made a past supplier a listed one.
                _follow(session, shipment, first, "rescreen", "detain")
                counts["rescreen"] += 1
        session.commit()
    return counts


def _follow(session: Session, shipment: Shipment, first: Decision, kind: str, outcome: str) -> None:
    record_decision(
        session,
        shipment=shipment,
        kind=kind,
        outcome=outcome,
        actor=SYSTEM,
        risk_score=None if kind == "determination" else first.risk_score,
        grounds=list(first.grounds) if outcome == "detain" else [],
        rules_version=first.rules_version,
        lists_version=first.lists_version,
        matcher_version=first.matcher_version,
        sectors=list(first.sectors),
    )
