"""Reports over stored shipments: adapt the rows (shipment, assessment, rebuttal, evidence
documents, case dates) into app.reports' input dataclasses and render. Read-only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.models import Assessment as AssessmentRow
from app.db.models import Case, Document, Rebuttal, Shipment
from app.domain.case import CaseState
from app.domain.manifest_codec import manifest_from_dict
from app.reports.checks import run_checks
from app.reports.model import (
    ConditionAnswer,
    ExhibitFacts,
    ExhibitFile,
    FindingAnswer,
    KeyDate,
    RebuttalFacts,
    ShipmentFacts,
    ShipmentReport,
)
from app.reports.package_pdf import build_package_pdf, warm_up
from app.reports.package_zip import OpenDocument, iter_package_zip
from app.reports.supply_map import render, supply_map_dot
from app.services.cases import case_deadlines, current_state, get_rebuttal, today_utc
from app.services.package_renderer import PackageRenderer
from app.services.principal import Principal
from app.services.shipments import assessment_dict, get_shipment, latest_assessment
from app.settings import Settings


def _manifest_as_of(session: Session, shipment: Shipment, sequence: int | None) -> dict[str, Any]:
    """The manifest version in force at rebuttal `sequence` (None: now): the newest revision
    attached to a rebuttal up to it, else the manifest as submitted."""
    query = select(Rebuttal).where(
        Rebuttal.shipment_id == shipment.id, Rebuttal.revised_manifest.is_not(None)
    )
    if sequence is not None:
        query = query.where(Rebuttal.sequence <= sequence)
    revision = session.scalar(query.order_by(Rebuttal.sequence.desc()).limit(1))
    if revision is None or revision.revised_manifest is None:
        return shipment.manifest
    return revision.revised_manifest


def _key_dates(session: Session, shipment: Shipment, response_days: int) -> tuple[KeyDate, ...]:
    if shipment.status in (CaseState.ADMITTED, CaseState.RECEIVED):
        return ()  # no detention, no case clock
    dates = case_deadlines(shipment, session.get(Case, shipment.id), response_days)
    events: list[tuple[str, date | None, bool]] = [
        ("Presented to CBP", dates.presented_at, False),
        ("Detained", dates.detained_at, False),
        ("Notice of detention", dates.notice_at, False),
        ("Response due", dates.response_due, True),
        ("Deemed excluded if CBP has not decided", dates.deemed_excluded_at, True),
    ]
    return tuple(KeyDate(label, on, deadline) for label, on, deadline in events if on is not None)


def _shipment_facts(session: Session, shipment: Shipment, response_days: int) -> ShipmentFacts:
    state = current_state(session, shipment, response_days, today_utc())
    return ShipmentFacts(
        shipment_id=str(shipment.id),
        reference=shipment.reference,
        importer=shipment.importer.name,
        status=state.value,
        entry_date=shipment.entry_date,
        dates=_key_dates(session, shipment, response_days),
    )


def _file(document: Document) -> ExhibitFile:
    return ExhibitFile(
        sha256=document.sha256,
        file_name=document.original_name,
        media_type=document.media_type,
        size=document.size,
    )


def exhibits_of(session: Session, rebuttal: Rebuttal) -> tuple[ExhibitFacts, ...]:
    """The rebuttal's evidence items as exhibits numbered 1, 2, ... in submission order."""
    wanted: set[uuid.UUID] = set()
    for item in rebuttal.evidence:
        wanted.update(uuid.UUID(d) for d in item.get("document_ids", []))
        if item.get("translation_document_id"):
            wanted.add(uuid.UUID(item["translation_document_id"]))
    documents = {
        doc.id: doc for doc in session.scalars(select(Document).where(Document.id.in_(wanted)))
    }
    exhibits = []
    for number, item in enumerate(rebuttal.evidence, start=1):
        translation_id = item.get("translation_document_id")
        exhibits.append(
            ExhibitFacts(
                number=number,
                checklist_id=str(item["type"]),
                title=str(item["title"]),
                files=tuple(_file(documents[uuid.UUID(d)]) for d in item["document_ids"]),
                covers=tuple(item.get("covers", [])),
                issuer=item.get("issuer"),
                issued_on=date.fromisoformat(item["date"]) if item.get("date") else None,
                language=item.get("language"),
                translation=_file(documents[uuid.UUID(translation_id)]) if translation_id else None,
            )
        )
    return tuple(exhibits)


