"""Shipment intake and reads: idempotent submission, tenant-scoped queries."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Select, Table, and_, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.models import Assessment as AssessmentRow
from app.db.models import (
    AssessmentCitation,
    Shipment,
    ShipmentInput,
    ShipmentLine,
    ShipmentParty,
)
from app.domain.assessment import Assessment, Recommendation
from app.domain.manifest import Manifest, iter_inputs, iter_parties
from app.domain.manifest_codec import manifest_from_dict
from app.errors import Forbidden, IdempotencyConflict, NotFound, Unprocessable
from app.services.assessor import Assessor
from app.services.decision_log import canonical_json, record_decision
from app.services.keys import get_or_create_importer
from app.services.principal import Principal, Role


class ShipmentStatus:
    ADMITTED = "admitted"
    DETAINED = "detained"


@dataclass(frozen=True)
class ShipmentView:
    shipment: Shipment
    assessment: AssessmentRow | None

    def to_dict(self) -> dict[str, Any]:
        s = self.shipment
        return {
            "id": str(s.id),
            "reference": s.reference,
            "importer": s.manifest.get("importer") or s.importer.name,
            "status": s.status,
            "created_at": s.created_at,
            "updated_at": s.updated_at,
            "manifest": s.manifest,
            "assessment": None if self.assessment is None else assessment_dict(self.assessment),
        }


def assessment_dict(row: AssessmentRow) -> dict[str, Any]:
    return {
        **row.result,
        "id": str(row.id),
        "sequence": row.sequence,
        "kind": row.kind,
        "assessed_at": row.assessed_at,
    }


def body_sha256(canonical_manifest: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(canonical_manifest).encode()).hexdigest()


def _resolve_importer(session: Session, principal: Principal, name: str) -> uuid.UUID:
    if principal.role in (Role.IMPORTER, Role.BROKER):
        importer_id = principal.importer_id_for(name)
        if importer_id is None:
            raise Forbidden(
                f"this key may not submit for importer '{name}'",
                errors=[{"field": "importer", "reason": "not an importer this key acts for"}],
            )
        return importer_id
    if principal.role is Role.ADMIN:
        return get_or_create_importer(session, name).id
    raise Forbidden(f"a {principal.role.value} key cannot submit shipments")


def _find(session: Session, importer_id: uuid.UUID, reference: str) -> Shipment | None:
    return session.scalar(
        select(Shipment).where(Shipment.importer_id == importer_id, Shipment.reference == reference)
    )


def latest_assessment(session: Session, shipment_id: uuid.UUID) -> AssessmentRow | None:
    return session.scalar(
        select(AssessmentRow)
        .where(AssessmentRow.shipment_id == shipment_id)
        .order_by(AssessmentRow.sequence.desc())
        .limit(1)
    )


def _declared_value(manifest: Manifest) -> tuple[Decimal | None, str | None]:
    currencies = {line.currency for line in manifest.lines if line.value is not None}
    values = [line.value for line in manifest.lines if line.value is not None]
    if not values or len(currencies) != 1:
        return None, None  # no single-currency total to report
    return Decimal(str(round(sum(values), 2))), currencies.pop()


def _write_normalised_rows(session: Session, shipment: Shipment, manifest: Manifest) -> None:
    """Lines, parties at every tier, and the input tree: one multi-row INSERT per table."""
    lines = [
        {
            "shipment_id": shipment.id,
            "line_index": index,
            "line_number": line.line_number,
            "hts_code": line.hts_code,
            "description": line.description,
            "quantity": line.quantity,
            "unit": line.unit,
            "value": None if line.value is None else Decimal(str(line.value)),
            "currency": line.currency,
            "country_of_origin": line.country_of_origin,
        }
        for index, line in enumerate(manifest.lines)
    ]
    parties = [
        {
            "shipment_id": shipment.id,
            "path": path,
            "role": party.role,
            "name": party.name,
            "address": party.address,
            "country": party.country,
        }
        for path, party in iter_parties(manifest)
    ]
    inputs = [
        {
            "shipment_id": shipment.id,
            "path": node.path,
            "line_index": node.line_index,
            "tier": node.tier,
            "material": node.input.material,
            "hts_code": node.input.hts_code,
            "country_of_origin": node.input.country_of_origin,
            "region": node.input.region,
        }
        for node in iter_inputs(manifest)
    ]
    tables = (
        (ShipmentLine.__table__, lines),
        (ShipmentParty.__table__, parties),
        (ShipmentInput.__table__, inputs),
    )
    for table, rows in tables:
        if rows:
            # A plain table INSERT (not the ORM bulk path): one executemany per table, no
            # per-row ORM bookkeeping, and no split into groups by which columns are null.
            session.execute(insert(cast(Table, table)), rows)


def _add_citations(
    session: Session, shipment: Shipment, row: AssessmentRow, result: Assessment
) -> None:
    """Index the list entries this assessment cites, for re-screening when they change."""
    cited: set[tuple[str, str]] = set()
    for finding in result.findings:
        evidence = finding.evidence
        list_id, entry_id = evidence.get("list"), evidence.get("entry_id")
        if isinstance(list_id, str) and isinstance(entry_id, str):
            cited.add((list_id, entry_id))
    for list_id, entry_id in sorted(cited):
        session.add(
            AssessmentCitation(
                assessment_id=row.id, shipment_id=shipment.id, list_id=list_id, entry_id=entry_id
            )
        )


def store_assessment(
    session: Session,
    shipment: Shipment,
    result: Assessment,
    *,
    kind: str,
    actor: Principal,
    decision_kind: str,
    sequence: int | None = None,
) -> AssessmentRow:
    """Add an assessment row and its decision record (caller commits).

    `sequence` may be given when the caller knows it (1 for a new shipment), saving a query.
    """
    if sequence is None:
        previous = latest_assessment(session, shipment.id)
        sequence = 1 if previous is None else previous.sequence + 1
    row = AssessmentRow(
        id=uuid.uuid4(),  # known before the flush, so the decision record can cite it
        shipment_id=shipment.id,
        sequence=sequence,
        kind=kind,
        recommendation=result.recommendation.value,
        risk_score=result.risk_score,
        risk_level=result.risk_level,
        presumption_applies=result.presumption.applies,
        sanctions_applies=result.sanctions.applies,
        grounds=[g.value for g in result.presumption.grounds],
        result=result.to_dict(),
        rules_version=result.rules_version,
        lists_version=dict(result.lists_version),
        matcher_version=result.matcher_version,
        assessed_at=utcnow(),
        created_by_key_id=None if actor.key_id.int == 0 else actor.key_id,
    )
    session.add(row)
    _add_citations(session, shipment, row, result)
    record_decision(
        session,
        shipment=shipment,
        kind=decision_kind,
        outcome=result.recommendation.value,
        actor=actor,
        risk_score=result.risk_score,
        grounds=[g.value for g in result.presumption.grounds]
        + [f"sanctions:{name}" for name in result.sanctions.lists],
        findings=[f.to_dict() for f in result.findings],
        rules_version=result.rules_version,
        lists_version=result.lists_version,
        matcher_version=result.matcher_version,
        sectors=result.sectors,
        assessment_id=row.id,
    )
    return row


def submit_shipment(
    session: Session, assessor: Assessor, principal: Principal, canonical: dict[str, Any]
) -> tuple[ShipmentView, bool]:
    """Store and assess one manifest in one transaction. Returns (view, created)."""
    digest = body_sha256(canonical)
    importer_id = _resolve_importer(session, principal, canonical["importer"])
    existing = _find(session, importer_id, canonical["reference"])
    if existing is not None:
        return _replay(session, existing, digest), False

    manifest = manifest_from_dict(canonical)
    result = assessor.assess(manifest)
    value, currency = _declared_value(manifest)
    now = utcnow()
    shipment = Shipment(
        importer_id=importer_id,
        reference=manifest.reference,
        body_sha256=digest,
        manifest=canonical,
        status=ShipmentStatus.DETAINED
        if result.recommendation is Recommendation.DETAIN
        else ShipmentStatus.ADMITTED,
        entry_date=manifest.entry_date,
        country_of_origin=manifest.country_of_origin,
        declared_value=value,
        currency=currency,
        created_at=now,
        updated_at=now,
        created_by_key_id=None if principal.key_id.int == 0 else principal.key_id,
    )
    session.add(shipment)
    try:
        session.flush()
    except IntegrityError:
        # Another request stored the same reference first: answer as a resend would.
        session.rollback()
        raced = _find(session, importer_id, canonical["reference"])
        if raced is None:
            raise
        return _replay(session, raced, digest), False
    _write_normalised_rows(session, shipment, manifest)
    row = store_assessment(
        session,
        shipment,
        result,
        kind="initial",
        actor=principal,
        decision_kind="assessment",
        sequence=1,
    )
    session.commit()
    return ShipmentView(shipment, row), True


def _replay(session: Session, existing: Shipment, digest: str) -> ShipmentView:
    if existing.body_sha256 != digest:
        raise IdempotencyConflict(
            f"reference '{existing.reference}' was already submitted with a different body",
            shipment_id=str(existing.id),
        )
    return ShipmentView(existing, latest_assessment(session, existing.id))


def get_shipment(session: Session, principal: Principal, shipment_id: uuid.UUID) -> ShipmentView:
    shipment = session.get(Shipment, shipment_id)
    # 404, not 403, for other tenants' shipments: ids must not leak.
    if shipment is None or not principal.can_see(shipment.importer_id):
        raise NotFound(f"no shipment {shipment_id}")
    return ShipmentView(shipment, latest_assessment(session, shipment.id))


def visible_shipments(principal: Principal) -> Select[Shipment]:
    query = select(Shipment)
    if not principal.sees_all:
        query = query.where(Shipment.importer_id.in_(principal.importer_ids))
    return query


def encode_cursor(created_at: datetime, shipment_id: uuid.UUID) -> str:
    raw = f"{created_at.isoformat()}|{shipment_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, ident = raw.split("|", 1)
        return datetime.fromisoformat(stamp), uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unprocessable(
            "cursor is not valid", errors=[{"field": "cursor", "reason": "malformed"}]
        ) from exc


def list_shipments(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    since: datetime | None = None,
    reference: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[Sequence[ShipmentView], str | None]:
    query = visible_shipments(principal)
    if status is not None:
        query = query.where(Shipment.status == status)
    if since is not None:
        query = query.where(Shipment.created_at >= since)
    if reference is not None:
        query = query.where(Shipment.reference == reference)
    if cursor is not None:
        at, ident = decode_cursor(cursor)
        query = query.where(
            or_(Shipment.created_at > at, and_(Shipment.created_at == at, Shipment.id > ident))
        )
    rows = list(session.scalars(query.order_by(Shipment.created_at, Shipment.id).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id)
    return [ShipmentView(s, latest_assessment(session, s.id)) for s in rows], next_cursor
