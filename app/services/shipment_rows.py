"""The intake write path: a new shipment as plain rows, inserted with Core statements.

A new shipment is written as rows (shipment, lines, parties, inputs, assessment, citations,
decision record) built up front and inserted table by table, one statement per table for
any number of shipments. No ORM unit of work runs on this path: it was most of the cost of
a submission. Batches write a whole chunk this way in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy.orm import Session

from app.db.base import table_of, utcnow
from app.db.bulk import insert_new_rows, insert_rows, pipelined
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
from app.jsonutil import dumps
from app.services.decision_log import (
    ChainHead,
    DecisionRecord,
    append_decisions,
    chain_head_of,
    decision_draft,
    locked_head_query,
)
from app.services.principal import Principal
from app.services.webhooks import (
    enqueue_for_decision,
    event_type_for_decision,
    subscribed,
    subscribers,
    subscribers_query,
)


class ShipmentStatus:
    ADMITTED = "admitted"
    DETAINED = "detained"


def _key_id(principal: Principal) -> uuid.UUID | None:
    return None if principal.key_id.int == 0 else principal.key_id  # 0: the system actor


def declared_value(manifest: Manifest) -> tuple[Decimal | None, str | None]:
    currencies = {line.currency for line in manifest.lines if line.value is not None}
    values = [line.value for line in manifest.lines if line.value is not None]
    if not values or len(currencies) != 1:
        return None, None  # no single-currency total to report
    return Decimal(str(round(sum(values), 2))), currencies.pop()


def assessment_values(
    shipment_id: uuid.UUID,
    result: Assessment,
    *,
    sequence: int,
    kind: str,
    actor: Principal,
) -> dict[str, Any]:
    """The columns of an assessment row (shared by the ORM path and the Core path)."""
    return {
        "id": uuid.uuid4(),  # known before any flush, so the decision record can cite it
        "shipment_id": shipment_id,
        "sequence": sequence,
        "kind": kind,
        "recommendation": result.recommendation.value,
        "risk_score": result.risk_score,
        "risk_level": result.risk_level,
        "presumption_applies": result.presumption.applies,
        "sanctions_applies": result.sanctions.applies,
        "grounds": [g.value for g in result.presumption.grounds],
        "result": result.to_dict(),
        "rules_version": result.rules_version,
        "lists_version": dict(result.lists_version),
        "matcher_version": result.matcher_version,
        "assessed_at": utcnow(),
        "created_by_key_id": _key_id(actor),
    }


def citation_values(
    assessment_id: uuid.UUID, shipment_id: uuid.UUID, result: Assessment
) -> list[dict[str, Any]]:
    """The list entries an assessment cites, for re-screening when they change."""
    cited: set[tuple[str, str]] = set()
    for finding in result.findings:
        evidence = finding.evidence
        list_id, entry_id = evidence.get("list"), evidence.get("entry_id")
        if isinstance(list_id, str) and isinstance(entry_id, str):
            cited.add((list_id, entry_id))
    return [
        {
            "assessment_id": assessment_id,
            "shipment_id": shipment_id,
            "list_id": list_id,
            "entry_id": entry_id,
        }
        for list_id, entry_id in sorted(cited)
    ]


def assessment_decision(
    shipment: Shipment,
    assessment: dict[str, Any],
    result: Assessment,
    *,
    kind: str,
    actor: Principal,
) -> DecisionRecord:
    """The decision-record draft for an assessment (initial, rebuttal or re-screen);
    `assessment` is the row's columns, as `assessment_values` returns them."""
    return decision_draft(
        shipment,
        kind=kind,
        outcome=result.recommendation.value,
        actor=actor,
        risk_score=result.risk_score,
        grounds=[g.value for g in result.presumption.grounds]
        + [f"sanctions:{name}" for name in result.sanctions.lists],
        findings=assessment["result"]["findings"],
        rules_version=result.rules_version,
        lists_version=result.lists_version,
        matcher_version=result.matcher_version,
        sectors=result.sectors,
        assessment_id=assessment["id"],
    )


@dataclass
class NewShipment:
    """Everything one new shipment writes, as rows. `shipment` is a transient ORM object
    (never added to a session) so responses and webhook events read it as usual."""

    shipment: Shipment
    decision: DecisionRecord
    lines: list[dict[str, Any]] = field(default_factory=list)
    parties: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)
    shipment_values: dict[str, Any] = field(default_factory=dict)
    assessment_values: dict[str, Any] = field(default_factory=dict)
    # The assessment result as JSON, encoded once for both the row and the answer (32 kB
    # for a 5-line, 3-tier manifest; encoding it twice was 2% of an intake worker).
    result_json: bytes = b""


