"""Response models: the public contract of shipments and assessments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class FindingOut(Open):
    code: str
    severity: str
    path: str
    message: str
    evidence: dict[str, Any]


class RequiredEvidenceOut(Open):
    id: str
    title: str
    for_: str = Field(alias="for")


class PresumptionOut(BaseModel):
    applies: bool
    grounds: list[str]


class SanctionsOut(BaseModel):
    applies: bool
    lists: list[str]


class AssessmentOut(Open):
    recommendation: str = Field(description="admit or detain")
    risk_score: int = Field(ge=0, le=100)
    risk_level: str
    presumption: PresumptionOut
    sanctions: SanctionsOut
    findings: list[FindingOut]
    required_evidence: list[RequiredEvidenceOut]
    rules_version: str
    lists_version: dict[str, str]
    matcher_version: str
    assessed_at: datetime | None = None


class ShipmentOut(BaseModel):
    id: str
    reference: str
    importer: str
    status: str
    created_at: datetime
    updated_at: datetime
    manifest: dict[str, Any]
    assessment: AssessmentOut | None
    case: dict[str, Any] | None = Field(
        default=None,
        description="Detention case state and deadlines (see GET /v1/shipments/{id}/case); "
        "null for an admitted shipment",
    )


class ShipmentPage(BaseModel):
    items: list[ShipmentOut]
    next_cursor: str | None
