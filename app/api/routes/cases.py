"""Detention cases over HTTP: rebuttals, determinations, case dates, history."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from app.api.deps import AssessorDep, PrincipalDep, SessionDep, SettingsDep
from app.api.schemas.cases import (
    CaseDatesIn,
    CaseOut,
    DeterminationIn,
    DeterminationOut,
    HistoryOut,
    RebuttalIn,
    RebuttalOut,
    RebuttalPage,
)
from app.domain.case import DeterminationOutcome
from app.domain.rebuttal import RebuttalKind
from app.errors import NotFound, Unprocessable
from app.services import cases as service
from app.services.shipments import get_shipment

router = APIRouter(tags=["cases"])

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key"},
    403: {"description": "The key's role may not do this"},
    404: {"description": "No such shipment (or rebuttal) for this caller"},
    409: {"description": "Not allowed in the case's current state (`current_state`)"},
    422: {"description": "Validation failed; `errors` lists field and reason"},
}


def _rebuttal_input(body: RebuttalIn) -> service.RebuttalInput:
    return service.RebuttalInput(
        kind=RebuttalKind(body.kind),
        narrative=body.narrative,
        evidence=tuple(
            service.EvidenceInput(
                type=item.type,
                title=item.title,
                covers=tuple(item.covers),
                document_ids=tuple(item.document_ids),
                issuer=item.issuer,
                date=item.date,
                language=item.language,
                translation_document_id=item.translation_document_id,
            )
            for item in body.evidence
        ),
        revised_manifest=None
        if body.revised_manifest is None
        else body.revised_manifest.canonical(),
    )


@router.post(
    "/shipments/{shipment_id}/rebuttals",
    status_code=201,
    response_model=RebuttalOut,
    responses=PROBLEMS,
)
def submit_rebuttal(
    shipment_id: uuid.UUID,
    body: RebuttalIn,
    session: SessionDep,
    assessor: AssessorDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Answer a detention: an applicability review or an exception request with evidence.

    Re-assesses the (revised or latest) manifest and reviews the evidence: each finding is
    `cleared`, `open`, `needs_reviewer` or `context`; the response lists which evidence
    answered what and which checklist items are still missing."""
    row, assessment = service.submit_rebuttal(
        session,
        assessor,
        principal,
        shipment_id,
        _rebuttal_input(body),
        response_days=settings.response_due_days,
    )
    shipment = get_shipment(session, principal, shipment_id).shipment
    out = service.describe_rebuttal(row, assessment)
    out["case"] = service.case_summary(
        session, shipment, settings.response_due_days, service.today_utc()
    )
    return JSONResponse(jsonable_encoder(out), status_code=201)


@router.get("/shipments/{shipment_id}/rebuttals", response_model=RebuttalPage, responses=PROBLEMS)
def list_rebuttals(
    shipment_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    rows = service.list_rebuttals(session, principal, shipment_id)
    return {"items": [service.describe_rebuttal(r, a) for r, a in rows]}


@router.get(
    "/shipments/{shipment_id}/rebuttals/{rebuttal_id}",
    response_model=RebuttalOut,
    responses=PROBLEMS,
)
def get_rebuttal(
    shipment_id: uuid.UUID, rebuttal_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    row, assessment = service.get_rebuttal(session, principal, shipment_id, rebuttal_id)
    return service.describe_rebuttal(row, assessment)


@router.post(
    "/shipments/{shipment_id}/determinations",
    status_code=201,
    response_model=DeterminationOut,
    responses=PROBLEMS,
)
def record_determination(
    shipment_id: uuid.UUID,
    body: DeterminationIn,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Reviewer (or admin): the final determination, released or excluded, with a reason."""
    row = service.record_determination(
        session,
        principal,
        shipment_id,
        DeterminationOutcome(body.outcome),
        body.reason,
        response_days=settings.response_due_days,
    )
    return service.describe_determination(row)


@router.get("/shipments/{shipment_id}/case", response_model=CaseOut, responses=PROBLEMS)
def get_case(
    shipment_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> dict[str, Any]:
    """State and deadlines of a detention case (business days, US federal holidays)."""
    shipment = get_shipment(session, principal, shipment_id).shipment
    summary = service.case_summary(
        session, shipment, settings.response_due_days, service.today_utc()
    )
    if summary is None:
        raise NotFound(f"shipment {shipment_id} was admitted: there is no detention case")
    return summary


@router.put("/shipments/{shipment_id}/case", response_model=CaseOut, responses=PROBLEMS)
def set_case_dates(
    shipment_id: uuid.UUID,
    body: CaseDatesIn,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Record the presentation date, CBP's detention decision and the notice date; the
    deadlines are recomputed from them."""
    if body.presented_at is None and body.detained_at is None and body.notice_at is None:
        raise Unprocessable(
            "give at least one date",
            errors=[{"field": "body", "reason": "presented_at, detained_at or notice_at"}],
        )
    shipment = service.set_case_dates(
        session,
        principal,
        shipment_id,
        presented_at=body.presented_at,
        detained_at=body.detained_at,
        notice_at=body.notice_at,
    )
    summary = service.case_summary(
        session, shipment, settings.response_due_days, service.today_utc()
    )
    assert summary is not None  # set_case_dates refuses admitted shipments
    return summary


@router.get("/shipments/{shipment_id}/history", response_model=HistoryOut, responses=PROBLEMS)
def case_history(
    shipment_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> dict[str, Any]:
    """Every step (submission, rebuttal, re-assessment, determination) with actor and time."""
    events = service.history(session, principal, shipment_id)
    shipment = get_shipment(session, principal, shipment_id).shipment
    state = service.current_state(
        session, shipment, settings.response_due_days, service.today_utc()
    )
    return {"shipment_id": str(shipment_id), "state": state.value, "events": events}
