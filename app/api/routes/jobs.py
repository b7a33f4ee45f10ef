"""Background jobs: progress of re-screens; admin start of a full re-screen."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from app.api.deps import SessionDep, require_roles
from app.services import jobs as service
from app.services.principal import Principal, Role

router = APIRouter(tags=["jobs"])

AdminDep = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
# Jobs re-screen every importer's shipments: their progress is for the operators.
OperatorDep = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.AUDITOR))]


@router.get("/jobs/{job_id:uuid}")
def get_job(job_id: uuid.UUID, session: SessionDep, principal: OperatorDep) -> Any:
    """State (queued, running, succeeded, failed), progress counts, times, result summary."""
    return jsonable_encoder(service.describe(service.get_job(session, job_id)))


@router.post("/jobs/rescreen", status_code=202)
def start_full_rescreen(request: Request, session: SessionDep, principal: AdminDep) -> JSONResponse:
    """Re-assess every stored shipment (after a rule change); only changed outcomes are
    stored, each with a decision record and a `shipment.rescreened` event."""
    job = service.enqueue(session, service.RESCREEN_ALL, {"scope": "all"}, principal.key_prefix)
    session.commit()
    _wake_runner(request)
    return JSONResponse(jsonable_encoder(service.describe(job)), status_code=202)


def _wake_runner(request: Request) -> None:
    background = getattr(request.app.state, "background", None)
    if background is not None:
        background.jobs.wake()
