"""Response models of the report endpoints."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ProblemOut(BaseModel):
    subject: str = Field(description="A manifest path, 'Exhibit N', or 'CODE at path'")
    message: str


class CheckOut(BaseModel):
    id: str = Field(
        description="findings_answered, tracing_records, exhibits_referenced, mass_balance, "
        "translations"
    )
    title: str
    passed: bool
    problems: list[ProblemOut]
    notes: list[str]


class ChecksOut(BaseModel):
    """GET /v1/shipments/{id}/rebuttals/{rid}/checks: what a CBP reviewer would check."""

    passed: bool
    failed: list[str]
    checks: list[CheckOut]
