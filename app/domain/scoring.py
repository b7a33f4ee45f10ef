"""Risk score, level and recommendation (formula in rules/README.md)."""

from __future__ import annotations

from collections.abc import Sequence

from app.domain.assessment import Finding, Recommendation
from app.domain.codes import FindingCode
from app.domain.rules import ScoringRules

_SECTOR_CODES = frozenset({FindingCode.HIGH_PRIORITY_SECTOR, FindingCode.ENFORCEMENT_SECTOR})


def finding_points(finding: Finding, scoring: ScoringRules) -> float:
    weight = float(scoring.findings[finding.code].weight)
    if finding.code in _SECTOR_CODES:
        certainty = str(finding.evidence.get("certainty", ""))
        weight *= scoring.certainty_factor.get(certainty, 1.0)
    return weight


def risk_score(findings: Sequence[Finding], scoring: ScoringRules) -> int:
    """Sum over distinct codes of the code's strongest finding, capped at 100."""
    best: dict[str, float] = {}
    for finding in findings:
        points = finding_points(finding, scoring)
        if points > best.get(finding.code, -1.0):
            best[finding.code] = points
    # round half up, so 37.5 -> 38 on every platform
    return min(100, int(sum(best.values()) + 0.5))


def recommend(
    presumption: bool, sanctions: bool, score: int, scoring: ScoringRules
) -> Recommendation:
    if presumption or sanctions or score >= scoring.detain_threshold:
        return Recommendation.DETAIN
    return Recommendation.ADMIT
