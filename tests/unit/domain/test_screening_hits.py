"""List matches -> findings, grounds and sanctions, by list category and band."""

from __future__ import annotations

import pytest

from app.domain.assessment import Ground, Recommendation
from app.domain.engine import assess
from app.domain.rules import RuleSet
from app.domain.screening import Band, ListMatch, ScreeningResult

from .builders import item, line, manifest, supplier

PATH = "lines[0].inputs[0].supplier"
M = manifest(
    line("9403600000", country_of_origin="US", inputs=[item(supplier=supplier("Acme Co."))])
)


def _hit(list_id: str, score: float, band: Band) -> ScreeningResult:
    match = ListMatch(list_id, "E-1", "Listed Co., Ltd.", "Listed Co", score, band)
    return ScreeningResult(
        matches={PATH: (match,)},
        lists_version={list_id: "2026-11-01"},
        matcher_version="matcher-1",
    )


@pytest.mark.parametrize(
    ("list_id", "score", "band", "code", "ground", "sanctions"),
    [
        ("uflpa", 0.97, Band.STRONG, "ENTITY_LIST_MATCH", Ground.ENTITY_LIST_NEXUS, ()),
        ("uflpa", 0.80, Band.POSSIBLE, "ENTITY_LIST_POSSIBLE_MATCH", None, ()),
        ("uflpa", 0.85, Band.STRONG, "ENTITY_LIST_POSSIBLE_MATCH", None, ()),  # below 0.90
        ("ofac_sdn", 0.95, Band.STRONG, "SANCTIONS_MATCH", None, ("ofac_sdn",)),
        ("eu_2020_1998", 0.92, Band.STRONG, "SANCTIONS_MATCH", None, ("eu_2020_1998",)),
        ("uk", 0.80, Band.POSSIBLE, "SANCTIONS_POSSIBLE_MATCH", None, ()),
        ("bis_entity", 0.99, Band.STRONG, "RESTRICTED_PARTY_MATCH", None, ()),
        ("bis_entity", 0.78, Band.POSSIBLE, "RESTRICTED_PARTY_POSSIBLE_MATCH", None, ()),
        ("some_new_list", 0.99, Band.STRONG, "RESTRICTED_PARTY_MATCH", None, ()),
    ],
)
def test_match_becomes_finding_by_list_category(
    list_id: str,
    score: float,
    band: Band,
    code: str,
    ground: Ground | None,
    sanctions: tuple[str, ...],
    rules: RuleSet,
) -> None:
    screening = _hit(list_id, score, band)
    result = assess(M, rules, screening)
    [finding] = [f for f in result.findings if f.path == PATH]
    assert finding.code == code
    assert finding.ground is ground
    assert finding.evidence == screening.matches[PATH][0].to_dict()
    assert result.sanctions.lists == sanctions
    assert result.presumption.applies is (ground is not None)
    expected = Recommendation.DETAIN if ground or sanctions else Recommendation.ADMIT
    assert result.recommendation is expected
    assert result.lists_version == {list_id: "2026-11-01"}
    assert result.matcher_version == "matcher-1"


def test_match_below_possible_threshold_is_ignored(rules: RuleSet) -> None:
    result = assess(M, rules, _hit("uflpa", 0.60, Band.POSSIBLE))
    assert not [f for f in result.findings if f.path == PATH]


def test_sanctions_are_reported_apart_from_the_presumption(rules: RuleSet) -> None:
    result = assess(M, rules, _hit("ofac_sdn", 0.99, Band.STRONG))
    assert result.sanctions.applies and not result.presumption.applies
    assert result.recommendation is Recommendation.DETAIN
    assert result.risk_score == 100
