"""The decision log for auditors: list, export, verify, replay, statistics.

Auditor and admin keys only. Importers, brokers and reviewers get 403: the log spans every
importer, so there is no per-tenant slice of it to show them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from app.api.deps import SessionDep, require_roles
from app.api.schemas.codes import IsoDateTime
from app.errors import NotFound
from app.services import audit
from app.services.principal import Principal, Role
from app.services.replay import Replayer

router = APIRouter(tags=["decisions"])

AuditorDep = Annotated[Principal, Depends(require_roles(Role.AUDITOR, Role.ADMIN))]

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key"},
    403: {"description": "Not an auditor or admin key"},
    422: {"description": "Invalid filter; `errors` lists field and reason"},
}


def decision_filter(
    importer: Annotated[str | None, Query(max_length=200, description="name or id")] = None,
    kind: Annotated[str | None, Query(max_length=24)] = None,
    outcome: Annotated[str | None, Query(max_length=24)] = None,
    sector: Annotated[str | None, Query(max_length=64)] = None,
    country: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
    shipment: uuid.UUID | None = None,
    date_from: Annotated[IsoDateTime | None, Query(alias="from")] = None,
    date_to: Annotated[IsoDateTime | None, Query(alias="to")] = None,
) -> audit.DecisionFilter:
    return audit.DecisionFilter(
        importer=importer,
        kind=kind,
        outcome=outcome,
        sector=sector,
        country=country,
        shipment_id=shipment,
        date_from=date_from,
        date_to=date_to,
    )


FilterDep = Annotated[audit.DecisionFilter, Depends(decision_filter)]


@router.get("/decisions", responses=PROBLEMS)
def list_decisions(
    session: SessionDep,
    _: AuditorDep,
    flt: FilterDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    order: Literal["asc", "desc"] = "asc",
) -> dict[str, Any]:
    """Decisions in seq order with filters; pass `next_cursor` back as `cursor` for more."""
    items, next_cursor = audit.list_decisions(
        session, flt, cursor=cursor, limit=limit, descending=order == "desc"
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/decisions/export",
    responses={
        **PROBLEMS,
        200: {
            "description": "One row per decision, streamed",
            "content": {"text/csv": {}, "application/x-ndjson": {}},
        },
    },
)
def export_decisions(
    request: Request,
    session: SessionDep,
    _: AuditorDep,
    flt: FilterDep,
    format: Literal["csv", "ndjson"] = "ndjson",
) -> StreamingResponse:
    """Every matching decision, streamed in constant memory; same filters as the list.

    Rows carry the hashed fields verbatim (and prev_hash, hash), so an auditor can re-verify
    the chain from an unfiltered NDJSON export offline.
    """
    # The request's session (used to check the key) stays open until the response is sent;
    # end its transaction now, or on SQLite its write lock would block the export's reads.
    session.close()
    sessions: sessionmaker[Session] = request.app.state.sessionmaker
    rows = audit.iter_decisions(sessions, flt)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if format == "csv":
        body, media = audit.export_csv(rows), "text/csv; charset=utf-8"
    else:
        body, media = audit.export_ndjson(rows), "application/x-ndjson"
    return StreamingResponse(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="decisions-{stamp}.{format}"'},
    )


@router.get("/decisions/verify", responses=PROBLEMS)
def verify_decisions(
    request: Request,
    session: SessionDep,
    _: AuditorDep,
    cached: Annotated[
        bool, Query(description="return this worker's last result, if any, without recomputing")
    ] = False,
) -> dict[str, Any]:
    """Recompute the whole chain; name the first broken record if any.

    Recomputing reads every record, which takes a while on a large log; `cached=true`
    answers with this worker's last result (the dashboard's badge uses it on page load).
    """
    session.close()  # verify_log reads in its own short transactions
    last: dict[str, Any] | None = getattr(request.app.state, "last_verification", None)
    if cached and last is not None:
        return {**last, "cached": True}
    sessions: sessionmaker[Session] = request.app.state.sessionmaker
    result = audit.verify_log(sessions)
    answer = {**result.to_dict(), "checked_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    request.app.state.last_verification = answer
    return {**answer, "cached": False}


@router.get("/decisions/{seq:int}", responses={**PROBLEMS, 404: {"description": "No such record"}})
def get_decision(seq: int, session: SessionDep, _: AuditorDep) -> dict[str, Any]:
    found = audit.get_decision(session, seq)
    if found is None:
        raise NotFound(f"no decision {seq}")
    return found


@router.get(
    "/decisions/{seq}/replay", responses={**PROBLEMS, 404: {"description": "No such record"}}
)
def replay_decision(
    seq: int, request: Request, session: SessionDep, _: AuditorDep
) -> dict[str, Any]:
    """Re-run the assessment with the recorded rules and list versions; diff when different."""
    replayer: Replayer = request.app.state.replayer
    return replayer.replay(session, seq).to_dict()


@router.get("/stats", responses=PROBLEMS, tags=["decisions"])
def stats(
    session: SessionDep,
    _: AuditorDep,
    importer: Annotated[str | None, Query(max_length=200)] = None,
    country: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
    sector: Annotated[str | None, Query(max_length=64)] = None,
    date_from: Annotated[IsoDateTime | None, Query(alias="from")] = None,
    date_to: Annotated[IsoDateTime | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    """Shipments and declared value by month, status, sector, origin and ground.

    The cuts of CBP's UFLPA enforcement dashboard; definitions are in the response.
    """
    # Validates the range the same way the decision filters do.
    checked = audit.DecisionFilter(date_from=date_from, date_to=date_to)
    flt = audit.StatsFilter(
        importer=importer,
        country=country,
        sector=sector,
        date_from=checked.date_from,
        date_to=checked.date_to,
    )
    return audit.compute_stats(session, flt)
