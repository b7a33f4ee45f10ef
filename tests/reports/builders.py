"""Shipments for the report tests: a detained multi-tier cotton shipment answered with a dozen
exhibits, and a large generated one (5 lines x 4 tiers x 3 inputs) for map readability.

Assessments come from the real engine and rule set, so the findings are the ones a user sees.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from app.domain.engine import assess
from app.domain.manifest_codec import manifest_from_dict
from app.domain.rules import RuleSet
from app.domain.screening import Band, ListMatch, ScreeningResult
from app.reports.chain import FindingCategory, category_of
from app.reports.model import (
    ExhibitFacts,
    ExhibitFile,
    FindingAnswer,
    KeyDate,
    RebuttalFacts,
    ShipmentFacts,
    ShipmentReport,
)
from app.ruleset import load_ruleset

ROOT = Path(__file__).resolve().parents[2]
SPINNER = "江苏华纺纺织有限公司"
WEAVER = "浙江金华织造有限公司"


@cache
def rules() -> RuleSet:
    return load_ruleset(ROOT / "rules")


def cotton_manifest() -> dict[str, Any]:
    """Two apparel lines; line 1 has a Xinjiang raw-cotton input at tier 3 and an untraced
    sewing thread; line 2's fabric weighs more than the yarn declared for it."""
    return {
        "reference": "ENTRY-2026-000777",
        "importer": "Acme Apparel Inc",
        "entry_date": "2026-11-20",
        "country_of_origin": "VN",
        "country_of_export": "VN",
        "parties": [
            {"role": "manufacturer", "name": "Saigon Garment Co., Ltd.",
             "address": "12 Tan Thuan, District 7, Ho Chi Minh City", "country": "VN"},
            {"role": "seller", "name": "Pacific Trading Ltd.", "country": "HK"},
        ],
        "lines": [
            {
                "line_number": 1, "hts_code": "6109100012",
                "description": "Men's cotton knit T-shirts", "quantity": 1200, "unit": "PCS",
                "value": 8400.0, "currency": "USD", "country_of_origin": "VN",
                "inputs": [
                    {"material": "knitted cotton fabric", "hts_code": "600622",
                     "country_of_origin": "VN", "quantity": 600, "unit": "KG",
                     "supplier": {"name": "Dong Nai Knitting Mill", "address": "Bien Hoa, Dong Nai",
                                  "country": "VN"},
                     "inputs": [
                         {"material": "cotton yarn", "hts_code": "520512",
                          "country_of_origin": "CN", "quantity": 650, "unit": "KG",
                          "supplier": {"name": SPINNER, "address": "江苏省无锡市新吴区长江路88号",
                                       "country": "CN"},
                          "inputs": [
                              {"material": "raw cotton", "hts_code": "520100",
                               "region": "Aksu Prefecture", "country_of_origin": "CN",
                               "quantity": 200, "unit": "KG"},
                              {"material": "raw cotton", "hts_code": "520100", "region": "Texas",
                               "country_of_origin": "US", "quantity": 500, "unit": "KG",
                               "supplier": {"name": "Lubbock Cotton Growers Cooperative",
                                            "address": "Lubbock, TX", "country": "US"}},
                          ]},
                     ]},
                    {"material": "cotton sewing thread", "hts_code": "520411", "quantity": 20,
                     "unit": "KG"},
                ],
            },
            {
                "line_number": 2, "hts_code": "6205200000",
                "description": "Men's woven cotton shirts", "quantity": 800, "unit": "PCS",
                "value": 9600.0, "currency": "USD", "country_of_origin": "VN",
                "inputs": [
                    {"material": "woven cotton fabric", "hts_code": "520852",
                     "country_of_origin": "CN", "quantity": 900, "unit": "KG",
                     "supplier": {"name": WEAVER, "address": "浙江省金华市婺城区", "country": "CN"},
                     "inputs": [
                         {"material": "cotton yarn", "hts_code": "520521",
                          "country_of_origin": "CN", "quantity": 800, "unit": "kg",
                          "supplier": {"name": SPINNER, "address": "江苏省无锡市新吴区长江路88号",
                                       "country": "CN"},
                          "inputs": [
                              {"material": "raw cotton", "hts_code": "520100", "region": "Texas",
                               "country_of_origin": "US", "quantity": 1100, "unit": "KG"},
                          ]},
                     ]},
                ],
            },
        ],
    }  # fmt: skip


