"""The `review` section of evidence.yaml: loaded, compiled, and refused when inconsistent."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.domain.codes import FINDING_CODES
from app.domain.rules import ClearingScope
from app.errors import InvalidRules
from app.ruleset import RULE_FILES, load_ruleset, load_ruleset_from_documents

RULES_DIR = Path(__file__).resolve().parents[3] / "rules"


def _broken(old: str, new: str) -> dict[str, str]:
    docs = {name: (RULES_DIR / name).read_text(encoding="utf-8") for name in RULE_FILES}
    assert old in docs["evidence.yaml"], old
    docs["evidence.yaml"] = docs["evidence.yaml"].replace(old, new, 1)
    return docs


def test_every_finding_code_is_classified_once() -> None:
    review = load_ruleset(RULES_DIR).evidence.review
    classified = set(review.reviewer_only) | set(review.clearing) | set(review.context)
    assert classified == FINDING_CODES
    assert "ENTITY_LIST_MATCH" in review.reviewer_only  # strong matches never clear
    assert "XUAR_PLACE" in review.reviewer_only
    gap = review.clearing["SUPPLY_CHAIN_GAP"]
    assert gap.scope is ClearingScope.EVERY_TIER and gap.requires == (("G-06",), ("G-07",))
    assert review.clearing["ENTITY_LIST_POSSIBLE_MATCH"].requires == (("G-05",),)
    assert [c.id for c in review.exception.conditions] == [
        "full_compliance_with_guidance",
        "complete_and_substantive_responses",
        "clear_and_convincing_evidence",
    ]
    assert "review" in load_ruleset(RULES_DIR).to_public_dict()["rules"]["evidence"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "  context: [HIGH_PRIORITY_SECTOR, ENFORCEMENT_SECTOR]",
            "  context: [HIGH_PRIORITY_SECTOR]",
            "ENFORCEMENT_SECTOR are in none of",
        ),
        (
            "  context: [HIGH_PRIORITY_SECTOR, ENFORCEMENT_SECTOR]",
            "  context: [HIGH_PRIORITY_SECTOR, ENFORCEMENT_SECTOR, NEW_CODE]",
            "NEW_CODE",
        ),
        (
            "  context: [HIGH_PRIORITY_SECTOR, ENFORCEMENT_SECTOR]",
            "  context: [HIGH_PRIORITY_SECTOR, ENFORCEMENT_SECTOR, XUAR_PLACE]",
            "duplicate finding code 'XUAR_PLACE'",
        ),
        ("requires: [[G-06], [G-07]]", "requires: [[G-06], [G-77]]", "unknown evidence id 'G-77'"),
        ("requires: [[G-06], [G-07]]", "requires: [[G-06], []]", "at least one evidence id"),
        ("scope: every_tier", "scope: everywhere", "scope"),
        (
            "requires: [G-01, G-02, G-03, G-04, G-13]",
            "requires: [G-01, X-01]",
            "unknown evidence id 'X-01'",
        ),
    ],
)
def test_inconsistent_review_rules_are_refused(old: str, new: str, expected: str) -> None:
    with pytest.raises(InvalidRules) as error:
        load_ruleset_from_documents(_broken(old, new))
    assert error.value.detail.startswith("rules/evidence.yaml: "), error.value.detail
    assert expected in error.value.detail, error.value.detail
