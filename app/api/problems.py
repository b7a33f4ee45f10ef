"""Render every error as application/problem+json (RFC 9457)."""

from __future__ import annotations

import re
import traceback
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.schemas.text import NUL_ERROR
from app.errors import AppError
from app.logs import get_logger

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = get_logger("app.errors")


def problem_response(
    status: int,
    type_: str,
    title: str,
    detail: str,
    request: Request | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:uflpa:problem:{type_}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def json_path(loc: Sequence[int | str]) -> str:
    """('body', 'lines', 0, 'hts_code') -> 'lines[0].hts_code'."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "form"):
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-after", "function-before", "function-wrap")):
            continue  # pydantic validator frames are not fields
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def validation_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Pydantic errors as [{"field": "lines[0].hts_code", "reason": ...}]."""
    return _validation_errors(errors)


def _validation_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    result = []
    for err in errors:
        reason = str(err.get("msg", "invalid"))
        reason = reason.removeprefix("Value error, ")
        field = json_path(err.get("loc", ()))
        if err.get("type") == NUL_ERROR:  # raised for the model: name the field itself
            name = err["ctx"]["field"]
            field = name if field == "body" else f"{field}.{name}"
        result.append({"field": field, "reason": reason})
    return result


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    headers = exc.extra.pop("headers", None)
    return problem_response(
        type(exc).status, type(exc).type, type(exc).title, exc.detail, request, headers, **exc.extra
    )


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem_response(
            400,
            "malformed-json",
            "Body is not valid JSON",
            "the request body could not be parsed as JSON",
            request,
        )
    return problem_response(
        422,
        "validation-error",
        "The request is not valid",
        f"{len(errors)} field(s) failed validation",
        request,
        errors=_validation_errors(errors),
    )


def _allowed_methods(request: Request) -> str | None:
    """Every method the path supports, across all routes sharing it (Starlette's own 405
    names only the methods of the first route that matched the path)."""
    patterns: list[tuple[re.Pattern[str], set[str]]] | None = getattr(
        request.app.state, "allow_patterns", None
    )
    if patterns is None:
        patterns = []
        for template, operations in request.app.openapi().get("paths", {}).items():
            regex = "^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)) + "$"
            patterns.append((re.compile(regex), {m.upper() for m in operations}))
        request.app.state.allow_patterns = patterns
    # A literal path (/v1/shipments/batch) wins over a template it also fits
    # (/v1/shipments/{shipment_id}), as it does in the router.
    path = request.url.path
    literal = [
        allowed for pattern, allowed in patterns if pattern.pattern == f"^{re.escape(path)}$"
    ]
    matches = literal or [allowed for pattern, allowed in patterns if pattern.match(path)]
    methods: set[str] = set().union(*matches) if matches else set()
    return ", ".join(sorted(methods)) if methods else None


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized"}.get(
        exc.status_code, "http-error"
    )
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allowed = _allowed_methods(request)
        if allowed:
            headers["Allow"] = allowed
    return problem_response(
        exc.status_code, slug, str(exc.detail), str(exc.detail), request, headers
    )


def _database_error(exc: Exception) -> BaseException | None:
    """The driver's error behind `exc`, if it is a database error."""
    if isinstance(exc, DBAPIError):
        return exc.orig if exc.orig is not None else exc
    module = type(exc).__module__
    return exc if module.startswith(("psycopg", "sqlite3")) else None


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    driver_error = _database_error(exc)
    if driver_error is None:
        log.error("unhandled_error", path=request.url.path, exc_info=exc)
    else:
        # The server's message can quote row values (DETAIL, CONTEXT: a reference, a piece
        # of the manifest's JSON): log the error's class, its SQLSTATE and where it came
        # from, not its text.
        log.error(
            "unhandled_database_error",
            path=request.url.path,
            error=type(exc).__name__,
            driver_error=type(driver_error).__name__,
            sqlstate=getattr(driver_error, "sqlstate", None),
            stack="".join(traceback.format_tb(exc.__traceback__)),
        )
    return problem_response(
        500,
        "internal-error",
        "Internal error",
        "an unexpected error occurred; it has been logged",
        request,
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