def _possible_match(path: str, name: str) -> ScreeningResult:
    match = ListMatch(
        list="uflpa",
        entry_id="uflpa-test-1",
        name="Zhejiang Jinhua Weaving Group",
        matched_alias=name,
        score=0.8,
        band=Band.POSSIBLE,
        explanation={"note": "test"},
    )
    return ScreeningResult(
        matches={path: (match,)}, lists_version={"uflpa": "2026-11-01"}, matcher_version="test-1"
    )


def assessment_for(
    data: dict[str, Any], screening: ScreeningResult | None = None
) -> dict[str, Any]:
    result = assess(manifest_from_dict(data), rules(), screening or ScreeningResult())
    return result.to_dict()


def _file(name: str, seed: int, media_type: str = "application/pdf") -> ExhibitFile:
    return ExhibitFile(sha256=f"{seed:02x}" * 32, file_name=name, media_type=media_type, size=1000)


def cotton_exhibits() -> tuple[ExhibitFacts, ...]:
    def ex(
        number: int,
        cid: str,
        title: str,
        covers: tuple[str, ...],
        issuer: str,
        language: str = "en",
        translated: bool = False,
    ) -> ExhibitFacts:
        return ExhibitFacts(
            number=number,
            checklist_id=cid,
            title=title,
            covers=covers,
            issuer=issuer,
            issued_on=date(2026, 10, number),
            language=language,
            files=(_file(f"{title.lower().replace(' ', '_')}.pdf", number),),
            translation=_file(f"{cid}-translation.pdf", 100 + number) if translated else None,
        )

    fabric, yarn = "lines[0].inputs[0]", "lines[0].inputs[0].inputs[0]"
    us_cotton = "lines[0].inputs[0].inputs[0].inputs[1]"
    return (
        ex(1, "G-01", "Forced labour policy", ("shipment",), "Acme Apparel Inc"),
        ex(2, "G-05", "Entities at every step", ("shipment",), "Acme Apparel Inc"),
        ex(3, "G-06", "Fabric invoices", (fabric,), "Dong Nai Knitting Mill", "vi", True),
        ex(4, "G-07", "Knitting production records", (fabric,), "Dong Nai Knitting Mill", "vi"),
        ex(5, "CT-04", "Spinning laydown records", (yarn,), SPINNER, "zh", True),
        ex(6, "CT-08", "Yarn payment records", (yarn, f"{yarn}.supplier"), SPINNER, "zh"),
        ex(7, "CT-01", "Bale IDs and grower contracts", (us_cotton,), "Lubbock Cotton Growers"),
        ex(8, "CT-02", "Ginning records", (us_cotton,), "Lubbock Cotton Growers"),
        ex(9, "G-06", "Garment invoices and packing lists", ("lines[0]", "lines[1]"),
           "Saigon Garment Co., Ltd."),
        ex(10, "CT-06", "Cutting tickets and production orders", ("lines[0]", "lines[1]"),
           "Saigon Garment Co., Ltd."),
        ex(11, "G-13", "Entity List screening results", ("shipment",), "Acme Apparel Inc"),
        ex(12, "CT-05", "Weaving records", ("lines[1].inputs[0]",), WEAVER, "zh", True),
    )  # fmt: skip


# Nodes of the cotton shipment that no exhibit covers.
COTTON_UNCOVERED = (
    "lines[0].inputs[0].inputs[0].inputs[0]",
    "lines[0].inputs[1]",
    "lines[1].inputs[0].inputs[0]",
    "lines[1].inputs[0].inputs[0].inputs[0]",
)


def statuses_for(findings: list[dict[str, Any]]) -> tuple[FindingAnswer, ...]:
    """What a re-assessment would say: nexus findings wait for a reviewer, risk facts are
    context, the rest stay open."""
    out = []
    for finding in findings:
        category = category_of(finding)
        status = {
            FindingCategory.XINJIANG: "needs_reviewer",
            FindingCategory.RISK: "context",
        }.get(category, "open")
        out.append(FindingAnswer(finding["code"], finding["path"], status, "test review"))
    return tuple(out)


