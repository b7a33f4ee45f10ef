"""Inputs of the reports: what the service knows about a shipment, its rebuttal and exhibits.

Plain frozen dataclasses so the renderers stay pure and testable without a database; the
service layer adapts stored rows into them (app.services.reports).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from app.domain.manifest import Manifest

ENGLISH = "en"


@dataclass(frozen=True, slots=True)
class KeyDate:
    """A date of the case shown on the cover: an event (detained) or a deadline (response due)."""

    label: str
    on: date
    is_deadline: bool = False


@dataclass(frozen=True, slots=True)
class ShipmentFacts:
    shipment_id: str
    reference: str  # the entry reference the package is linked to
    importer: str
    status: str  # detained, rebuttal_submitted, ...
    entry_date: date | None = None
    dates: tuple[KeyDate, ...] = ()


@dataclass(frozen=True, slots=True)
class FindingAnswer:
    """How the re-assessment after the rebuttal judged one finding of the assessment."""

    code: str
    path: str
    status: str  # cleared, open, needs_reviewer, context
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ConditionAnswer:
    """One UFLPA §3(b) condition of an exception request, as the completeness review saw it."""

    id: str
    title: str
    status: str  # for_reviewer (nothing missing) | incomplete
    missing: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RebuttalFacts:
    rebuttal_id: str
    kind: str  # applicability | exception
    narrative: str
    submitted_at: datetime
    findings: tuple[FindingAnswer, ...] = ()
    conditions: tuple[ConditionAnswer, ...] = ()  # exception requests only

    def status_of(self, code: str, path: str) -> FindingAnswer | None:
        for answer in self.findings:
            if answer.code == code and answer.path == path:
                return answer
        return None


@dataclass(frozen=True, slots=True)
class ExhibitFile:
    """One stored file of an exhibit, addressed by its SHA-256 in the document store."""

    sha256: str
    file_name: str  # the name it was uploaded with
    media_type: str
    size: int | None = None


@dataclass(frozen=True, slots=True)
class ExhibitFacts:
    """One evidence item of the rebuttal, numbered as it appears in the package."""

    number: int
    checklist_id: str  # G-06, CT-02, ...
    title: str
    files: tuple[ExhibitFile, ...]
    covers: tuple[str, ...] = ()  # manifest paths
    issuer: str | None = None
    issued_on: date | None = None
    language: str | None = None  # ISO 639-1 of the documents; None when not stated
    translation: ExhibitFile | None = None  # the English translation, when one is attached

    @property
    def label(self) -> str:
        return f"Exhibit {self.number}"

    @property
    def is_foreign_language(self) -> bool:
        return self.language is not None and self.language.lower() != ENGLISH

    @property
    def needs_translation(self) -> bool:
        """CBP asks for English translations of foreign-language documents (G-11)."""
        return self.is_foreign_language and self.translation is None


@dataclass(frozen=True, slots=True)
class ShipmentReport:
    """Everything a report needs. `assessment` is the latest Assessment.to_dict() shape;
    `rebuttal` is None for a shipment nobody has answered yet (the map works without it)."""

    shipment: ShipmentFacts
    manifest: Manifest
    assessment: Mapping[str, Any]
    rebuttal: RebuttalFacts | None = None
    exhibits: tuple[ExhibitFacts, ...] = field(default=())
    generated_at: datetime | None = None

    @property
    def findings(self) -> list[Mapping[str, Any]]:
        findings: list[Mapping[str, Any]] = list(self.assessment.get("findings", []))
        return findings
