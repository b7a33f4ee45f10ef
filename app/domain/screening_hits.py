"""Turn entity-list matches (computed by app.screening) into findings.

What a match means depends on its list's category in rules/scoring.yaml: the UFLPA list is
a presumption ground, blocking sanctions lists are their own detain ground, everything else
(BIS Entity List, non-SDN lists, unknown lists) only raises risk. The rule set's band
thresholds bound the matcher's band: a "strong" match scoring below `match.strong` counts as
possible, and a match below `match.possible` is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.domain.assessment import Finding, Ground
from app.domain.codes import FindingCode
from app.domain.paths import path_sort_key
from app.domain.rules import ScoringRules
from app.domain.screening import Band, ListMatch, ScreeningResult


def effective_band(match: ListMatch, scoring: ScoringRules) -> Band | None:
    if match.band is Band.STRONG and match.score >= scoring.match_strong:
        return Band.STRONG
    if match.score >= scoring.match_possible:
        return Band.POSSIBLE
    return None


def _category(list_id: str, scoring: ScoringRules) -> str:
    if list_id in scoring.presumption_lists:
        return "presumption"
    if list_id in scoring.sanctions_lists:
        return "sanctions"
    return "amplifier"


_CODES = {
    ("presumption", Band.STRONG): FindingCode.ENTITY_LIST_MATCH,
    ("presumption", Band.POSSIBLE): FindingCode.ENTITY_LIST_POSSIBLE_MATCH,
    ("sanctions", Band.STRONG): FindingCode.SANCTIONS_MATCH,
    ("sanctions", Band.POSSIBLE): FindingCode.SANCTIONS_POSSIBLE_MATCH,
    ("amplifier", Band.STRONG): FindingCode.RESTRICTED_PARTY_MATCH,
    ("amplifier", Band.POSSIBLE): FindingCode.RESTRICTED_PARTY_POSSIBLE_MATCH,
}

_MESSAGES = {
    FindingCode.ENTITY_LIST_MATCH: "{party} matches UFLPA Entity List entry {name!r} ({score}): "
    "goods produced by a listed entity are presumed made with forced labour",
    FindingCode.ENTITY_LIST_POSSIBLE_MATCH: "{party} possibly matches UFLPA Entity List entry "
    "{name!r} ({score}); confirm or rule out the identity",
    FindingCode.SANCTIONS_MATCH: "{party} matches {list} sanctions entry {name!r} ({score})",
    FindingCode.SANCTIONS_POSSIBLE_MATCH: "{party} possibly matches {list} sanctions entry "
    "{name!r} ({score}); confirm or rule out the identity",
    FindingCode.RESTRICTED_PARTY_MATCH: "{party} matches {list} entry {name!r} ({score}); "
    "not a UFLPA ground, raises risk",
    FindingCode.RESTRICTED_PARTY_POSSIBLE_MATCH: "{party} possibly matches {list} entry "
    "{name!r} ({score})",
}


def screening_findings(
    screening: ScreeningResult,
    party_names: Mapping[str, str],
    scoring: ScoringRules,
) -> list[Finding]:
    findings: list[Finding] = []
    for path in sorted(screening.matches, key=path_sort_key):
        party = party_names.get(path, path)
        for match in sorted(screening.matches[path], key=lambda m: (m.list, m.entry_id)):
            band = effective_band(match, scoring)
            if band is None:
                continue
            code = _CODES[(_category(match.list, scoring), band)]
            rule = scoring.findings[code.value]
            findings.append(
                Finding(
                    code=code.value,
                    severity=rule.severity,
                    path=path,
                    message=_MESSAGES[code].format(
                        party=repr(party),
                        name=match.name,
                        score=f"{match.score:.2f}",
                        list=match.list,
                    ),
                    evidence=match.to_dict(),
                    rule_id=f"scoring.lists.{_category(match.list, scoring)}",
                    ground=Ground.ENTITY_LIST_NEXUS
                    if code is FindingCode.ENTITY_LIST_MATCH
                    else None,
                    sanctions_list=match.list if code is FindingCode.SANCTIONS_MATCH else None,
                )
            )
    return findings
