"""Shipment intake and reads: idempotent submission, tenant-scoped queries."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from app.db.models import Assessment as AssessmentRow
from app.db.models import AssessmentCitation, Shipment
from app.domain.assessment import Assessment
from app.domain.manifest_codec import manifest_from_dict
from app.errors import (
    Forbidden,
    IdempotencyConflict,
    NotFound,
    ServiceUnavailable,
    Unprocessable,
)
from app.jsonutil import canonical_json, dumps
from app.services.assessor import Assessor
from app.services.decision_log import record_draft
from app.services.keys import get_or_create_importer
from app.services.principal import Principal, Role
from app.services.shipment_rows import (
    NewShipment,
    assessment_decision,
    assessment_values,
    citation_values,
    new_shipment,
    write_new_shipments,
)


@dataclass(frozen=True, slots=True)
class NewAssessment:
    """A just-built assessment for the answer, without a transient ORM row (whose set-up
    cost 7% of a batch worker's time)."""

    id: uuid.UUID
    sequence: int
    kind: str
    assessed_at: datetime
    result_json: bytes  # the result, as JSON already encoded for its row

    def answer(self) -> orjson.Fragment:
        """`assessment_dict(self)`, as JSON: the encoded result and this assessment's own
        fields, joined without encoding the result a second time."""
        own = dumps(_own_fields(self))
        return orjson.Fragment(self.result_json[:-1] + b"," + own[1:])


@dataclass(frozen=True)
class ShipmentView:
    shipment: Shipment
    assessment: AssessmentRow | NewAssessment | None

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
            "assessment": _assessment_answer(self.assessment),
        }


def _own_fields(row: AssessmentRow | NewAssessment) -> dict[str, Any]:
    """What an answer adds to the stored result (never keys of the result itself)."""
    return {
        "id": str(row.id),
        "sequence": row.sequence,
        "kind": row.kind,
        "assessed_at": row.assessed_at,
    }


def assessment_dict(row: AssessmentRow) -> dict[str, Any]:
    return {**row.result, **_own_fields(row)}


def _assessment_answer(
    row: AssessmentRow | NewAssessment | None,
) -> dict[str, Any] | orjson.Fragment | None:
    if row is None:
        return None
    if isinstance(row, NewAssessment):
        return row.answer()
    return assessment_dict(row)


def body_sha256(canonical_manifest: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(canonical_manifest).encode()).hexdigest()


def importer_for_key(principal: Principal, name: str) -> uuid.UUID | None:
    """The importer a key may submit for, decided without the database. None for an admin
    key, which may name any importer (and a new one must be created: `_resolve_importer`)."""
    if principal.role in (Role.IMPORTER, Role.BROKER):
        importer_id = principal.importer_id_for(name)
        if importer_id is None:
            raise Forbidden(
                f"this key may not submit for importer '{name}'",
                errors=[{"field": "importer", "reason": "not an importer this key acts for"}],
            )
        return importer_id
    if principal.role is Role.ADMIN:
        return None
    raise Forbidden(f"a {principal.role.value} key cannot submit shipments")


def _resolve_importer(session: Session, principal: Principal, name: str) -> uuid.UUID:
    importer_id = importer_for_key(principal, name)
    return get_or_create_importer(session, name).id if importer_id is None else importer_id


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
    """Add an assessment row and its decision record to a stored shipment (caller commits).

    `sequence` may be given when the caller knows it, saving a query.
    """
    if sequence is None:
        previous = latest_assessment(session, shipment.id)
        sequence = 1 if previous is None else previous.sequence + 1
    values = assessment_values(shipment.id, result, sequence=sequence, kind=kind, actor=actor)
    row = AssessmentRow(**values)
    session.add(row)
    session.add_all(
        AssessmentCitation(**cited) for cited in citation_values(row.id, shipment.id, result)
    )
    record_draft(
        session,
        shipment,
        assessment_decision(shipment, values, result, kind=decision_kind, actor=actor),
    )
    return row


def prepare_shipment(
    session: Session, assessor: Assessor, principal: Principal, canonical: dict[str, Any]
) -> NewShipment:
    """Assess a manifest and build its rows, for the importer the key may submit for.
    (An admin key may name a new importer: it is created in `session`, uncommitted.)"""
    importer_id = _resolve_importer(session, principal, canonical["importer"])
    return build_new_shipment(assessor, principal, importer_id, canonical)


def build_new_shipment(
    assessor: Assessor, principal: Principal, importer_id: uuid.UUID, canonical: dict[str, Any]
) -> NewShipment:
    """Assess a manifest and build its rows: CPU only, no I/O."""
    manifest = manifest_from_dict(canonical)
    return new_shipment(
        importer_id,
        canonical,
        body_sha256(canonical),
        manifest,
        assessor.assess(manifest),
        principal,
    )


def new_view(new: NewShipment) -> ShipmentView:
    values = new.assessment_values
    assessment = NewAssessment(
        id=values["id"],
        sequence=values["sequence"],
        kind=values["kind"],
        assessed_at=values["assessed_at"],
        result_json=new.result_json,
    )
    return ShipmentView(new.shipment, assessment)


def replay(session: Session, new: NewShipment, canonical: dict[str, Any]) -> ShipmentView:
    """The answer for a shipment whose reference was already stored: the stored shipment if
    the body is the same (a resend), else 409."""
    existing = _find(session, new.shipment.importer_id, canonical["reference"])
    if existing is None:  # pragma: no cover - shipments are never deleted
        raise ServiceUnavailable(f"reference '{canonical['reference']}' is being written; retry")
    return _replay(session, existing, new.shipment.body_sha256)


def submit_shipment(
    session: Session,
    assessor: Assessor,
    principal: Principal,
    canonical: dict[str, Any],
    write: Callable[[NewShipment], bool] | None = None,
) -> tuple[ShipmentView, bool]:
    """Store and assess one manifest, all-or-nothing. Returns (view, created).

    `write` stores the new shipment and says whether it did (the service passes its group
    writer); by default it is written in `session`'s own transaction."""
    new = prepare_shipment(session, assessor, principal, canonical)
    session.commit()  # an importer an admin key named may have been created just now
    stored = write(new) if write is not None else write_new_shipments(session, [new])[0]
    if stored:
        return new_view(new), True
    # Stored before (a resend), or by a racing request that committed first.
    return replay(session, new, canonical), False


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
