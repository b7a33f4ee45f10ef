"""Shipments: submit a manifest, read it back, list with filters."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.api.deps import AssessorDep, GroupWriterDep, PrincipalDep, SessionDep, SettingsDep
from app.api.responses import json_response
from app.api.schemas.codes import IsoDateTime
from app.api.schemas.manifest import ManifestIn
from app.api.schemas.problem import problem_responses
from app.api.schemas.shipments import AssessmentOut, ShipmentOut, ShipmentPage
from app.domain.manifest_codec import manifest_from_dict
from app.services import cases
from app.services import shipments as service
from app.services.assessor import Assessor
from app.services.group_writer import GroupWriter
from app.services.principal import Principal
from app.services.shipment_rows import NewShipment
from app.settings import Settings

router = APIRouter(tags=["shipments"])

PROBLEMS = problem_responses(409)


def _with_case(
    view: service.ShipmentView, session: Session | None, settings: Settings
) -> dict[str, Any]:
    """The shipment with its detention case; `status` shows the case's effective state
    (a case past its deemed-exclusion date reads deemed_excluded). `session` None: the
    shipment was stored by this request (it has no case history to look up)."""
    out = view.to_dict()
    summary = cases.case_summary(
        session, view.shipment, settings.response_due_days, cases.today_utc()
    )
    out["case"] = summary
    if summary is not None:
        out["status"] = summary["state"]
    return out


# A manifest this small is assessed on the event loop: the work takes about a millisecond,
# less than handing it to a thread and back. Larger ones go to the thread pool so that
# one big manifest cannot hold up every other request of the worker.
INLINE_BODY_BYTES = 64 * 1024


@router.post(
    "/shipments",
    status_code=201,
    response_model=ShipmentOut,
    responses={**PROBLEMS, 200: {"model": ShipmentOut, "description": "Idempotent resend"}},
)
async def submit_shipment(
    manifest: ManifestIn,
    request: Request,
    assessor: AssessorDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    writer: GroupWriterDep,
) -> Response:
    canonical = manifest.canonical()
    importer_id = service.importer_for_key(principal, canonical["importer"])
    length = request.headers.get("content-length", "")
    if importer_id is None or not length.isdigit() or int(length) > INLINE_BODY_BYTES:
        return await run_in_threadpool(
            _submit_in_thread, request, assessor, principal, settings, writer, canonical
        )
    new = service.build_new_shipment(assessor, principal, importer_id, canonical)
    if await writer.store(new):
        return json_response(_with_case(service.new_view(new), None, settings), status_code=201)
    # Stored before (a resend), or by a racing request that committed first.
    return await run_in_threadpool(_replay_in_thread, request, settings, new, canonical)


def _submit_in_thread(
    request: Request,
    assessor: Assessor,
    principal: Principal,
    settings: Settings,
    writer: GroupWriter,
    canonical: dict[str, Any],
) -> Response:
    with request.app.state.sessionmaker() as session:
        view, created = service.submit_shipment(
            session, assessor, principal, canonical, writer.write
        )
        body = _with_case(view, None if created else session, settings)
    return json_response(body, status_code=201 if created else 200)


def _replay_in_thread(
    request: Request, settings: Settings, new: NewShipment, canonical: dict[str, Any]
) -> Response:
    with request.app.state.sessionmaker() as session:
        body = _with_case(service.replay(session, new, canonical), session, settings)
    return json_response(body, status_code=200)


@router.get("/shipments/{shipment_id:uuid}", response_model=ShipmentOut, responses=PROBLEMS)
def get_shipment(
    shipment_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> dict[str, Any]:
    return _with_case(service.get_shipment(session, principal, shipment_id), session, settings)


@router.get("/shipments", response_model=ShipmentPage, responses=PROBLEMS)
def list_shipments(
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    status: Annotated[str | None, Query(max_length=24)] = None,
    since: IsoDateTime | None = None,
    reference: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    items, next_cursor = service.list_shipments(
        session,
        principal,
        status=status,
        since=since,
        reference=reference,
        cursor=cursor,
        limit=limit,
    )
    return {
        "items": [_with_case(v, session, settings) for v in items],
        "next_cursor": next_cursor,
    }


@router.post("/assess", response_model=AssessmentOut, responses=PROBLEMS, tags=["assessments"])
def assess_without_storing(
    manifest: ManifestIn, assessor: AssessorDep, principal: PrincipalDep
) -> dict[str, Any]:
    """What-if: assess a manifest without storing anything."""
    result = assessor.assess(manifest_from_dict(manifest.canonical()))
    return result.to_dict()
