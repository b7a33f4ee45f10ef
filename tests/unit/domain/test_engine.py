"""Engine behaviour: where findings point, grounds, sectors, gaps, score and evidence."""

from __future__ import annotations

import pytest

from app.domain.assessment import Ground, Recommendation
from app.domain.engine import assess
from app.domain.rules import RuleSet

from .builders import item, line, manifest, supplier

XJ_SUPPLIER = supplier("Aksu Textile Co., Ltd.", "Aksu, Xinjiang", "CN")


def _codes_at(assessment_findings: object, path: str) -> set[str]:
    return {f.code for f in assessment_findings if f.path == path}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("tier", "expected_path"),
    [
        (1, "lines[0].inputs[0].supplier"),
        (2, "lines[0].inputs[0].inputs[0].supplier"),
        (3, "lines[0].inputs[0].inputs[0].inputs[0].supplier"),
        (4, "lines[0].inputs[0].inputs[0].inputs[0].inputs[0].supplier"),
    ],
)
def test_supplier_nexus_at_any_tier_names_the_exact_node(
    tier: int, expected_path: str, rules: RuleSet
) -> None:
    node = item("raw", country_of_origin="CN", supplier=XJ_SUPPLIER)
    for _ in range(tier - 1):
        node = item("intermediate", country_of_origin="VN", inputs=[node])
    result = assess(manifest(line(inputs=[node])), rules)
    assert result.presumption.applies
    assert result.presumption.grounds == (Ground.XUAR_NEXUS,)
    assert result.recommendation is Recommendation.DETAIN
    xuar = [f for f in result.findings if f.code == "XUAR_PLACE"]
    assert [f.path for f in xuar] == [expected_path]


def test_declared_region_of_an_input_points_at_the_input(rules: RuleSet) -> None:
    raw = item("raw cotton", hts_code="520100", region="Aksu Prefecture", country_of_origin="CN")
    yarn = item("cotton yarn", hts_code="520512", country_of_origin="VN", inputs=[raw])
    result = assess(manifest(line("6109100012", inputs=[item("fabric"), yarn])), rules)
    assert _codes_at(result.findings, "lines[0].inputs[1].inputs[0]") >= {"XUAR_PLACE"}
    assert all(f.ground is None for f in result.findings if f.path == "lines[0].inputs[1]")


def test_xpcc_unit_is_both_grounds_but_xpcc_city_only_xuar(rules: RuleSet) -> None:
    unit = supplier("Some Cotton Co.", "兵团第八师一四三团", "CN")
    city = supplier("Some Cotton Co.", "Shihezi", "CN")
    unit_result = assess(manifest(line(inputs=[item(supplier=unit)])), rules)
    city_result = assess(manifest(line(inputs=[item(supplier=city)])), rules)
    assert unit_result.presumption.grounds == (Ground.XUAR_NEXUS, Ground.ENTITY_LIST_NEXUS)
    xpcc = [f for f in unit_result.findings if f.code == "XPCC_UNIT"]
    assert len(xpcc) == 1 and "XPCC" in str(xpcc[0].evidence["listed_as"])
    assert city_result.presumption.grounds == (Ground.XUAR_NEXUS,)


def test_company_name_embeds_the_place(rules: RuleSet) -> None:
    maker = supplier("Kuche Zongheng Textile Co., Ltd.", None, "CN")
    result = assess(manifest(line(manufacturer=maker)), rules)
    finding = next(f for f in result.findings if f.code == "XUAR_PLACE")
    assert finding.path == "lines[0].manufacturer"
    assert finding.evidence["field"] == "name"
    assert finding.evidence["place"] == "Kuqa City"


def test_shipment_level_party_path(rules: RuleSet) -> None:
    result = assess(
        manifest(line(), parties=[{"name": "Seller", "country": "HK"}, XJ_SUPPLIER]), rules
    )
    assert [f.path for f in result.findings if f.ground] == ["parties[1]"]


@pytest.mark.parametrize(
    ("hts", "sector", "prefix"),
    [
        ("5201000000", "cotton", "5201"),
        ("5208110000", "cotton", "52"),
        ("8541430010", "polysilicon", "854143"),
        ("8541100000", "polysilicon", "8541"),
        ("8507600010", "lithium", "850760"),
        ("8507100000", "batteries", "8507"),
        ("2002900000", "tomatoes", "2002"),
        ("7606120000", "aluminum", "76"),
        ("3918101000", "pvc", "391810"),
        ("0306170000", "seafood", "03"),
        ("2815110000", "caustic_soda", "281511"),
        ("7403110000", "copper", "74"),
        ("7208100000", "steel", "72"),
        ("0813400000", "red_dates", "081340"),
        ("6109100012", "apparel", "61"),
    ],
)
def test_sector_by_longest_hts_prefix(hts: str, sector: str, prefix: str, rules: RuleSet) -> None:
    result = assess(manifest(line(hts)), rules)
    finding = next(f for f in result.findings if f.code.endswith("_SECTOR"))
    assert (finding.evidence["sector"], finding.evidence["matched"]) == (sector, prefix)
    assert result.sectors == (sector,)
    assert not result.presumption.applies


