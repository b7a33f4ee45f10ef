"""Many shipments in one call (JSON batches, CSV imports): each item on its own.

Every valid item goes through the same `submit_shipment` as the single endpoint, in its own
transaction, so one bad item never sinks the others and the idempotency rules (200 for a
resend, 409 for a reused reference with another body) hold per item.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.errors import AppError, Unprocessable
from app.services.assessor import Assessor
from app.services.principal import Principal
from app.services.shipments import submit_shipment


@dataclass(frozen=True)
class Invalid:
    """An item that failed validation; `problem` is its problem object."""

    problem: dict[str, Any]


@dataclass(frozen=True)
class Item:
    payload: dict[str, Any] | Invalid  # canonical manifest, or why it is not one
    meta: Mapping[str, Any] = field(default_factory=dict)  # copied into the result


def problem_dict(exc: AppError) -> dict[str, Any]:
    extra = {k: v for k, v in exc.extra.items() if k != "headers"}
    return {
        "type": f"urn:uflpa:problem:{type(exc).type}",
        "title": type(exc).title,
        "status": type(exc).status,
        "detail": exc.detail,
        **extra,
    }


def validation_problem(errors: list[dict[str, Any]]) -> dict[str, Any]:
    return problem_dict(
        Unprocessable(f"{len(errors)} field(s) failed validation", errors=list(errors))
    )


def submit_many(
    session: Session,
    assessor: Assessor,
    principal: Principal,
    items: Iterable[Item | dict[str, Any] | Invalid],
) -> list[dict[str, Any]]:
    """One result per item, in order: {index, status, shipment | problem, **meta}."""
    results: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if not isinstance(item, Item):
            item = Item(item)
        result: dict[str, Any] = {"index": index, **item.meta}
        if isinstance(item.payload, Invalid):
            result |= {"status": item.payload.problem["status"], "problem": item.payload.problem}
            results.append(result)
            continue
        try:
            view, created = submit_shipment(session, assessor, principal, item.payload)
        except AppError as exc:
            session.rollback()
            result |= {"status": type(exc).status, "problem": problem_dict(exc)}
        else:
            result |= {"status": 201 if created else 200, "shipment": view.to_dict()}
        results.append(result)
    return results


def summarise(results: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    summary = {"total": 0, "created": 0, "unchanged": 0, "failed": 0}
    for result in results:
        summary["total"] += 1
        status = result["status"]
        key = "created" if status == 201 else "unchanged" if status == 200 else "failed"
        summary[key] += 1
    return summary
