"""One error hierarchy for the whole service (stdlib only).

Every expected failure is an AppError subclass with a stable `type` slug and an HTTP
`status`; the API layer renders them as RFC 9457 problem+json. Clients branch on `type`,
never on message text.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status: int = 400
    type: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(AppError):
    status = 404
    type = "not-found"
    title = "Not found"


class Unauthorized(AppError):
    status = 401
    type = "unauthorized"
    title = "Missing or invalid API key"


class Forbidden(AppError):
    status = 403
    type = "forbidden"
    title = "Not allowed for this key"


class Conflict(AppError):
    status = 409
    type = "conflict"
    title = "Conflict"


class IdempotencyConflict(Conflict):
    type = "idempotency-conflict"
    title = "Reference already used with a different body"


class InvalidState(Conflict):
    type = "invalid-state"
    title = "Not allowed in the current state"


class Unprocessable(AppError):
    status = 422
    type = "validation-error"
    title = "The request is not valid"


class PayloadTooLarge(AppError):
    status = 413
    type = "payload-too-large"
    title = "Request body too large"


class UnsupportedMediaType(AppError):
    status = 415
    type = "unsupported-media-type"
    title = "Unsupported media type"


class RateLimited(AppError):
    status = 429
    type = "rate-limited"
    title = "Too many requests"


class RendererUnavailable(AppError):
    """A report renderer (Graphviz, the PDF engine or its fonts) is missing or failed."""

    status = 503
    type = "renderer-unavailable"
    title = "Report renderer unavailable"


class ServiceUnavailable(AppError):
    """The write did not complete in time; the same request may be retried safely."""

    status = 503
    type = "service-unavailable"
    title = "Service temporarily unavailable"


class InvalidRules(AppError):
    """A rule file is malformed; the service refuses to start with it."""

    status = 500
    type = "invalid-rules"
    title = "Invalid rule file"


class InvalidListFile(AppError):
    """An official list file could not be parsed; the previous version stays active."""

    status = 422
    type = "invalid-list-file"
    title = "Invalid list file"
