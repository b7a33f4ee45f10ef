"""The detention case: rebuttals with re-assessment, determinations, dates, history.

Every command locks the shipment row first (SELECT ... FOR UPDATE on PostgreSQL; SQLite
serialises writers with BEGIN IMMEDIATE), then checks the state, so a rebuttal and a
determination racing on one case leave a legal state: the second sees the first's result.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.models import Assessment as AssessmentRow
from app.db.models import (
    Case,
    Decision,
    Determination,
    Document,
    Rebuttal,
    RebuttalDocument,
    Shipment,
)
from app.domain.case import (
    CASE_STATES,
    DETERMINATION_ALLOWED_FROM,
    OPEN_STATES,
    REBUTTAL_ALLOWED_FROM,
    CaseDeadlines,
    CaseState,
    DeterminationOutcome,
    deadlines,
    effective_state,
)
from app.domain.manifest_codec import manifest_from_dict
from app.domain.rebuttal import (
    EvidenceClaim,
    PriorFinding,
    RebuttalKind,
    manifest_paths,
    review_rebuttal,
    reviewed_assessment,
)
from app.errors import Forbidden, InvalidState, NotFound, Unprocessable
from app.services.assessor import Assessor
from app.services.decision_log import record_decision
from app.services.documents import visible_documents
from app.services.principal import SYSTEM, Principal, Role
from app.services.shipments import body_sha256, latest_assessment, store_assessment

REBUTTAL_ROLES = frozenset({Role.IMPORTER, Role.BROKER, Role.ADMIN})
DETERMINATION_ROLES = frozenset({Role.REVIEWER, Role.ADMIN})
CASE_DATE_ROLES = frozenset({Role.IMPORTER, Role.BROKER, Role.REVIEWER, Role.ADMIN})


def today_utc() -> date:
    return datetime.now(UTC).date()


# ---------------------------------------------------------------- reading a case


def _case_row(session: Session, shipment_id: uuid.UUID) -> Case | None:
    return session.get(Case, shipment_id)


def case_deadlines(shipment: Shipment, case: Case | None, response_days: int) -> CaseDeadlines:
    presented = (
        (case.presented_on if case is not None else None)
        or shipment.entry_date
        or shipment.created_at.date()
    )
    return deadlines(
        presented,
        detained_at=None if case is None else case.detained_on,
        notice_at=None if case is None else case.notice_on,
        response_days=response_days,
    )


def current_state(
    session: Session, shipment: Shipment, response_days: int, today: date
) -> CaseState:
    if CaseState(shipment.status) not in OPEN_STATES:
        return CaseState(shipment.status)
    dates = case_deadlines(shipment, _case_row(session, shipment.id), response_days)
    return effective_state(shipment.status, dates.deemed_excluded_at, today)


def case_summary(
    session: Session | None,
    shipment: Shipment,
    response_days: int,
    today: date,
) -> dict[str, Any] | None:
    """The `case` block of a shipment: None for an admitted shipment.

    `session` None: the shipment was stored in this very request, so it has no case row,
    determination or rebuttal yet; the intake hot path skips the three look-ups.
    """
    if shipment.status in (CaseState.ADMITTED, CaseState.RECEIVED):
        return None
    case = None if session is None else _case_row(session, shipment.id)
    dates = case_deadlines(shipment, case, response_days)
    state = effective_state(shipment.status, dates.deemed_excluded_at, today)
    if case is not None and case.presented_on is not None:
        source = "recorded"
    elif shipment.entry_date is not None:
        source = "entry_date"
    else:
        source = "submission"
    determination = (
        None
        if session is None
        else session.scalar(select(Determination).where(Determination.shipment_id == shipment.id))
    )
    rebuttals = (
        0
        if session is None
        else session.scalar(
            select(func.count()).select_from(Rebuttal).where(Rebuttal.shipment_id == shipment.id)
        )
    )
    return {
        "state": state.value,
        **dates.to_dict(),
        "presented_from": source,
        "response_days": response_days,
        "rebuttals": rebuttals or 0,
        "determination": None if determination is None else describe_determination(determination),
    }


def _lock(session: Session, principal: Principal, shipment_id: uuid.UUID) -> Shipment:
    shipment = session.scalar(
        select(Shipment)
        .where(Shipment.id == shipment_id)
        .with_for_update(of=Shipment)  # the importer is eagerly outer-joined: lock only this
        .execution_options(populate_existing=True)
    )
    # 404, not 403, for other tenants' shipments: ids must not leak.
    if shipment is None or not principal.can_see(shipment.importer_id):
        raise NotFound(f"no shipment {shipment_id}")
    return shipment


def _visible(session: Session, principal: Principal, shipment_id: uuid.UUID) -> Shipment:
    shipment = session.get(Shipment, shipment_id)
    if shipment is None or not principal.can_see(shipment.importer_id):
        raise NotFound(f"no shipment {shipment_id}")
    return shipment


def _refuse_state(action: str, state: CaseState, allowed: frozenset[CaseState]) -> InvalidState:
    return InvalidState(
        f"cannot {action}: the case is {state.value}",
        current_state=state.value,
        allowed_states=sorted(s.value for s in allowed),
    )


# ---------------------------------------------------------------- rebuttals


@dataclass(frozen=True)
class EvidenceInput:
    type: str
    title: str
    covers: tuple[str, ...]
    document_ids: tuple[uuid.UUID, ...]
    issuer: str | None = None
    date: dt.date | None = None
    language: str | None = None
    translation_document_id: uuid.UUID | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "title": self.title,
            "issuer": self.issuer,
            "date": None if self.date is None else self.date.isoformat(),
            "covers": list(self.covers),
            "document_ids": [str(d) for d in self.document_ids],
            "language": self.language,
            "translation_document_id": None
            if self.translation_document_id is None
            else str(self.translation_document_id),
        }


@dataclass(frozen=True)
class RebuttalInput:
    kind: RebuttalKind
    narrative: str
    evidence: tuple[EvidenceInput, ...]
    revised_manifest: dict[str, Any] | None = None  # canonical JSON, validated upstream


def _current_manifest(session: Session, shipment: Shipment) -> tuple[dict[str, Any], int]:
    """The latest manifest version: the newest revision attached to a rebuttal, else the
    manifest as submitted (version 1)."""
    latest = session.scalar(
        select(Rebuttal)
        .where(Rebuttal.shipment_id == shipment.id, Rebuttal.revised_manifest.is_not(None))
        .order_by(Rebuttal.sequence.desc())
        .limit(1)
    )
    if latest is None or latest.revised_manifest is None:
        return shipment.manifest, 1
    return latest.revised_manifest, latest.manifest_version


def _check_evidence(
    session: Session,
    principal: Principal,
    shipment: Shipment,
    evidence: Sequence[EvidenceInput],
    paths: frozenset[str],
    known_ids: frozenset[str],
) -> list[uuid.UUID]:
    """422 naming every bad field; returns the document ids the rebuttal relies on."""
    errors: list[dict[str, str]] = []
    wanted = {d for item in evidence for d in item.document_ids}
    wanted.update(i.translation_document_id for i in evidence if i.translation_document_id)
    documents = visible_documents(session, principal, wanted)

    def check_document(doc_id: uuid.UUID, where: str) -> None:
        document: Document | None = documents.get(doc_id)
        if document is None:
            errors.append({"field": where, "reason": f"no document {doc_id} visible to this key"})
        elif document.importer_id != shipment.importer_id:
            errors.append({"field": where, "reason": "the document belongs to another importer"})

    for i, item in enumerate(evidence):
        if item.type not in known_ids:
            errors.append(
                {
                    "field": f"evidence[{i}].type",
                    "reason": f"unknown checklist id {item.type!r} (see rules/evidence.yaml)",
                }
            )
        for j, path in enumerate(item.covers):
            if path not in paths:
                errors.append(
                    {
                        "field": f"evidence[{i}].covers[{j}]",
                        "reason": f"{path!r} is not a node of the shipment's manifest",
                    }
                )
        for j, doc_id in enumerate(item.document_ids):
            check_document(doc_id, f"evidence[{i}].document_ids[{j}]")
        if item.translation_document_id is not None:
            check_document(item.translation_document_id, f"evidence[{i}].translation_document_id")
    if errors:
        raise Unprocessable(f"{len(errors)} evidence field(s) are not valid", errors=errors)
    return sorted(wanted, key=str)


def _prior_findings(session: Session, shipment_id: uuid.UUID) -> list[PriorFinding]:
    """Findings of the assessment made when the shipment was submitted."""
    first = session.scalar(
        select(AssessmentRow)
        .where(AssessmentRow.shipment_id == shipment_id)
        .order_by(AssessmentRow.sequence)
        .limit(1)
    )
    if first is None:
        return []
    return [
        PriorFinding(str(f["code"]), str(f["path"]), str(f["severity"]), str(f["message"]))
        for f in first.result.get("findings", [])
    ]


def submit_rebuttal(
    session: Session,
    assessor: Assessor,
    principal: Principal,
    shipment_id: uuid.UUID,
    rebuttal: RebuttalInput,
    *,
    response_days: int,
    today: date | None = None,
) -> tuple[Rebuttal, AssessmentRow]:
    """Record a rebuttal, re-assess, review the evidence; one transaction."""
    shipment = _lock(session, principal, shipment_id)
    if principal.role not in REBUTTAL_ROLES:
        raise Forbidden(f"a {principal.role.value} key cannot submit rebuttals")
    state = current_state(session, shipment, response_days, today or today_utc())
    if state not in REBUTTAL_ALLOWED_FROM:
        raise _refuse_state("submit a rebuttal", state, REBUTTAL_ALLOWED_FROM)

    if rebuttal.revised_manifest is not None:
        manifest_json = rebuttal.revised_manifest
        errors = [
            {"field": f"revised_manifest.{key}", "reason": "must equal the shipment's"}
            for key in ("reference", "importer")
            if manifest_json.get(key) != shipment.manifest.get(key)
        ]
        if errors:
            raise Unprocessable("the revised manifest is for another shipment", errors=errors)
        latest_version = session.scalar(
            select(func.max(Rebuttal.manifest_version)).where(Rebuttal.shipment_id == shipment.id)
        )
        version = (latest_version or 1) + 1  # version 1 is the manifest as submitted
    else:
        manifest_json, version = _current_manifest(session, shipment)
    manifest = manifest_from_dict(manifest_json)
    rules = assessor.rules
    document_ids = _check_evidence(
        session,
        principal,
        shipment,
        rebuttal.evidence,
        manifest_paths(manifest),
        frozenset(rules.evidence.items),
    )

    submitted_at = utcnow()
    result = assessor.assess(manifest)
    claims = [
        EvidenceClaim(
            type=item.type,
            covers=item.covers,
            language=item.language,
            translated=item.translation_document_id is not None,
        )
        for item in rebuttal.evidence
    ]
    review = review_rebuttal(
        rebuttal.kind,
        result,
        claims,
        rebuttal.narrative,
        manifest,
        rules,
        prior_findings=_prior_findings(session, shipment.id),
    )
    assessment_row = store_assessment(
        session,
        shipment,
        reviewed_assessment(result, review),
        kind="rebuttal",
        actor=principal,
        decision_kind="rebuttal_assessment",
    )
    sequence = (
        session.scalar(
            select(func.max(Rebuttal.sequence)).where(Rebuttal.shipment_id == shipment.id)
        )
        or 0
    ) + 1
    row = Rebuttal(
        shipment_id=shipment.id,
        sequence=sequence,
        kind=rebuttal.kind.value,
        narrative=rebuttal.narrative,
        evidence=[item.to_dict() for item in rebuttal.evidence],
        manifest_version=version,
        revised_manifest=rebuttal.revised_manifest,
        revised_manifest_sha256=None
        if rebuttal.revised_manifest is None
        else body_sha256(rebuttal.revised_manifest),
        assessment_id=assessment_row.id,
        review=review.to_dict(),
        status_before=state.value,
        submitted_at=submitted_at,
        submitted_by=principal.key_prefix,
        submitted_by_role=principal.role.value,
    )
    session.add(row)
    session.flush()
    for document_id in document_ids:
        session.add(RebuttalDocument(rebuttal_id=row.id, document_id=document_id))
    shipment.status = CaseState.REBUTTAL_SUBMITTED.value
    shipment.updated_at = utcnow()
    session.commit()
    return row, assessment_row


def describe_rebuttal(row: Rebuttal, assessment: AssessmentRow | None) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "shipment_id": str(row.shipment_id),
        "sequence": row.sequence,
        "kind": row.kind,
        "narrative": row.narrative,
        "evidence": row.evidence,
        "manifest_version": row.manifest_version,
        "revised_manifest": row.revised_manifest,
        "submitted_at": row.submitted_at,
        "submitted_by": {"key_id": row.submitted_by, "role": row.submitted_by_role},
        "status_before": row.status_before,
        "review": row.review,
        "assessment": None
        if assessment is None
        else {
            **assessment.result,
            "id": str(assessment.id),
            "sequence": assessment.sequence,
            "kind": assessment.kind,
            "assessed_at": assessment.assessed_at,
        },
    }


def list_rebuttals(
    session: Session, principal: Principal, shipment_id: uuid.UUID
) -> list[tuple[Rebuttal, AssessmentRow | None]]:
    _visible(session, principal, shipment_id)
    rows = session.scalars(
        select(Rebuttal).where(Rebuttal.shipment_id == shipment_id).order_by(Rebuttal.sequence)
    )
    return [(r, session.get(AssessmentRow, r.assessment_id)) for r in rows]


def get_rebuttal(
    session: Session, principal: Principal, shipment_id: uuid.UUID, rebuttal_id: uuid.UUID
) -> tuple[Rebuttal, AssessmentRow | None]:
    _visible(session, principal, shipment_id)
    row = session.get(Rebuttal, rebuttal_id)
    if row is None or row.shipment_id != shipment_id:
        raise NotFound(f"no rebuttal {rebuttal_id} on shipment {shipment_id}")
    return row, session.get(AssessmentRow, row.assessment_id)


# ---------------------------------------------------------------- determinations


def record_determination(
    session: Session,
    principal: Principal,
    shipment_id: uuid.UUID,
    outcome: DeterminationOutcome,
    reason: str,
    *,
    response_days: int,
    today: date | None = None,
) -> Determination:
    shipment = _lock(session, principal, shipment_id)
    if principal.role not in DETERMINATION_ROLES:
        raise Forbidden("only a reviewer records determinations")
    state = current_state(session, shipment, response_days, today or today_utc())
    if state not in DETERMINATION_ALLOWED_FROM:
        raise _refuse_state("record a determination", state, DETERMINATION_ALLOWED_FROM)
    latest = latest_assessment(session, shipment.id)
    decision = record_decision(
        session,
        shipment=shipment,
        kind="determination",
        outcome=outcome.value,
        actor=principal,
        risk_score=None if latest is None else latest.risk_score,
        grounds=[] if latest is None else list(latest.grounds),
        findings=[] if latest is None else list(latest.result.get("findings", [])),
        rules_version=None if latest is None else latest.rules_version,
        lists_version=None if latest is None else latest.lists_version,
        matcher_version=None if latest is None else latest.matcher_version,
        sectors=[] if latest is None else list(latest.result.get("sectors", [])),
        assessment_id=None if latest is None else latest.id,
    )
    row = Determination(
        shipment_id=shipment.id,
        outcome=outcome.value,
        reason=reason,
        status_before=state.value,
        decision_seq=decision.seq,
        decided_at=decision.recorded_at,
        decided_by=principal.key_prefix,
        decided_by_role=principal.role.value,
    )
    session.add(row)
    shipment.status = outcome.value
    shipment.updated_at = utcnow()
    try:
        session.commit()
    except IntegrityError as exc:  # a determination already exists: the unique constraint
        session.rollback()
        raise InvalidState(
            "cannot record a determination: the case is already decided",
            current_state=_visible(session, principal, shipment_id).status,
        ) from exc
    return row


def describe_determination(row: Determination) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "shipment_id": str(row.shipment_id),
        "outcome": row.outcome,
        "reason": row.reason,
        "status_before": row.status_before,
        "decision_seq": row.decision_seq,
        "decided_at": row.decided_at,
        "decided_by": {"key_id": row.decided_by, "role": row.decided_by_role},
    }


# ---------------------------------------------------------------- case dates


def set_case_dates(
    session: Session,
    principal: Principal,
    shipment_id: uuid.UUID,
    *,
    presented_at: date | None,
    detained_at: date | None,
    notice_at: date | None,
) -> Shipment:
    shipment = _lock(session, principal, shipment_id)
    if principal.role not in CASE_DATE_ROLES:
        raise Forbidden(f"a {principal.role.value} key cannot record case dates")
    if shipment.status == CaseState.ADMITTED:
        raise _refuse_state("record case dates", CaseState.ADMITTED, CASE_STATES)
    case = _case_row(session, shipment.id) or Case(shipment_id=shipment.id)
    new = {
        "presented_at": presented_at if presented_at is not None else case.presented_on,
        "detained_at": detained_at if detained_at is not None else case.detained_on,
        "notice_at": notice_at if notice_at is not None else case.notice_on,
    }
    presented = new["presented_at"] or shipment.entry_date or shipment.created_at.date()
    errors = []
    if new["detained_at"] is not None and new["detained_at"] < presented:
        errors.append({"field": "detained_at", "reason": "before the presentation date"})
    if new["notice_at"] is not None and new["notice_at"] < (new["detained_at"] or presented):
        errors.append({"field": "notice_at", "reason": "before the detention decision"})
    if errors:
        raise Unprocessable("the case dates are not in order", errors=errors)
    case.presented_on = new["presented_at"]
    case.detained_on = new["detained_at"]
    case.notice_on = new["notice_at"]
    case.updated_at = utcnow()
    case.updated_by = principal.key_prefix
    session.add(case)
    session.commit()
    return shipment


# ---------------------------------------------------------------- deemed exclusion sweep


def sweep_deemed_exclusions(session: Session, response_days: int, today: date) -> list[uuid.UUID]:
    """Record `deemed_excluded` (status and a decision record) for every open case past its
    deemed-exclusion date. Reads already show the state; this makes it queryable and logged.
    Each case is its own transaction."""
    candidates = list(
        session.scalars(
            select(Shipment.id).where(Shipment.status.in_([s.value for s in OPEN_STATES]))
        )
    )
    session.rollback()
    swept: list[uuid.UUID] = []
    for shipment_id in candidates:
        shipment = _lock(session, SYSTEM, shipment_id)
        if current_state(session, shipment, response_days, today) is not CaseState.DEEMED_EXCLUDED:
            session.rollback()
            continue
        latest = latest_assessment(session, shipment.id)
        record_decision(
            session,
            shipment=shipment,
            kind="deemed_exclusion",
            outcome=CaseState.DEEMED_EXCLUDED.value,
            actor=SYSTEM,
            risk_score=None if latest is None else latest.risk_score,
            grounds=[] if latest is None else list(latest.grounds),
            assessment_id=None if latest is None else latest.id,
        )
        shipment.status = CaseState.DEEMED_EXCLUDED.value
        shipment.updated_at = utcnow()
        session.commit()
        swept.append(shipment_id)
    return swept


# ---------------------------------------------------------------- history

_STEPS = {
    "assessment": "submission",
    "rebuttal_assessment": "re_assessment",
    "determination": "determination",
    "deemed_exclusion": "deemed_exclusion",
}


def history(session: Session, principal: Principal, shipment_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every step of the case in order, with actor and time."""
    _visible(session, principal, shipment_id)
    events: list[tuple[datetime, int, dict[str, Any]]] = []
    for rebuttal in session.scalars(select(Rebuttal).where(Rebuttal.shipment_id == shipment_id)):
        events.append(
            (
                rebuttal.submitted_at,
                0,
                {
                    "step": "rebuttal",
                    "at": rebuttal.submitted_at,
                    "actor": {"key_id": rebuttal.submitted_by, "role": rebuttal.submitted_by_role},
                    "rebuttal_id": str(rebuttal.id),
                    "kind": rebuttal.kind,
                    "evidence_items": len(rebuttal.evidence),
                    "manifest_version": rebuttal.manifest_version,
                },
            )
        )
    reasons = {
        d.decision_seq: d
        for d in session.scalars(
            select(Determination).where(Determination.shipment_id == shipment_id)
        )
    }
    for decision in session.scalars(
        select(Decision).where(Decision.shipment_id == shipment_id).order_by(Decision.seq)
    ):
        event: dict[str, Any] = {
            "step": _STEPS.get(decision.kind, decision.kind),
            "at": decision.recorded_at,
            "actor": {"key_id": decision.actor_key_id, "role": decision.actor_role},
            "outcome": decision.outcome,
            "risk_score": decision.risk_score,
            "grounds": list(decision.grounds),
            "decision_seq": decision.seq,
            "decision_hash": decision.hash,
            "assessment_id": None
            if decision.assessment_id is None
            else str(decision.assessment_id),
        }
        determination = reasons.get(decision.seq)
        if determination is not None:
            event["reason"] = determination.reason
            event["determination_id"] = str(determination.id)
        events.append((decision.recorded_at, 1, event))
    events.sort(key=lambda e: (e[0], e[1], e[2].get("decision_seq", 0)))
    return [e[2] for e in events]
