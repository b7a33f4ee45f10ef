"""Rebuttal review: what evidence clears, what stays open, what waits for a reviewer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.domain.assessment import Assessment, Recommendation
from app.domain.engine import assess
from app.domain.manifest import Manifest
from app.domain.manifest_codec import manifest_from_dict
from app.domain.rebuttal import (
    ConditionStatus,
    EvidenceClaim,
    FindingStatus,
    PriorFinding,
    RebuttalKind,
    manifest_paths,
    review_rebuttal,
    reviewed_assessment,
)
from app.domain.rules import RuleSet
from app.domain.screening import Band, ListMatch, ScreeningResult
from tests.unit.domain.builders import item, line, manifest, supplier

EXAMPLE = Path(__file__).resolve().parents[3] / "fixtures" / "manifests" / "example_design.json"
MANUFACTURER = "lines[0].manufacturer"


def _match(score: float, band: Band) -> ListMatch:
    return ListMatch(
        list="uflpa",
        entry_id="uflpa-test-1",
        name="Changji Esquel Textile Co. Ltd.",
        matched_alias="Changji Esquel Textile",
        score=score,
        band=band,
    )


def _cn_tee(**line_fields: Any) -> Manifest:
    """A China-origin cotton T-shirt line: HPS (20) + China (25), inputs traced."""
    fields: dict[str, Any] = {
        "hts_code": "6109100012",
        "description": "cotton knit T-shirts",
        "country_of_origin": "CN",
        "manufacturer": supplier("Changji Esqual Textiles Co", "Guangzhou, Guangdong", "CN"),
    }
    fields.update(line_fields)
    return manifest(line(**fields))


def _assess(m: Manifest, rules: RuleSet, band: Band | None = None) -> Assessment:
    screening = ScreeningResult()
    if band is not None:
        score = 0.95 if band is Band.STRONG else 0.8
        screening = ScreeningResult(matches={MANUFACTURER: (_match(score, band),)})
    return assess(m, rules, screening)


def _status(review: Any, code: str, path: str) -> FindingStatus:
    for finding in review.findings:
        if finding.code == code and finding.path == path:
            status: FindingStatus = finding.status
            return status
    raise AssertionError(f"no {code} at {path}")


def test_possible_match_cleared_by_identity_evidence_admits(rules: RuleSet) -> None:
    m = _cn_tee()
    result = _assess(m, rules, Band.POSSIBLE)
    assert result.recommendation is Recommendation.DETAIN
    assert "ENTITY_LIST_POSSIBLE_MATCH" in {f.code for f in result.findings}

    licence = EvidenceClaim("G-05", (MANUFACTURER,))
    review = review_rebuttal(RebuttalKind.APPLICABILITY, result, [licence], "n", m, rules)

    assert _status(review, "ENTITY_LIST_POSSIBLE_MATCH", MANUFACTURER) is FindingStatus.CLEARED
    cleared = next(f for f in review.findings if f.code == "ENTITY_LIST_POSSIBLE_MATCH")
    assert cleared.answered_by == (0,)
    assert _status(review, "HIGH_PRIORITY_SECTOR", "lines[0]") is FindingStatus.CONTEXT
    assert review.recommendation is Recommendation.ADMIT
    assert review.residual_score < result.risk_score
    assert review.residual_score < rules.scoring.detain_threshold
    assert not review.waits_for_reviewer

    stored = reviewed_assessment(result, review)
    assert stored.recommendation is Recommendation.ADMIT
    assert stored.to_dict()["review"]["summary"]["cleared"] == 1
    assert len(stored.findings) == len(result.findings)  # the engine's findings are kept


def test_identity_evidence_for_another_party_leaves_the_match_open(rules: RuleSet) -> None:
    m = _cn_tee()
    result = _assess(m, rules, Band.POSSIBLE)
    wrong = EvidenceClaim("G-05", ("lines[0]",))
    not_identity = EvidenceClaim("G-06", (MANUFACTURER,))
    review = review_rebuttal(
        RebuttalKind.APPLICABILITY, result, [wrong, not_identity], "n", m, rules
    )
    finding = next(f for f in review.findings if f.code == "ENTITY_LIST_POSSIBLE_MATCH")
    assert finding.status is FindingStatus.OPEN
    assert [(x.path, x.any_of) for x in finding.missing] == [(MANUFACTURER, ("G-05",))]
    assert review.recommendation is Recommendation.DETAIN


def test_strong_match_is_never_cleared_automatically(rules: RuleSet) -> None:
    m = _cn_tee()
    result = _assess(m, rules, Band.STRONG)
    assert result.presumption.applies
    licence = EvidenceClaim("G-05", (MANUFACTURER,))
    review = review_rebuttal(RebuttalKind.APPLICABILITY, result, [licence], "n", m, rules)
    finding = next(f for f in review.findings if f.code == "ENTITY_LIST_MATCH")
    assert finding.status is FindingStatus.NEEDS_REVIEWER
    assert finding.answered_by == (0,)  # listed for the reviewer, not cleared
    assert review.recommendation is Recommendation.DETAIN
    assert review.waits_for_reviewer


def _gap_manifest() -> Manifest:
    # An untraced cotton input (no origin, region or supplier) with a sub-input.
    return _cn_tee(
        country_of_origin="US",
        manufacturer=supplier("Carolina Knits LLC", "Raleigh, NC", "US"),
        inputs=[item("cotton yarn", hts_code="520512", inputs=[item("raw cotton")])],
    )


def test_supply_chain_gap_needs_tracing_at_every_tier(rules: RuleSet) -> None:
    m = _gap_manifest()
    result = _assess(m, rules)
    gap = "lines[0].inputs[0]"
    assert (("SUPPLY_CHAIN_GAP", gap)) in {(f.code, f.path) for f in result.findings}

    top_only = [EvidenceClaim("G-06", (gap,)), EvidenceClaim("G-07", (gap,))]
    review = review_rebuttal(RebuttalKind.APPLICABILITY, result, top_only, "n", m, rules)
    finding = next(f for f in review.findings if f.code == "SUPPLY_CHAIN_GAP" and f.path == gap)
    assert finding.status is FindingStatus.OPEN
    assert {x.path for x in finding.missing} == {"lines[0].inputs[0].inputs[0]"}

    every_tier = [
        EvidenceClaim("G-06", (gap, "lines[0].inputs[0].inputs[0]")),
        EvidenceClaim("G-07", (gap, "lines[0].inputs[0].inputs[0]")),
    ]
    review = review_rebuttal(RebuttalKind.APPLICABILITY, result, every_tier, "n", m, rules)
    assert _status(review, "SUPPLY_CHAIN_GAP", gap) is FindingStatus.CLEARED
    assert review.recommendation is Recommendation.ADMIT


def test_revised_manifest_declaring_the_origin_closes_the_gap(rules: RuleSet) -> None:
    original = _gap_manifest()
    prior = [
        PriorFinding(f.code, f.path, f.severity.value, f.message)
        for f in _assess(original, rules).findings
    ]
    revised = _cn_tee(
        country_of_origin="US",
        manufacturer=supplier("Carolina Knits LLC", "Raleigh, NC", "US"),
        inputs=[item("cotton yarn", hts_code="520512", country_of_origin="US")],
    )
    result = _assess(revised, rules)
    review = review_rebuttal(
        RebuttalKind.APPLICABILITY, result, [], "n", revised, rules, prior_findings=prior
    )
    assert _status(review, "SUPPLY_CHAIN_GAP", "lines[0].inputs[0]") is FindingStatus.CLEARED
    resolved = next(f for f in review.findings if f.code == "SUPPLY_CHAIN_GAP")
    assert resolved.reason == "resolved by the revised manifest"
    assert review.recommendation is Recommendation.ADMIT


def _example() -> Manifest:
    data: dict[str, Any] = json.loads(EXAMPLE.read_text())
    return manifest_from_dict(data)


def test_revision_that_removes_a_xinjiang_input_needs_a_reviewer(rules: RuleSet) -> None:
    original = _example()
    prior = [
        PriorFinding(f.code, f.path, f.severity.value, f.message)
        for f in _assess(original, rules).findings
    ]
    data: dict[str, Any] = json.loads(EXAMPLE.read_text())
    data["lines"][0]["inputs"] = []  # "corrected" away
    revised = manifest_from_dict(data)
    result = _assess(revised, rules)
    assert not result.presumption.applies
    review = review_rebuttal(
        RebuttalKind.APPLICABILITY, result, [], "n", revised, rules, prior_findings=prior
    )
    removed = [f for f in review.findings if f.code == "XUAR_PLACE"]
    assert removed and all(f.status is FindingStatus.NEEDS_REVIEWER for f in removed)
    assert review.recommendation is Recommendation.DETAIN


def test_xinjiang_exception_request_lists_what_is_missing_and_waits(rules: RuleSet) -> None:
    m = _example()
    result = _assess(m, rules)
    evidence = [
        EvidenceClaim("G-01", ()),
        EvidenceClaim("CT-02", ("lines[0].inputs[0].inputs[0]",), language="zh"),
    ]
    review = review_rebuttal(RebuttalKind.EXCEPTION, result, evidence, "short", m, rules)
    grounds = [f for f in review.findings if f.code == "XUAR_PLACE"]
    assert grounds and all(f.status is FindingStatus.NEEDS_REVIEWER for f in grounds)
    assert review.recommendation is Recommendation.DETAIN
    assert review.waits_for_reviewer
    assert review.translations_missing == (1,)

    conditions = {c.id: c for c in review.conditions}
    assert set(conditions) == {
        "full_compliance_with_guidance",
        "complete_and_substantive_responses",
        "clear_and_convincing_evidence",
    }
    assert all(c.status is ConditionStatus.INCOMPLETE for c in conditions.values())
    guidance = conditions["full_compliance_with_guidance"]
    assert "G-01" not in guidance.missing and "G-02" in guidance.missing
    complete = conditions["complete_and_substantive_responses"]
    assert "CT-01 for lines[0]" in complete.missing
    assert "CT-02 for lines[0]" not in complete.missing  # provided, covering a node of line 0
    assert any("translation" in m for m in complete.missing)
    assert any("narrative" in m for m in complete.missing)

    by_node = {(m.for_path, m.group): m.ids for m in review.missing_evidence}
    assert "G-02" in by_node[("shipment", "general")]
    assert "G-01" not in by_node[("shipment", "general")]
    assert "CT-01" in by_node[("lines[0]", "cotton")]
    assert "CT-02" not in by_node[("lines[0]", "cotton")]


def test_complete_exception_request_still_waits_for_a_reviewer(rules: RuleSet) -> None:
    m = _example()
    result = _assess(m, rules)
    everything = sorted(manifest_paths(m))
    evidence = [
        EvidenceClaim(asked.id, tuple(everything), language="en")
        for asked in result.required_evidence
    ]
    review = review_rebuttal(RebuttalKind.EXCEPTION, result, evidence, "x" * 300, m, rules)
    assert review.missing_evidence == ()
    assert all(c.status is ConditionStatus.FOR_REVIEWER for c in review.conditions)
    assert review.recommendation is Recommendation.DETAIN
    assert review.waits_for_reviewer


def test_ambiguous_place_cleared_by_origin_proof(rules: RuleSet) -> None:
    m = manifest(
        line(
            hts_code="9403600000",
            description="wooden chairs",
            manufacturer=supplier("Yiwu Furniture Co", "Yiwu"),
        )
    )
    result = _assess(m, rules)
    codes = {(f.code, f.path) for f in result.findings}
    assert ("XUAR_AMBIGUOUS_PLACE", MANUFACTURER) in codes
    open_review = review_rebuttal(RebuttalKind.APPLICABILITY, result, [], "n", m, rules)
    assert _status(open_review, "XUAR_AMBIGUOUS_PLACE", MANUFACTURER) is FindingStatus.OPEN
    proof = EvidenceClaim("G-08", (MANUFACTURER,))
    review = review_rebuttal(RebuttalKind.APPLICABILITY, result, [proof], "n", m, rules)
    assert _status(review, "XUAR_AMBIGUOUS_PLACE", MANUFACTURER) is FindingStatus.CLEARED
    assert review.recommendation is Recommendation.ADMIT


def test_manifest_paths_cover_every_node(rules: RuleSet) -> None:
    paths = manifest_paths(_example())
    assert {
        "shipment",
        "parties[0]",
        "lines[0]",
        "lines[0].inputs[0]",
        "lines[0].inputs[0].supplier",
        "lines[0].inputs[0].inputs[0]",
        "country_of_origin",
    } <= paths
    assert "lines[1]" not in paths