def test_caustic_potash_is_not_caustic_soda(rules: RuleSet) -> None:
    result = assess(manifest(line("2815200000")), rules)
    assert result.sectors == ()


def test_sector_checklist_is_asked_per_line_once(rules: RuleSet) -> None:
    cotton_inputs = [item("cotton yarn", hts_code="520512", country_of_origin="US")] * 2
    result = assess(manifest(line("6109100012", inputs=cotton_inputs), line("9403600000")), rules)
    ids = [(r.id, r.for_path) for r in result.required_evidence]
    assert len(ids) == len(set(ids))
    assert ("CT-02", "lines[0]") in ids
    assert all(path == "lines[0]" for _, path in ids)  # no presumption: no general items


def test_general_items_when_presumption_applies(rules: RuleSet) -> None:
    result = assess(manifest(line(manufacturer=XJ_SUPPLIER)), rules)
    general = [r.id for r in result.required_evidence if r.for_path == "shipment"]
    assert general == list(rules.evidence.when_presumption)
    assert "G-12" not in general


@pytest.mark.parametrize(
    ("node", "gap"),
    [
        (item("polysilicon"), True),
        (item("tomato paste"), True),
        (item("quartz"), True),
        (item("PVC resin"), True),
        (item("aluminium ingot"), True),
        (item("raw", hts_code="520100"), True),
        (item("polysilicon", country_of_origin="DE"), False),
        (item("polysilicon", region="Bavaria"), False),
        (item("polysilicon", supplier=supplier("Wacker", "Burghausen", "DE")), False),
        (item("cardboard boxes"), False),
    ],
)
def test_supply_chain_gap_for_untraced_high_risk_inputs(
    node: dict[str, object], gap: bool, rules: RuleSet
) -> None:
    result = assess(manifest(line("8541430010", country_of_origin="US", inputs=[node])), rules)
    gaps = [f for f in result.findings if f.code == "SUPPLY_CHAIN_GAP"]
    assert [f.path for f in gaps] == (["lines[0].inputs[0]"] if gap else [])
    assert not result.presumption.applies


def test_amplifiers_alone_do_not_set_the_presumption(rules: RuleSet) -> None:
    result = assess(
        manifest(line("6109100012", country_of_origin="CN", inputs=[item("cotton")])), rules
    )
    assert not result.presumption.applies
    assert {f.code for f in result.findings} == {
        "HIGH_PRIORITY_SECTOR",
        "ORIGIN_CHINA",
        "SUPPLY_CHAIN_GAP",
    }
    # 20 (HPS, certain) + 25 (China) + 25 (gap) = 70: high, but below the detain threshold
    assert (result.risk_score, result.risk_level) == (70, "high")
    assert result.recommendation is Recommendation.ADMIT
    assert [r.id for r in result.required_evidence if r.for_path == "shipment"] == list(
        rules.evidence.when_high_risk
    )


def test_clean_manifest_is_low_risk_admit(rules: RuleSet) -> None:
    result = assess(manifest(line("9403600000", country_of_origin="US")), rules)
    assert (result.risk_score, result.risk_level, result.recommendation) == (
        0,
        "low",
        Recommendation.ADMIT,
    )
    assert result.findings == () and result.required_evidence == ()


def test_versions_are_copied(rules: RuleSet) -> None:
    result = assess(manifest(line()), rules)
    assert result.rules_version == rules.version and rules.version.startswith("sha256:")
    assert result.matcher_version == "none" and dict(result.lists_version) == {}


def test_same_inputs_give_identical_output(rules: RuleSet) -> None:
    m = manifest(
        line("6109100012", inputs=[item("cotton", supplier=XJ_SUPPLIER)]),
        line("8541430010", country_of_origin="MY", inputs=[item("polysilicon")]),
        parties=[XJ_SUPPLIER],
    )
    assert assess(m, rules).to_dict() == assess(m, rules).to_dict()


def test_findings_sorted_by_severity_then_path(rules: RuleSet) -> None:
    m = manifest(
        *[line("6109100012", country_of_origin="CN", inputs=[item("cotton")])] * 11,
        parties=[XJ_SUPPLIER],
    )
    findings = assess(m, rules).findings
    assert findings[0].severity.value == "critical"
    gap_paths = [f.path for f in findings if f.code == "SUPPLY_CHAIN_GAP"]
    assert gap_paths[1] == "lines[1].inputs[0]" and gap_paths[-1] == "lines[10].inputs[0]"
