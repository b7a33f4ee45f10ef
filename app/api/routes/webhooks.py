"""Webhook subscriptions and their delivery records."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import PrincipalDep, SessionDep, SettingsDep
from app.api.responses import json_response
from app.api.schemas.text import RefusesNul
from app.services import webhooks as service

router = APIRouter(tags=["webhooks"])

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key"},
    403: {"description": "This key may not manage webhooks (or not for these importers)"},
    404: {"description": "No such webhook for this caller"},
    422: {"description": "Validation failed; `errors` lists field and reason"},
}


class WebhookIn(RefusesNul):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=8, max_length=2000, description="http(s) URL to POST events to")
    events: list[str] = Field(
        min_length=1, max_length=len(service.EVENT_TYPES), description=str(service.EVENT_TYPES)
    )
    secret: str | None = Field(
        default=None,
        min_length=service.MIN_SECRET_LENGTH,
        max_length=200,
        description="HMAC secret; generated when omitted. Returned only in this response.",
    )
    importers: list[str] | None = Field(
        default=None, max_length=100, description="Default: every importer the key acts for"
    )
    description: str | None = Field(default=None, max_length=200)


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    importers: list[str] | None
    all_importers: bool
    description: str | None
    active: bool
    secret: str | None = Field(default=None, description="Only in the creation response")


@router.post("/webhooks", status_code=201, response_model=WebhookOut, responses=PROBLEMS)
def create_webhook(
    body: WebhookIn, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> Response:
    """Subscribe a URL to shipment events for the importers this key acts for."""
    view, secret = service.create_webhook(
        session,
        principal,
        url=body.url,
        events=body.events,
        secret=body.secret,
        importers=body.importers,
        description=body.description,
        allow_private=settings.webhook_allow_private_networks,
    )
    return json_response({**view.to_dict(), "secret": secret}, status_code=201)


@router.get("/webhooks", responses=PROBLEMS)
def list_webhooks(session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    return {"items": [v.to_dict() for v in service.list_webhooks(session, principal)]}


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut, responses=PROBLEMS)
def get_webhook(webhook_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Any:
    return service.get_webhook(session, principal, webhook_id).to_dict()


@router.delete("/webhooks/{webhook_id}", response_model=WebhookOut, responses=PROBLEMS)
def disable_webhook(webhook_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Any:
    """Disable the webhook: no new deliveries; pending ones are cancelled. Records stay."""
    return service.disable_webhook(session, principal, webhook_id).to_dict()


@router.get("/webhooks/{webhook_id}/deliveries", responses=PROBLEMS)
def list_deliveries(
    webhook_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Newest first: status (pending, delivered, failed, cancelled), attempts, last result."""
    return {"items": service.list_deliveries(session, principal, webhook_id, limit=limit)}