def new_shipment(
    importer_id: uuid.UUID,
    canonical: dict[str, Any],
    digest: str,
    manifest: Manifest,
    result: Assessment,
    principal: Principal,
) -> NewShipment:
    value, currency = declared_value(manifest)
    now = utcnow()
    shipment_values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "importer_id": importer_id,
        "reference": manifest.reference,
        "body_sha256": digest,
        "manifest": canonical,
        "status": ShipmentStatus.DETAINED
        if result.recommendation is Recommendation.DETAIN
        else ShipmentStatus.ADMITTED,
        "entry_date": manifest.entry_date,
        "country_of_origin": manifest.country_of_origin,
        "declared_value": value,
        "currency": currency,
        "created_at": now,
        "updated_at": now,
        "created_by_key_id": _key_id(principal),
    }
    shipment_id: uuid.UUID = shipment_values["id"]
    shipment = Shipment(**shipment_values)
    assessed = assessment_values(shipment_id, result, sequence=1, kind="initial", actor=principal)
    return NewShipment(
        shipment=shipment,
        decision=assessment_decision(
            shipment, assessed, result, kind="assessment", actor=principal
        ),
        lines=[
            {
                "shipment_id": shipment_id,
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
        ],
        parties=[
            {
                "shipment_id": shipment_id,
                "path": path,
                "role": party.role,
                "name": party.name,
                "address": party.address,
                "country": party.country,
            }
            for path, party in iter_parties(manifest)
        ],
        inputs=[
            {
                "shipment_id": shipment_id,
                "path": node.path,
                "line_index": node.line_index,
                "tier": node.tier,
                "material": node.input.material,
                "hts_code": node.input.hts_code,
                "country_of_origin": node.input.country_of_origin,
                "region": node.input.region,
            }
            for node in iter_inputs(manifest)
        ],
        citations=citation_values(assessed["id"], shipment_id, result),
        shipment_values=shipment_values,
        assessment_values=assessed,
        result_json=dumps(assessed["result"]),
    )


_SHIPMENTS = table_of(Shipment)


def _insert_shipments_if_new(session: Session, news: Sequence[NewShipment]) -> set[uuid.UUID]:
    """Insert the shipment rows whose (importer, reference) is new; returns the ids inserted.

    ON CONFLICT DO NOTHING instead of look-up-then-insert: one statement for any number of
    shipments, and a racing duplicate waits for the first writer's commit rather than
    failing the transaction. Rows go in key order, so two writers lock keys in one order."""
    rows = sorted(
        (new.shipment_values for new in news),
        key=lambda row: (str(row["importer_id"]), row["reference"]),
    )
    return set(
        insert_new_rows(
            session.connection(),
            _SHIPMENTS,
            rows,
            unique=("importer_id", "reference"),
            returning="id",
        )
    )


def write_new_shipments(session: Session, news: Sequence[NewShipment]) -> list[bool]:
    """Write new shipments with all their rows and decision records in the session's
    transaction, and commit. Returns, per shipment, whether it was stored; False means its
    (importer, reference) already existed (or came earlier in `news`): the caller answers
    it as a resend. Any error leaves nothing written (the caller rolls back)."""
    first: dict[tuple[uuid.UUID, str], NewShipment] = {}
    for new in news:
        first.setdefault((new.shipment.importer_id, new.shipment.reference), new)
    inserted = _insert_shipments_if_new(session, list(first.values()))
    stored = [new for new in first.values() if new.shipment.id in inserted]
    insert_shipment_rows(session, stored)
    session.commit()
    return [new.shipment.id in inserted for new in news]


def _assessment_row(new: NewShipment) -> dict[str, Any]:
    return {**new.assessment_values, "result": orjson.Fragment(new.result_json)}


def insert_shipment_rows(session: Session, news: Sequence[NewShipment]) -> None:
    """Every row but the shipments' own (already inserted), then the decision records.

    The caller commits (on PostgreSQL the records may have committed already, see below);
    the chain lock taken by `append_decisions` is held until then."""
    if not news:
        return  # all resends: nothing to write, and no reason to take the chain lock
    tables: tuple[tuple[Any, list[dict[str, Any]]], ...] = (
        (ShipmentLine, [row for new in news for row in new.lines]),
        (ShipmentParty, [row for new in news for row in new.parties]),
        (ShipmentInput, [row for new in news for row in new.inputs]),
        (AssessmentRow, [_assessment_row(new) for new in news]),
        (AssessmentCitation, [row for new in news for row in new.citations]),
    )
    connection = session.connection()
    event_type = event_type_for_decision("assessment")
    importers = sorted({new.shipment.importer_id for new in news})
    postgres = connection.dialect.name == "postgresql"
    # On PostgreSQL one round trip carries every table's rows, the webhook subscribers and
    # the chain lock with its head (taken last, so it is held no longer than before).
    with pipelined(connection):
        for model, rows in tables:
            insert_rows(connection, table_of(model), rows)
        if postgres:
            queries = {importer: subscribers_query(connection, importer) for importer in importers}
            head_query = locked_head_query(connection)
    head: ChainHead | None = None
    if postgres:
        found = {
            importer: subscribed(query.rows(), event_type) for importer, query in queries.items()
        }
        head = chain_head_of(head_query.rows())
    else:
        found = {importer: subscribers(session, importer, event_type) for importer in importers}
    targets_by_importer = {importer: targets for importer, targets in found.items() if targets}
    # Without webhook events the decision records are the last write: their COMMIT goes
    # with them, and the chain lock is released one round trip sooner.
    append_decisions(
        session, [new.decision for new in news], commit=not targets_by_importer, head=head
    )
    for new in news:
        targets = targets_by_importer.get(new.shipment.importer_id, [])
        if targets:
            enqueue_for_decision(session, new.shipment, new.decision, targets)
