"""The assessment engine: manifest + rule set + list matches -> assessment.

Pure and deterministic: no I/O, no clock, no randomness; the same inputs give the same
`Assessment.to_dict()`. The steps, each in its own module:

1. Xinjiang nexus on every node at every tier (regions.py) -> XUAR_* and XPCC_UNIT findings.
2. Entity-list and sanctions matches per party (screening_hits.py).
3. Amplifiers: sectors by HTS/material (sectors.py), origin countries, supply-chain gaps.
4. Score, level, recommendation (scoring.py) and the evidence CBP will ask for (evidence.py).
"""

from __future__ import annotations

from app.domain.assessment import Assessment, Finding, Ground, Presumption, Sanctions
from app.domain.evidence import required_evidence
from app.domain.findings import (
    gap_finding,
    origin_finding,
    region_findings,
    sector_finding,
    severity_rank,
)
from app.domain.manifest import Input, Line, Manifest, Party, iter_inputs, iter_parties
from app.domain.paths import path_sort_key
from app.domain.regions import EMPTY_SCAN, RegionScan, TextField, scan_node
from app.domain.rules import RuleSet, Sector
from app.domain.scoring import recommend, risk_score
from app.domain.screening import EMPTY_SCREENING, ScreeningResult
from app.domain.screening_hits import screening_findings
from app.domain.sectors import sector_for, sector_for_hts


def scan_party(party: Party, rules: RuleSet) -> RegionScan:
    fields = [TextField("name", party.name)]
    if party.address:
        fields.append(TextField("address", party.address))
    if party.region:
        fields.append(TextField("region", party.region))
    if party.postcode:
        fields.append(TextField("postcode", party.postcode))
    return scan_node(fields, party.country, rules.regions, party.identifiers)


def scan_line(line: Line, rules: RuleSet) -> RegionScan:
    fields = [TextField("description", line.description)]
    if line.region:
        fields.append(TextField("region", line.region))
    return scan_node(fields, line.country_of_origin, rules.regions)


def scan_input(item: Input, rules: RuleSet) -> RegionScan:
    fields = []
    if item.region:
        fields.append(TextField("region", item.region))
    if item.material:
        fields.append(TextField("material", item.material))
    if not fields:
        return EMPTY_SCAN
    return scan_node(fields, item.country_of_origin, rules.regions)


def _origin(findings: list[Finding], path: str, country: str | None, rules: RuleSet) -> None:
    if country:
        finding = origin_finding(path, country.upper(), exported=False, rules=rules)
        if finding is not None:
            findings.append(finding)


def _add_sector(sectors: dict[int, list[Sector]], line_index: int, sector: Sector) -> None:
    bucket = sectors.setdefault(line_index, [])
    if sector not in bucket:
        bucket.append(sector)


def assess(
    manifest: Manifest, rules: RuleSet, screening: ScreeningResult = EMPTY_SCREENING
) -> Assessment:
    findings: list[Finding] = []
    sectors_by_line: dict[int, list[Sector]] = {}

    for li, line in enumerate(manifest.lines):
        path = f"lines[{li}]"
        findings.extend(region_findings(path, scan_line(line, rules), rules))
        line_sector = sector_for_hts(line.hts_code, rules.sectors)
        if line_sector is not None:
            _add_sector(sectors_by_line, li, line_sector.sector)
            findings.append(sector_finding(path, line.hts_code, line_sector, rules))
        _origin(findings, path, line.country_of_origin, rules)

    for node in iter_inputs(manifest):
        item = node.input
        findings.extend(region_findings(node.path, scan_input(item, rules), rules))
        match = sector_for(item.hts_code, item.material, rules.sectors)
        if match is not None:
            _add_sector(sectors_by_line, node.line_index, match.sector)
            findings.append(sector_finding(node.path, item.hts_code, match, rules))
            if not (item.country_of_origin or item.region or item.supplier):
                findings.append(gap_finding(node.path, item.material, match, rules))
        _origin(findings, node.path, item.country_of_origin, rules)

    party_names: dict[str, str] = {}
    party_scans: dict[Party, RegionScan] = {}  # a supplier often recurs across lines and tiers
    for path, party in iter_parties(manifest):
        party_names[path] = party.name
        scan = party_scans.get(party)
        if scan is None:
            scan = party_scans[party] = scan_party(party, rules)
        findings.extend(region_findings(path, scan, rules))

    _origin(findings, "country_of_origin", manifest.country_of_origin, rules)
    if manifest.country_of_export:
        exported = origin_finding(
            "country_of_export", manifest.country_of_export.upper(), exported=True, rules=rules
        )
        if exported is not None:
            findings.append(exported)

    findings.extend(screening_findings(screening, party_names, rules.scoring))
    path_keys = {f.path: path_sort_key(f.path) for f in findings}
    findings.sort(
        key=lambda f: (
            severity_rank(f.severity),
            path_keys[f.path],
            f.code,
            f.rule_id or "",
            f.message,
        )
    )

    grounds = tuple(g for g in Ground if any(f.ground is g for f in findings))
    sanctions_lists = tuple(sorted({f.sanctions_list for f in findings if f.sanctions_list}))
    score = risk_score(findings, rules.scoring)
    level = rules.scoring.level_for(score)
    presumption = Presumption(applies=bool(grounds), grounds=grounds)
    sanctions = Sanctions(applies=bool(sanctions_lists), lists=sanctions_lists)
    sector_ids = {s.id for bucket in sectors_by_line.values() for s in bucket}
    return Assessment(
        recommendation=recommend(presumption.applies, sanctions.applies, score, rules.scoring),
        risk_score=score,
        risk_level=level,
        presumption=presumption,
        sanctions=sanctions,
        findings=tuple(findings),
        required_evidence=required_evidence(
            rules.evidence,
            presumption.applies,
            level,
            {
                li: sorted(bucket, key=lambda s: rules.sectors.sector_index(s.id))
                for li, bucket in sectors_by_line.items()
            },
        ),
        rules_version=rules.version,
        lists_version=dict(screening.lists_version),
        matcher_version=screening.matcher_version,
        sectors=tuple(s.id for s in rules.sectors.sectors if s.id in sector_ids),
    )
