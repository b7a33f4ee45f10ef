"""The assessment: what the engine concludes about one manifest, with every reason."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Recommendation(StrEnum):
    ADMIT = "admit"
    DETAIN = "detain"


class Ground(StrEnum):
    """Legal grounds of the UFLPA rebuttable presumption."""

    XUAR_NEXUS = "xuar_nexus"
    ENTITY_LIST_NEXUS = "entity_list_nexus"


@dataclass(frozen=True, slots=True)
class Finding:
    code: str  # stable: XUAR_PLACE, XPCC_UNIT, ENTITY_LIST_MATCH, SANCTIONS_MATCH, ...
    severity: Severity
    path: str  # JSON path of the manifest node
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    rule_id: str | None = None
    ground: Ground | None = None  # set when the finding establishes a presumption ground
    sanctions_list: str | None = None  # set when the finding is a sanctions ground

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity.value,
            "path": self.path,
            "message": self.message,
            "evidence": dict(self.evidence),
        }
        if self.rule_id is not None:
            out["rule_id"] = self.rule_id
        if self.ground is not None:
            out["ground"] = self.ground.value
        if self.sanctions_list is not None:
            out["sanctions_list"] = self.sanctions_list
        return out


@dataclass(frozen=True, slots=True)
class RequiredEvidence:
    id: str  # checklist id: G-06, CT-02, ...
    title: str
    for_path: str  # the manifest node the item is asked for, e.g. lines[0] or "shipment"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "for": self.for_path}


@dataclass(frozen=True, slots=True)
class Presumption:
    applies: bool
    grounds: tuple[Ground, ...] = ()


@dataclass(frozen=True, slots=True)
class Sanctions:
    applies: bool
    lists: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Assessment:
    recommendation: Recommendation
    risk_score: int  # 0..100
    risk_level: str  # from the rule set: low, medium, high, critical
    presumption: Presumption
    sanctions: Sanctions
    findings: tuple[Finding, ...]
    required_evidence: tuple[RequiredEvidence, ...]
    rules_version: str
    lists_version: Mapping[str, str]
    matcher_version: str
    sectors: tuple[str, ...] = ()  # sector ids found on lines or inputs
    # Set on a rebuttal re-assessment: how the evidence answered each finding
    # (app.domain.rebuttal.RebuttalReview.to_dict()); absent on an engine assessment.
    review: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Canonical JSON form (no timestamp: the service adds `assessed_at`)."""
        out: dict[str, Any] = {
            "recommendation": self.recommendation.value,
            "risk_score": self.risk_score,
            "risk_level": self.risk_level,
            "presumption": {
                "applies": self.presumption.applies,
                "grounds": [g.value for g in self.presumption.grounds],
            },
            "sanctions": {"applies": self.sanctions.applies, "lists": list(self.sanctions.lists)},
            "findings": [f.to_dict() for f in self.findings],
            "required_evidence": [r.to_dict() for r in self.required_evidence],
            "sectors": list(self.sectors),
            "rules_version": self.rules_version,
            "lists_version": dict(sorted(self.lists_version.items())),
            "matcher_version": self.matcher_version,
        }
        if self.review is not None:
            out["review"] = dict(self.review)
        return out
