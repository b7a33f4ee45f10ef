"""Build findings (code, severity, path, message, evidence) from what the detectors found."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.domain.assessment import Finding, Ground, Severity
from app.domain.codes import FindingCode
from app.domain.regions import HitKind, RegionHit, RegionScan
from app.domain.rules import RuleSet, ScoringRules
from app.domain.sectors import SectorMatch

_SEVERITY_RANK = {
    Severity.CRITICAL: 0,
    Severity.HIGH: 1,
    Severity.MEDIUM: 2,
    Severity.LOW: 3,
    Severity.INFO: 4,
}


def severity_rank(severity: Severity) -> int:
    return _SEVERITY_RANK[severity]


def _finding(
    scoring: ScoringRules,
    code: FindingCode,
    path: str,
    message: str,
    evidence: dict[str, Any],
    rule_id: str | None,
    ground: Ground | None = None,
) -> Finding:
    rule = scoring.findings[code.value]
    return Finding(
        code=code.value,
        severity=rule.severity,
        path=path,
        message=message,
        evidence=evidence,
        rule_id=rule_id,
        ground=ground,
    )


def _hits_evidence(hits: Sequence[RegionHit]) -> dict[str, Any]:
    first = hits[0].evidence()
    evidence: dict[str, Any] = dict(first)
    if len(hits) > 1:
        evidence["also"] = [h.evidence() for h in hits[1:]]
    return evidence


def _describe(hit: RegionHit) -> str:
    if hit.spelling.casefold() == hit.label.casefold():
        return f"{hit.label!r} in {hit.field}"
    return f"{hit.label!r} (written {hit.spelling!r}) in {hit.field}"


def region_findings(path: str, scan: RegionScan, rules: RuleSet) -> list[Finding]:
    if not scan.nexus and not scan.ambiguous:
        return []
    scoring = rules.scoring
    out: list[Finding] = []
    places = [h for h in scan.nexus if h.kind in (HitKind.REGION, HitKind.PLACE, HitKind.XPCC_UNIT)]
    postcodes = [h for h in scan.nexus if h.kind is HitKind.POSTCODE]
    registrations = [h for h in scan.nexus if h.kind is HitKind.REGISTRATION]
    if places:
        out.append(
            _finding(
                scoring,
                FindingCode.XUAR_PLACE,
                path,
                f"{_describe(places[0])}: located in the Xinjiang Uyghur Autonomous Region; "
                "goods made wholly or in part there are presumed made with forced labour",
                _hits_evidence(places),
                places[0].rule_id,
                Ground.XUAR_NEXUS,
            )
        )
    if postcodes:
        out.append(
            _finding(
                scoring,
                FindingCode.XUAR_POSTCODE,
                path,
                f"Chinese postcode {postcodes[0].spelling} in {postcodes[0].field} is a Xinjiang "
                "postcode (83xxxx/84xxxx)",
                _hits_evidence(postcodes),
                postcodes[0].rule_id,
                Ground.XUAR_NEXUS,
            )
        )
    if registrations:
        out.append(
            _finding(
                scoring,
                FindingCode.XUAR_REGISTRATION,
                path,
                f"registration code {registrations[0].text!r} names Xinjiang authority "
                f"{registrations[0].code} (65xxxx): the company is registered in the XUAR",
                _hits_evidence(registrations),
                registrations[0].rule_id,
                Ground.XUAR_NEXUS,
            )
        )
    units = scan.xpcc_units
    if units:
        evidence = _hits_evidence(units)
        evidence["listed_as"] = rules.regions.xpcc_listed_as
        out.append(
            _finding(
                scoring,
                FindingCode.XPCC_UNIT,
                path,
                f"{_describe(units[0])}: an XPCC unit; the XPCC and its subordinate and "
                "affiliated entities are on the UFLPA Entity List",
                evidence,
                units[0].rule_id,
                Ground.ENTITY_LIST_NEXUS,
            )
        )
    if scan.ambiguous:
        first = scan.ambiguous[0]
        out.append(
            _finding(
                scoring,
                FindingCode.XUAR_AMBIGUOUS_PLACE,
                path,
                f"{first.spelling!r} in {first.field} may be {first.label} (Xinjiang) or a "
                "place of the same name elsewhere; confirm the location",
                _hits_evidence(scan.ambiguous),
                first.rule_id,
            )
        )
    return out


def sector_finding(path: str, hts_code: str | None, match: SectorMatch, rules: RuleSet) -> Finding:
    code = (
        FindingCode.HIGH_PRIORITY_SECTOR
        if match.sector.high_priority
        else FindingCode.ENFORCEMENT_SECTOR
    )
    what = (
        "a UFLPA high-priority sector"
        if match.sector.high_priority
        else "a sector with UFLPA enforcement history"
    )
    basis = (
        f"HTS {hts_code} (prefix {match.matched}, {match.certainty})"
        if match.basis == "hts"
        else f"material keyword {match.matched!r}"
    )
    evidence: dict[str, Any] = match.evidence()
    if hts_code:
        evidence["hts_code"] = hts_code
    return _finding(
        rules.scoring,
        code,
        path,
        f"{match.sector.title} is {what}: {basis}",
        evidence,
        f"sectors.{match.sector.id}",
    )


def gap_finding(path: str, material: str | None, match: SectorMatch, rules: RuleSet) -> Finding:
    label = material or match.sector.title
    return _finding(
        rules.scoring,
        FindingCode.SUPPLY_CHAIN_GAP,
        path,
        f"high-risk input {label!r} ({match.sector.title}) declares no country of origin, "
        "region or supplier: its origin cannot be traced",
        {"material": material, **match.evidence()},
        f"sectors.{match.sector.id}",
    )


def origin_finding(path: str, country: str, exported: bool, rules: RuleSet) -> Finding | None:
    scoring = rules.scoring
    verb = "exported from" if exported else "origin"
    if country in scoring.china:
        return _finding(
            scoring,
            FindingCode.ORIGIN_CHINA,
            path,
            f"{verb} {country}: China-origin goods and inputs carry XUAR supply-chain risk",
            {"country": country},
            "scoring.origin.china",
        )
    if country in scoring.transshipment_concern:
        return _finding(
            scoring,
            FindingCode.ORIGIN_TRANSSHIPMENT,
            path,
            f"{verb} {country}: a country of transshipment or third-country processing concern",
            {"country": country},
            "scoring.origin.transshipment_concern",
        )
    return None
