"""Reports over stored shipments: adapt the rows into app.reports' input dataclasses and
render. Read-only (nothing here commits).

The rebuttal package and the reviewer checks need the rebuttal, its evidence items and the
document records; `shipment_report` takes them already adapted (RebuttalFacts,
ExhibitFacts), so the rebuttal service only has to map its rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.domain.manifest_codec import manifest_from_dict
from app.reports.checks import run_checks
from app.reports.model import (
    ExhibitFacts,
    KeyDate,
    RebuttalFacts,
    ShipmentFacts,
    ShipmentReport,
)
from app.reports.package_pdf import build_package_pdf
from app.reports.package_zip import OpenDocument, iter_package_zip
from app.reports.supply_map import render, supply_map_dot
from app.services.principal import Principal
from app.services.shipments import ShipmentView, assessment_dict, get_shipment


def shipment_report(
    view: ShipmentView,
    *,
    rebuttal: RebuttalFacts | None = None,
    exhibits: Sequence[ExhibitFacts] = (),
    dates: Sequence[KeyDate] = (),
) -> ShipmentReport:
    """A stored shipment with its latest assessment, as the report renderers take it."""
    shipment = view.shipment
    facts = ShipmentFacts(
        shipment_id=str(shipment.id),
        reference=shipment.reference,
        importer=shipment.importer.name,
        status=shipment.status,
        entry_date=shipment.entry_date,
        dates=tuple(dates),
    )
    # A shipment is assessed in the transaction that stores it, so there is always a row;
    # an empty assessment would only draw the chain without findings.
    assessment = assessment_dict(view.assessment) if view.assessment is not None else {}
    return ShipmentReport(
        shipment=facts,
        manifest=manifest_from_dict(shipment.manifest),
        assessment=assessment,
        rebuttal=rebuttal,
        exhibits=tuple(exhibits),
        generated_at=utcnow(),
    )


def supply_map_svg(
    session: Session,
    principal: Principal,
    shipment_id: uuid.UUID,
    *,
    exhibits: Sequence[ExhibitFacts] = (),
    rebuttal: RebuttalFacts | None = None,
) -> bytes:
    """The shipment's supply-chain map as SVG; NotFound for another tenant's shipment."""
    view = get_shipment(session, principal, shipment_id)
    report = shipment_report(view, rebuttal=rebuttal, exhibits=exhibits)
    return render(supply_map_dot(report), "svg")


def rebuttal_checks(report: ShipmentReport) -> dict[str, Any]:
    """The reviewer checks as the API returns them (`ChecksOut`)."""
    return run_checks(report).to_dict()


def package_pdf(report: ShipmentReport) -> bytes:
    """The rebuttal package PDF (Graphviz + WeasyPrint; seconds for a large shipment)."""
    return build_package_pdf(report)


def package_zip_stream(report: ShipmentReport, open_document: OpenDocument) -> Iterator[bytes]:
    """The PDF plus every exhibit file, streamed; `open_document(sha256)` reads the store."""
    pdf = build_package_pdf(report)
    return iter_package_zip(pdf, report.shipment.reference, report.exhibits, open_document)