def rebuttal_facts(rebuttal: Rebuttal) -> RebuttalFacts:
    return RebuttalFacts(
        rebuttal_id=str(rebuttal.id),
        kind=rebuttal.kind,
        narrative=rebuttal.narrative,
        submitted_at=rebuttal.submitted_at,
        findings=tuple(
            FindingAnswer(
                str(f["code"]), str(f["path"]), str(f["status"]), str(f.get("reason", ""))
            )
            for f in rebuttal.review.get("findings", [])
        ),
        conditions=tuple(
            ConditionAnswer(
                str(c["id"]),
                str(c["title"]),
                str(c["status"]),
                tuple(str(m) for m in c.get("missing", [])),
            )
            for c in rebuttal.review.get("exception_conditions", [])
        ),
    )


def _assessment(row: AssessmentRow | None) -> dict[str, Any]:
    # Every shipment is assessed in the transaction that stores it, so a row exists; an
    # empty assessment would only draw the chain without findings.
    return assessment_dict(row) if row is not None else {}


def rebuttal_report(
    session: Session,
    principal: Principal,
    shipment_id: uuid.UUID,
    rebuttal_id: uuid.UUID,
    *,
    response_days: int,
) -> ShipmentReport:
    """One rebuttal as its package shows it: the manifest version it answered, its
    re-assessment and review, its exhibits. NotFound for another tenant's shipment."""
    row, assessment_row = get_rebuttal(session, principal, shipment_id, rebuttal_id)
    shipment = row_shipment(session, shipment_id)
    return ShipmentReport(
        shipment=_shipment_facts(session, shipment, response_days),
        manifest=manifest_from_dict(_manifest_as_of(session, shipment, row.sequence)),
        assessment=_assessment(assessment_row),
        rebuttal=rebuttal_facts(row),
        exhibits=exhibits_of(session, row),
        generated_at=utcnow(),
    )


def current_report(
    session: Session, principal: Principal, shipment_id: uuid.UUID, *, response_days: int
) -> ShipmentReport:
    """The shipment as it stands: the current manifest version, the latest assessment, and
    the evidence of the latest rebuttal (if any). NotFound for another tenant's shipment."""
    shipment = get_shipment(session, principal, shipment_id).shipment
    latest = session.scalar(
        select(Rebuttal)
        .where(Rebuttal.shipment_id == shipment.id)
        .order_by(Rebuttal.sequence.desc())
        .limit(1)
    )
    assessment_row = latest_assessment(session, shipment.id)
    rebuttal = None
    if (
        latest is not None
        and assessment_row is not None
        and latest.assessment_id == assessment_row.id
    ):
        rebuttal = rebuttal_facts(latest)  # its review judged exactly these findings
    return ShipmentReport(
        shipment=_shipment_facts(session, shipment, response_days),
        manifest=manifest_from_dict(_manifest_as_of(session, shipment, None)),
        assessment=_assessment(assessment_row),
        rebuttal=rebuttal,
        exhibits=exhibits_of(session, latest) if latest is not None else (),
        generated_at=utcnow(),
    )


def row_shipment(session: Session, shipment_id: uuid.UUID) -> Shipment:
    shipment = session.get(Shipment, shipment_id)
    assert shipment is not None  # get_rebuttal checked it exists and is visible
    return shipment


def supply_map_svg(
    session: Session, principal: Principal, shipment_id: uuid.UUID, *, response_days: int
) -> bytes:
    """The shipment's supply-chain map as SVG; NotFound for another tenant's shipment."""
    report = current_report(session, principal, shipment_id, response_days=response_days)
    return render(supply_map_dot(report), "svg")


def rebuttal_checks(report: ShipmentReport) -> dict[str, Any]:
    """The reviewer checks as the API returns them (`ChecksOut`)."""
    return run_checks(report).to_dict()


def package_renderer(settings: Settings) -> PackageRenderer:
    """Lays out package PDFs (Graphviz + WeasyPrint; seconds, tens of seconds for a large
    shipment) in their own processes: `PackageRenderer.render(report)`."""
    return PackageRenderer(
        build_package_pdf,
        warm_up,
        processes=settings.package_renderers,
        queue=settings.package_render_queue,
        timeout=settings.package_render_timeout_seconds,
    )


def package_zip_stream(
    pdf: bytes, report: ShipmentReport, open_document: OpenDocument
) -> Iterator[bytes]:
    """The package PDF plus every exhibit file, streamed; `open_document(sha256)` reads
    the store."""
    return iter_package_zip(pdf, report.shipment.reference, report.exhibits, open_document)