def cotton_report(**overrides: Any) -> ShipmentReport:
    data = cotton_manifest()
    assessment = assessment_for(data, _possible_match("lines[1].inputs[0].supplier", WEAVER))
    rebuttal = RebuttalFacts(
        rebuttal_id="7d3f7c55-0000-4000-8000-000000000001",
        kind="applicability",
        narrative=(
            "The raw cotton in line 1 comes from Texas (Exhibits 7 and 8); the Xinjiang lot "
            "declared by the spinner was not used for this order (Exhibit 5)."
        ),
        submitted_at=datetime(2026, 11, 28, 9, 30, tzinfo=UTC),
        findings=statuses_for(assessment["findings"]),
    )
    shipment = ShipmentFacts(
        shipment_id="0b5c2f0e-0000-4000-8000-000000000777",
        reference=data["reference"],
        importer=data["importer"],
        status="rebuttal_submitted",
        entry_date=date(2026, 11, 20),
        dates=(
            KeyDate("Presented to CBP", date(2026, 11, 20)),
            KeyDate("Notice of detention", date(2026, 11, 25)),
            KeyDate("Response due", date(2026, 12, 25), is_deadline=True),
            KeyDate("Deemed excluded", date(2026, 12, 20), is_deadline=True),
        ),
    )
    fields: dict[str, Any] = {
        "shipment": shipment,
        "manifest": manifest_from_dict(copy.deepcopy(data)),
        "assessment": assessment,
        "rebuttal": rebuttal,
        "exhibits": cotton_exhibits(),
        "generated_at": datetime(2026, 11, 28, 10, 0, tzinfo=UTC),
    }
    fields.update(overrides)
    return ShipmentReport(**fields)


TIER_MATERIALS = ("cotton fabric", "cotton yarn", "ginned cotton", "seed cotton")
TIER_HTS = ("520812", "520512", "520100", "520100")


def large_manifest(lines: int = 5, tiers: int = 4, per_tier: int = 3) -> dict[str, Any]:
    """`lines` lines, each with `per_tier` inputs at every tier down to `tiers` (chains)."""
    places = [("Jiangsu", "CN", "无锡棉纺织有限公司"), ("Texas", "US", "West Texas Gin LLC"),
              ("Aksu Prefecture", "CN", "阿克苏棉业有限公司"), (None, None, None),
              ("Gujarat", "IN", "Ahmedabad Spinners Pvt Ltd")]  # fmt: skip
    counter = 0

    def chain(tier: int, line: int, branch: int) -> dict[str, Any]:
        nonlocal counter
        counter += 1
        region, country, supplier = places[(counter + line) % len(places)]
        node: dict[str, Any] = {
            "material": TIER_MATERIALS[(tier - 1) % len(TIER_MATERIALS)],
            "hts_code": TIER_HTS[(tier - 1) % len(TIER_HTS)],
            "quantity": 1000 + 100 * tier,
            "unit": "KG",
        }
        if country:
            node["country_of_origin"] = country
            node["region"] = region
            node["supplier"] = {"name": f"{supplier} {line}-{branch}-{tier}", "country": country}
        if tier < tiers:
            node["inputs"] = [chain(tier + 1, line, branch)]
        return node

    return {
        "reference": "ENTRY-2026-LARGE",
        "importer": "Acme Apparel Inc",
        "entry_date": "2026-11-20",
        "country_of_origin": "VN",
        "lines": [
            {"line_number": i + 1, "hts_code": "6109100012", "description": f"Cotton garments {i + 1}",
             "quantity": 1000, "unit": "PCS", "country_of_origin": "VN",
             "inputs": [chain(1, i, b) for b in range(per_tier)]}
            for i in range(lines)
        ],
    }  # fmt: skip


def large_report() -> ShipmentReport:
    data = large_manifest()
    manifest = manifest_from_dict(data)
    assessment = assessment_for(data)
    exhibits = tuple(
        ExhibitFacts(
            number=i + 1,
            checklist_id="G-06",
            title=f"Invoices line {i + 1}",
            covers=(f"lines[{i}]", f"lines[{i}].inputs[0]"),
            files=(_file(f"invoices-{i}.pdf", i),),
        )
        for i in range(5)
    )
    shipment = ShipmentFacts("large", data["reference"], data["importer"], "detained")
    return ShipmentReport(shipment, manifest, assessment, None, exhibits)
