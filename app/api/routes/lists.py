"""Entity lists: versions and counts; admin import of an official file."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from app.api.deps import PrincipalDep, SessionDep, require_roles
from app.api.responses import json_response
from app.errors import Unprocessable
from app.screening.sources import SOURCES
from app.services import lists as service
from app.services.principal import Principal, Role

router = APIRouter(tags=["lists"])

AdminDep = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


@router.get("/lists")
def list_versions(session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Active version of every list source, with counts and file hashes."""
    return {
        "sources": {name: spec.description for name, spec in SOURCES.items()},
        "active": [service.describe(v) for v in service.active_versions(session)],
    }


@router.post(
    "/lists/{source}/import",
    status_code=201,
    responses={
        200: {"description": "The same file is already the active version"},
        422: {"description": "Malformed file; the previous version stays active"},
    },
)
async def import_list(
    source: str, file: UploadFile, request: Request, session: SessionDep, principal: AdminDep
) -> Response:
    """Upload an official list file (OFAC: a ZIP of its CSV set) as a new list version."""
    if source not in SOURCES:
        raise Unprocessable(
            f"unknown list source '{source}'",
            errors=[{"field": "source", "reason": f"one of {sorted(SOURCES)}"}],
        )
    data = await file.read()
    result = await run_in_threadpool(
        service.import_uploaded,
        session,
        source,
        file.filename or "upload",
        data,
        principal.key_prefix,
    )
    await run_in_threadpool(request.app.state.assessors.refresh)
    background = getattr(request.app.state, "background", None)
    if background is not None and result.rescreen_job_id is not None:
        background.jobs.wake()  # re-screen past shipments now (GET /v1/jobs/{id})
    body = {
        "version": service.describe(result.version),
        "created": result.created,
        "rescreen_job_id": None if result.rescreen_job_id is None else str(result.rescreen_job_id),
    }
    return json_response(body, status_code=201 if result.created else 200)
