"""Properties over generated supply chains (hypothesis)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.assessment import Recommendation
from app.domain.engine import assess
from app.domain.manifest_codec import manifest_from_dict
from app.domain.rules import RuleSet

CLEAN_PLACES = [
    ("Saigon Garment Co.", "12 Tan Thuan, District 7, Ho Chi Minh City", "VN"),
    ("Delta Cotton LLC", "Greenwood, Mississippi", "US"),
    ("Jiangsu Spinning Co.", "88 Renmin Road, Wuxi, Jiangsu 214000", "CN"),
    ("Hamilton Fibres Ltd", "Hamilton", "NZ"),
    ("Aksu Trading LLP", "Aksu, Pavlodar Region", "KZ"),
    ("Yiwu Smallwares Co.", "Yiwu, Zhejiang", "CN"),
]
XINJIANG_NODES = [
    {"material": "raw cotton", "region": "Aksu Prefecture", "country_of_origin": "CN"},
    {"material": "lint", "supplier": {"name": "Gin", "address": "新疆喀什地区", "country": "CN"}},
    {"material": "MGS", "supplier": {"name": "Smelter", "address": "Shihezi", "country": "CN"}},
    {"material": "paste", "supplier": {"name": "Plant", "address": "兵团第八师", "country": "CN"}},
]
HTS = ["6109100012", "8541430010", "2002900000", "9403600000", "7606120000", ""]
COUNTRIES = ["US", "VN", "CN", "DE", None]

party = st.sampled_from(CLEAN_PLACES).map(
    lambda p: {"name": p[0], "address": p[1], "country": p[2]}
)


def _inputs(depth: int) -> st.SearchStrategy[list[dict[str, Any]]]:
    node = st.fixed_dictionaries(
        {
            "material": st.sampled_from(["cotton", "polysilicon", "paper", "screws"]),
            "hts_code": st.sampled_from(HTS),
            "country_of_origin": st.sampled_from(COUNTRIES),
            "supplier": st.one_of(st.none(), party),
            "inputs": _inputs(depth - 1) if depth > 1 else st.builds(list),
        }
    )
    return st.lists(node, max_size=2)


clean_manifest = st.fixed_dictionaries(
    {
        "reference": st.just("P-1"),
        "importer": st.just("Importer"),
        "country_of_origin": st.sampled_from(COUNTRIES),
        "parties": st.lists(party, max_size=2),
        "lines": st.lists(
            st.fixed_dictionaries(
                {
                    "line_number": st.just(1),
                    "hts_code": st.sampled_from([h for h in HTS if h]),
                    "description": st.just("goods"),
                    "country_of_origin": st.sampled_from(COUNTRIES),
                    "manufacturer": st.one_of(st.none(), party),
                    "inputs": _inputs(3),
                }
            ),
            min_size=1,
            max_size=3,
        ),
    }
)

RANK = {Recommendation.ADMIT: 0, Recommendation.DETAIN: 1}
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _add_at(data: dict[str, Any], choice: int, node: dict[str, Any]) -> None:
    """Attach `node` as an input somewhere in the tree (choice picks the spot)."""
    spots: list[list[dict[str, Any]]] = []

    def walk(inputs: list[dict[str, Any]]) -> None:
        spots.append(inputs)
        for child in inputs:
            walk(child["inputs"])

    for line in data["lines"]:
        walk(line["inputs"])
    spots[choice % len(spots)].append(dict(node, inputs=[]))


@SETTINGS
@given(clean_manifest, st.integers(min_value=0), st.sampled_from(XINJIANG_NODES))
def test_adding_a_xinjiang_input_anywhere_never_lowers_the_outcome(
    rules: RuleSet, data: dict[str, Any], where: int, node: dict[str, Any]
) -> None:
    before = assess(manifest_from_dict(data), rules)
    data = copy.deepcopy(data)  # never mutate what hypothesis generated
    _add_at(data, where, node)
    after = assess(manifest_from_dict(data), rules)
    assert after.presumption.applies
    assert after.recommendation is Recommendation.DETAIN
    assert RANK[after.recommendation] >= RANK[before.recommendation]
    assert after.risk_score >= before.risk_score
    assert set(before.presumption.grounds) <= set(after.presumption.grounds)


@SETTINGS
@given(clean_manifest, st.lists(st.integers(min_value=0), min_size=1, max_size=3))
def test_removing_every_nexus_never_leaves_the_presumption_applied(
    rules: RuleSet, data: dict[str, Any], spots: list[int]
) -> None:
    clean = assess(manifest_from_dict(data), rules)
    tainted = copy.deepcopy(data)
    for n, spot in enumerate(spots):
        _add_at(tainted, spot, XINJIANG_NODES[n % len(XINJIANG_NODES)])
    assert assess(manifest_from_dict(tainted), rules).presumption.applies
    _remove_xinjiang(tainted)
    cleaned = assess(manifest_from_dict(tainted), rules)
    assert not cleaned.presumption.applies
    assert not any(f.ground for f in cleaned.findings)
    assert not clean.presumption.applies
    assert cleaned.to_dict() == clean.to_dict()


def _remove_xinjiang(data: dict[str, Any]) -> None:
    def prune(inputs: list[dict[str, Any]]) -> None:
        inputs[:] = [i for i in inputs if dict(i, inputs=[]) not in XINJIANG_TEMPLATES]
        for child in inputs:
            prune(child["inputs"])

    for line in data["lines"]:
        prune(line["inputs"])


XINJIANG_TEMPLATES = [dict(node, inputs=[]) for node in XINJIANG_NODES]
