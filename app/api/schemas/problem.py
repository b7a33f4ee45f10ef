"""The RFC 9457 problem document every error response carries."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class FieldError(BaseModel):
    field: str
    reason: str


class Problem(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for problem+json errors."""
    descriptions = {
        400: "Malformed request (e.g. body is not JSON)",
        401: "Missing, unknown or revoked API key",
        403: "The key's role may not do this",
        404: "Not found, or not visible to this caller",
        409: "Conflict with the current state",
        413: "Body or upload too large",
        415: "Unsupported media type",
        422: "Validation failed; `errors` lists each field and reason",
        429: "Rate limit exceeded; see Retry-After",
        503: "Not ready (e.g. no lists loaded)",
    }
    return {
        status: {
            "description": descriptions[status],
            "content": {"application/problem+json": {"schema": Problem.model_json_schema()}},
        }
        for status in statuses
    }


COMMON_PROBLEMS = problem_responses(400, 401, 403, 404, 413, 422, 429)
