"""Broker intake: JSON batches and CSV files, one result per shipment."""

from __future__ import annotations

import io
from typing import Any

from fastapi import APIRouter, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import AssessorDep, PrincipalDep, SessionDep
from app.api.intake import csv_items, validate_item
from app.api.responses import json_response
from app.api.schemas.shipments import ShipmentOut
from app.errors import Unprocessable
from app.services import batch as service
from app.services.csv_manifests import CsvFileError

router = APIRouter(tags=["integrations"])

MAX_BATCH_ITEMS = 1000


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shipments: list[Any] = Field(
        min_length=1,
        max_length=MAX_BATCH_ITEMS,
        description="Manifests, as for POST /v1/shipments; each is validated on its own.",
    )


class BatchItemOut(BaseModel):
    index: int
    status: int = Field(description="201 created, 200 resend, 409, 422 or 403")
    reference: str | None = Field(default=None, description="CSV imports only")
    rows: list[int] | None = Field(default=None, description="CSV imports: first and last row")
    shipment: ShipmentOut | None = None
    problem: dict[str, Any] | None = Field(default=None, description="problem+json object")


class BatchOut(BaseModel):
    results: list[BatchItemOut]
    summary: dict[str, int]


PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key"},
    413: {"description": "Body larger than the batch cap"},
    422: {"description": "The body (not an item) is malformed"},
}


def _results_response(results: list[dict[str, Any]]) -> Response:
    # orjson, not jsonable_encoder: a thousand assessments would take it seconds.
    return json_response({"results": results, "summary": service.summarise(results)})


@router.post("/shipments/batch", response_model=BatchOut, responses=PROBLEMS)
def submit_batch(
    body: BatchIn, session: SessionDep, assessor: AssessorDep, principal: PrincipalDep
) -> Response:
    """Submit up to 1,000 manifests. Each item is validated and assessed on its own, with the
    idempotency of POST /v1/shipments per item; valid items are stored 100 to a transaction,
    each shipment whole or not at all."""
    items = [validate_item(raw) for raw in body.shipments]
    return _results_response(service.submit_many(session, assessor, principal, items))


@router.post("/shipments/import", response_model=BatchOut, responses=PROBLEMS)
def import_csv(
    file: UploadFile, session: SessionDep, assessor: AssessorDep, principal: PrincipalDep
) -> Response:
    """A CSV file, one row per line item (and rows for supply-chain inputs), grouped into
    shipments by `reference`. Errors name the row and column. See docs/integrations.md."""
    text = io.TextIOWrapper(file.file, encoding="utf-8-sig", newline="")
    try:
        items = list(csv_items(text))
    except CsvFileError as exc:
        raise Unprocessable(exc.reason, errors=exc.errors) from exc
    except UnicodeDecodeError as exc:
        raise Unprocessable(
            "the file is not UTF-8 text",
            errors=[{"row": 1, "field": "file", "reason": "not UTF-8"}],
        ) from exc
    finally:
        text.detach()  # the upload's file is closed by the framework
    if not items:
        raise Unprocessable(
            "the file has no data rows", errors=[{"row": 2, "field": "row", "reason": "missing"}]
        )
    return _results_response(service.submit_many(session, assessor, principal, items))
