"""Many shipments in one call (JSON batches, CSV imports): each item on its own.

Valid items are assessed one by one and written in chunks, a chunk per transaction, through
the same `write_new_shipments` as the single endpoint's group writer: each shipment is
stored whole or not at all, and the idempotency rules (200 for a resend, 409 for a reused
reference with another body) hold per item. An invalid item never reaches the database;
if a chunk fails to write, its items are written again one per transaction, so one bad
item never sinks the others. An item that cannot be written even on its own gets a 503
problem of its own (nothing of it is stored) and the batch goes on; resending the same
batch retries it, and the items already stored answer 200.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.errors import AppError, ServiceUnavailable, Unprocessable
from app.logs import get_logger
from app.services.assessor import Assessor
from app.services.principal import Principal
from app.services.shipment_rows import NewShipment, write_new_shipments
from app.services.shipments import new_view, prepare_shipment, replay


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


CHUNK_SIZE = 100  # shipments per transaction
NOT_STORED = "this shipment could not be stored; retry the same batch — stored items answer 200"

log = get_logger("app.batch")


@dataclass
class _Valid:
    result: dict[str, Any]
    canonical: dict[str, Any]
    new: NewShipment


def submit_many(
    session: Session,
    assessor: Assessor,
    principal: Principal,
    items: Iterable[Item | dict[str, Any] | Invalid],
) -> list[dict[str, Any]]:
    """One result per item, in order: {index, status, shipment | problem, **meta}."""
    results: list[dict[str, Any]] = []
    chunk: list[_Valid] = []
    for index, item in enumerate(items):
        if not isinstance(item, Item):
            item = Item(item)
        result: dict[str, Any] = {"index": index, **item.meta}
        results.append(result)
        if isinstance(item.payload, Invalid):
            result |= {"status": item.payload.problem["status"], "problem": item.payload.problem}
            continue
        try:
            new = prepare_shipment(session, assessor, principal, item.payload)
        except AppError as exc:
            result |= {"status": type(exc).status, "problem": problem_dict(exc)}
            continue
        chunk.append(_Valid(result, item.payload, new))
        if len(chunk) == CHUNK_SIZE:
            _write_chunk(session, chunk)
            chunk = []
    _write_chunk(session, chunk)
    return results


def _write_chunk(session: Session, chunk: list[_Valid]) -> None:
    if not chunk:
        return
    session.commit()  # importers an admin key named, created while preparing
    stored: list[bool | None]
    try:
        stored = list(write_new_shipments(session, [valid.new for valid in chunk]))
    except DBAPIError as exc:  # the only way a write fails: split the chunk, item by item
        session.rollback()
        log.warning("batch_chunk_write_failed", size=len(chunk), error=_name(exc))
        stored = [_write_one(session, valid) for valid in chunk]
    for valid, was_stored in zip(chunk, stored, strict=True):
        if was_stored is None:
            unavailable = ServiceUnavailable(NOT_STORED)
            valid.result |= {"status": unavailable.status, "problem": problem_dict(unavailable)}
            continue
        try:
            view, created = (
                (new_view(valid.new), True)
                if was_stored
                else (replay(session, valid.new, valid.canonical), False)
            )
        except AppError as exc:
            valid.result |= {"status": type(exc).status, "problem": problem_dict(exc)}
        else:
            valid.result |= {"status": 201 if created else 200, "shipment": view.to_dict()}
    session.rollback()  # end the read-only transaction of the replays


def _write_one(session: Session, valid: _Valid) -> bool | None:
    """Whether the shipment was stored (False: it existed already), or None when it could
    not be written; then nothing of it is (its transaction is rolled back)."""
    try:
        return write_new_shipments(session, [valid.new])[0]
    except DBAPIError as exc:
        session.rollback()
        log.warning("batch_item_not_stored", index=valid.result["index"], error=_name(exc))
        return None


def _name(exc: DBAPIError) -> str:
    """The driver's error class: no SQL text or parameters (they hold manifest data)."""
    return type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__


def summarise(results: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    summary = {"total": 0, "created": 0, "unchanged": 0, "failed": 0}
    for result in results:
        summary["total"] += 1
        status = result["status"]
        key = "created" if status == 201 else "unchanged" if status == 200 else "failed"
        summary[key] += 1
    return summary
