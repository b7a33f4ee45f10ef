"""Reports over a shipment: the supply-chain map."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response

from app.api.deps import PrincipalDep, SessionDep
from app.services import reports as service

router = APIRouter(tags=["reports"])

SVG_MEDIA_TYPE = "image/svg+xml"
# The SVG is served from the API's origin: forbid scripts and external loads in it.
SVG_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key"},
    404: {"description": "No such shipment for this caller"},
    503: {"description": "Graphviz is not installed on the server"},
}


@router.get(
    "/shipments/{shipment_id}/map",
    response_class=Response,
    responses={
        **PROBLEMS,
        200: {"content": {SVG_MEDIA_TYPE: {}}, "description": "The supply-chain map (SVG)"},
    },
)
def supply_chain_map(
    shipment_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> Response:
    """Every line and input, tier by tier, from raw material to the imported goods; nodes
    coloured by the findings of the latest assessment; nodes without evidence dashed."""
    svg = service.supply_map_svg(session, principal, shipment_id)
    return Response(content=svg, media_type=SVG_MEDIA_TYPE, headers=SVG_HEADERS)
