"""Reports over a shipment: the supply-chain map, a rebuttal's reviewer checks and its
package (PDF, or ZIP with the exhibit files)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from app.api.deps import PrincipalDep, SessionDep, SettingsDep
from app.api.routes.documents import StoreDep
from app.api.schemas.problem import problem_responses
from app.api.schemas.reports import ChecksOut
from app.reports.package_zip import package_pdf_name
from app.services import reports as service
from app.services.package_renderer import PackageRenderer

router = APIRouter(tags=["reports"])

SVG_MEDIA_TYPE = "image/svg+xml"
# The SVG is served from the API's origin: forbid scripts and external loads in it.
SVG_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}
PROBLEMS: dict[int | str, dict[str, Any]] = problem_responses(404, 503)


@router.get(
    "/shipments/{shipment_id}/map",
    response_class=Response,
    responses={
        **PROBLEMS,
        200: {"content": {SVG_MEDIA_TYPE: {}}, "description": "The supply-chain map (SVG)"},
    },
)
def supply_chain_map(
    shipment_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> Response:
    """Every line and input, tier by tier, from raw material to the imported goods; nodes
    coloured by the findings of the latest assessment; nodes that no exhibit of the latest
    rebuttal covers are dashed."""
    svg = service.supply_map_svg(
        session, principal, shipment_id, response_days=settings.response_due_days
    )
    return Response(content=svg, media_type=SVG_MEDIA_TYPE, headers=SVG_HEADERS)


@router.get(
    "/shipments/{shipment_id}/rebuttals/{rebuttal_id}/checks",
    response_model=ChecksOut,
    responses=problem_responses(404),
)
def rebuttal_checks(
    shipment_id: uuid.UUID,
    rebuttal_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """What a CBP reviewer would check before reading the package: every finding answered or
    listed as open, a transaction and a production record for every node, every exhibit
    referenced, quantities that reconcile, translations."""
    report = service.rebuttal_report(
        session, principal, shipment_id, rebuttal_id, response_days=settings.response_due_days
    )
    return service.rebuttal_checks(report)


@router.get(
    "/shipments/{shipment_id}/rebuttals/{rebuttal_id}/package",
    response_class=Response,
    responses={
        **PROBLEMS,
        200: {
            "content": {"application/pdf": {}, "application/zip": {}},
            "description": "The rebuttal package: PDF, or ZIP with the PDF and every exhibit",
        },
    },
)
def rebuttal_package(
    shipment_id: uuid.UUID,
    rebuttal_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    store: StoreDep,
    format: Annotated[Literal["pdf", "zip"], Query(description="pdf or zip")] = "pdf",
) -> Response:
    """CBP's applicability-review layout: cover, contents, executive summary, supply-chain
    flow chart, exhibit index with SHA-256 and translations flagged, the answer to every
    finding, reviewer checks, and the assessment with its rule and list versions. Takes
    seconds (tens of seconds for a large shipment): the PDF is laid out on request, in a
    renderer process. When every renderer is busy and the queue is full: 503 with
    Retry-After."""
    report = service.rebuttal_report(
        session, principal, shipment_id, rebuttal_id, response_days=settings.response_due_days
    )
    session.rollback()  # done reading; do not hold a transaction while rendering
    renderer: PackageRenderer = request.app.state.package_renderer
    pdf = renderer.render(report)
    name = package_pdf_name(report.shipment.reference)
    if format == "pdf":
        return Response(
            content=pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return StreamingResponse(
        service.package_zip_stream(pdf, report, store.open),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name.removesuffix(".pdf")}.zip"'},
    )
