"""Supplier vetting without a shipment, pairwise name comparison, and the active rules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.deps import AssessorDep, PrincipalDep
from app.api.schemas.problem import problem_responses
from app.api.schemas.screening import CompareRequest, CompareResponse, ScreenRequest, ScreenResponse
from app.errors import AppError
from app.screening.entry import Schema
from app.screening.scorer import MATCHER_VERSION
from app.screening.screener import compare as compare_names

router = APIRouter(tags=["screening"])


class ListsNotLoaded(AppError):
    status = 503
    type = "lists-not-loaded"
    title = "No entity lists are loaded"


@router.post("/screen", response_model=ScreenResponse, responses=problem_responses(503))
def screen(body: ScreenRequest, assessor: AssessorDep, principal: PrincipalDep) -> dict[str, Any]:
    """Screen up to 1,000 parties against every active list (supplier vetting)."""
    screener = assessor.screener
    if screener is None:
        raise ListsNotLoaded(
            "load a list first: `uflpa lists load` or POST /v1/lists/{source}/import"
        )
    results = []
    for party in body.parties:
        schema = Schema(party.schema_) if party.schema_ else None
        found = screener.screen(party.name, party.country, party.address, schema)
        results.append({"name": party.name, "matches": [m.to_dict() for m in found]})
    return {
        "results": results,
        "lists_version": dict(assessor.lists_version),
        "matcher_version": assessor.matcher_version,
    }


@router.post("/compare", response_model=CompareResponse)
def compare(body: CompareRequest, assessor: AssessorDep, principal: PrincipalDep) -> dict[str, Any]:
    """Score two names with the screening scorer (the list's rarity weights when loaded)."""
    schema = Schema(body.schema_) if body.schema_ else None
    scoring = assessor.rules.scoring
    if assessor.screener is not None:
        score, band, explanation = assessor.screener.compare(
            body.a, body.b, schema, body.country_a, body.country_b
        )
    else:
        score, band, explanation = compare_names(
            body.a, body.b, schema, body.country_a, body.country_b,
            strong=scoring.match_strong, possible=scoring.match_possible,
        )  # fmt: skip
    return {
        "score": round(score, 4),
        "band": None if band is None else band.value,
        "explanation": explanation,
        "matcher_version": MATCHER_VERSION,
    }


@router.get("/rules", tags=["rules"])
def rules(assessor: AssessorDep, principal: PrincipalDep) -> dict[str, Any]:
    """The active rule set: its version (hash of the rule files) and validated content."""
    return assessor.rules.to_public_dict()
