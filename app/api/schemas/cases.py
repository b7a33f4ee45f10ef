"""Request and response models of detention cases: rebuttals, determinations, case dates."""

from __future__ import annotations

import datetime as dt
import uuid
from functools import cache
from typing import Annotated, Any, Literal

import pycountry
from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from app.api.schemas.codes import ShortText
from app.api.schemas.manifest import ManifestIn
from app.api.schemas.shipments import AssessmentOut
from app.api.schemas.text import RefusesNul

MAX_EVIDENCE = 200
MAX_COVERS = 500
MAX_DOCUMENTS_PER_ITEM = 50


@cache
def _languages() -> frozenset[str]:
    return frozenset(lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2"))


def _language(value: str) -> str:
    code = value.strip().lower()
    if code not in _languages():
        raise ValueError(f"'{value}' is not an ISO 639-1 language code")
    return code


LanguageCode = Annotated[str, AfterValidator(_language)]
ChecklistId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10)]
ManifestPath = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)
]


class Strict(RefusesNul):
    model_config = ConfigDict(extra="forbid")


class EvidenceIn(Strict):
    type: ChecklistId = Field(description="Checklist id from rules/evidence.yaml, e.g. G-06, CT-02")
    title: ShortText
    issuer: ShortText | None = None
    date: dt.date | None = None
    covers: list[ManifestPath] = Field(
        default_factory=list,
        max_length=MAX_COVERS,
        description="Manifest paths the item is evidence for, e.g. lines[0].inputs[0]",
    )
    document_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_DOCUMENTS_PER_ITEM)
    language: LanguageCode | None = Field(default=None, description="ISO 639-1 of the documents")
    translation_document_id: uuid.UUID | None = None


class RebuttalIn(Strict):
    kind: Literal["applicability", "exception"]
    narrative: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50_000)
    ]
    evidence: list[EvidenceIn] = Field(min_length=1, max_length=MAX_EVIDENCE)
    revised_manifest: ManifestIn | None = Field(
        default=None,
        description="Corrections to the supply chain; stored as a new manifest version, "
        "the submitted manifest is never edited. Same reference and importer.",
    )


class DeterminationIn(Strict):
    outcome: Literal["released", "excluded"]
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)
    ]


class CaseDatesIn(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    presented_at: dt.date | None = Field(
        default=None,
        validation_alias=AliasChoices("presented_at", "presented_on"),
        description="Presentation of the goods to CBP (T0)",
    )
    detained_at: dt.date | None = Field(
        default=None,
        validation_alias=AliasChoices("detained_at", "detained_on"),
        description="CBP's detention decision",
    )
    notice_at: dt.date | None = Field(
        default=None,
        validation_alias=AliasChoices("notice_at", "notice_on"),
        description="Notice of detention issued",
    )


class Actor(BaseModel):
    key_id: str | None
    role: str


class DeterminationOut(BaseModel):
    id: str
    shipment_id: str
    outcome: str
    reason: str
    status_before: str
    decision_seq: int
    decided_at: dt.datetime
    decided_by: Actor


class CaseOut(BaseModel):
    state: str
    presented_at: str
    presented_from: str = Field(description="recorded, entry_date or submission")
    detention_decision_due: str
    detained_at: str | None
    notice_due: str
    notice_at: str | None
    response_due: str
    response_days: int
    deemed_excluded_at: str
    rebuttals: int
    determination: DeterminationOut | None


class RebuttalOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    shipment_id: str
    sequence: int
    kind: str
    narrative: str
    evidence: list[dict[str, Any]]
    manifest_version: int
    revised_manifest: dict[str, Any] | None
    submitted_at: dt.datetime
    submitted_by: Actor
    status_before: str
    review: dict[str, Any] = Field(
        description="Per finding: cleared, open, needs_reviewer or context, with the evidence "
        "that answered it; the checklist items still missing; exception conditions"
    )
    assessment: AssessmentOut | None


class RebuttalPage(BaseModel):
    items: list[RebuttalOut]


class HistoryOut(BaseModel):
    shipment_id: str
    state: str
    events: list[dict[str, Any]]
