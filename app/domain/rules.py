"""The rule set as the engine sees it: frozen, validated, precompiled.

`app.ruleset` builds these objects from the YAML files in `rules/` (validation, hashing,
traditional-to-simplified folding, regex compilation). The domain only reads them, so
assessing never parses YAML or compiles a pattern.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.domain.assessment import Severity
from app.domain.memo import Memo

# Distinct (fields, country, identifiers) of scanned nodes kept per rule set: a few MB.
SCAN_MEMO_SIZE = 20_000
EVIDENCE_MEMO_SIZE = 5_000  # distinct (general items, sectors per line) combinations


class Needs(StrEnum):
    """What context a Xinjiang term needs before it counts as a nexus."""

    NONE = "none"  # unambiguous: fires on its own
    CHINA = "china"  # look-alike abroad: needs country CN, Chinese script or Xinjiang context
    XINJIANG = "xinjiang"  # look-alike inside China: needs another Xinjiang token


class TermKind(StrEnum):
    REGION = "region"  # Xinjiang as a whole
    PLACE = "place"  # prefecture, city, county, district, XPCC city
    XPCC = "xpcc"  # an XPCC unit name (Bingtuan, XPCC ...)
    FOREIGN = "foreign"  # a foreign country or city: conflicts with a look-alike
    PROVINCE = "province"  # another Chinese province or city: conflicts with a look-alike
    CHINA = "china"  # "China", "PRC", 中国: the address is in China


@dataclass(frozen=True, slots=True)
class Term:
    """One spelling of one thing to find in free text."""

    kind: TermKind
    rule_id: str  # e.g. "regions.places.aksu_prefecture"
    label: str  # canonical name shown to people, e.g. "Aksu Prefecture"
    spelling: str  # the spelling as written in the rule file, e.g. "阿克蘇"
    needs: Needs = Needs.NONE
    place_kind: str | None = None  # prefecture, city, county, xpcc_city
    code: str | None = None  # GB/T 2260 code


@dataclass(frozen=True, slots=True)
class XpccPattern:
    rule_id: str
    pattern: re.Pattern[str]  # run on folded text; groups `n` or `m` hold the unit number
    unit: str  # division | regiment
    number_range: tuple[int, int]
    needs: Needs
    triggers: tuple[str, ...]  # the pattern runs only on text containing one of these


@dataclass(frozen=True, slots=True)
class RegionRules:
    # Latin/Arabic-script terms, keyed by their folded token sequence joined by one space.
    word_terms: Mapping[str, tuple[Term, ...]]
    word_first_tokens: frozenset[str]
    max_words: int
    # Chinese terms, keyed by their folded (simplified) form.
    cjk_terms: Mapping[str, tuple[Term, ...]]
    cjk_first_chars: frozenset[str]
    cjk_lengths: tuple[int, ...]  # distinct term lengths, longest first
    region_field_codes: frozenset[str]  # folded whole values of a `region` field
    xpcc_patterns: tuple[XpccPattern, ...]
    xpcc_triggers: re.Pattern[str]  # any pattern's trigger: a cheap test before running them
    xpcc_listed_as: str  # the Entity List entry an XPCC unit falls under
    postcode_pattern: re.Pattern[str]
    postcode_countries: frozenset[str]
    admin_prefix: str
    admin_code_schemes: frozenset[str]
    uscc_schemes: frozenset[str]
    uscc_slice: tuple[int, int]  # 0-based [start, end) of the admin code inside a USCC
    street_words: frozenset[str]
    street_directions: frozenset[str]
    street_cjk: re.Pattern[str]  # matched right after a Chinese term
    negation_fields: frozenset[str]  # fields where "no Xinjiang ..." is an absence claim
    negation_before: frozenset[str]  # folded word keys before a term ("no", "non", "free of")
    negation_after: frozenset[str]  # folded words right after a term ("free")
    negation_cjk_before: tuple[str, ...]  # Chinese text right before a term (非, 不含)
    # traditional -> simplified Chinese, applied to text before matching (str.translate table)
    fold_table: Mapping[int, str]
    # scan_node's results for these rules (regions.RegionScan; typed loosely: regions imports
    # this module). Not part of the rules' identity.
    scans: Memo[Any] = field(
        default_factory=lambda: Memo(SCAN_MEMO_SIZE), compare=False, repr=False
    )


@dataclass(frozen=True, slots=True)
class HtsPrefix:
    prefix: str  # digits only
    certainty: str  # certain | likely | inference


@dataclass(frozen=True, slots=True)
class Sector:
    id: str
    title: str
    high_priority: bool
    checklist: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SectorRules:
    sectors: tuple[Sector, ...]  # in rule-file order (the order evidence is listed in)
    by_prefix: Mapping[str, tuple[Sector, HtsPrefix]]
    prefix_lengths: tuple[int, ...]  # longest first
    keywords: Mapping[str, Sector]  # folded keyword (space-joined tokens or Chinese) -> sector
    keyword_first_tokens: frozenset[str]
    max_keyword_words: int
    cjk_keywords: tuple[tuple[str, Sector], ...]  # longest first

    def sector_index(self, sector_id: str) -> int:
        for i, sector in enumerate(self.sectors):
            if sector.id == sector_id:
                return i
        raise KeyError(sector_id)


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    id: str
    title: str
    group: str


class ClearingScope(StrEnum):
    NODE = "node"  # evidence must cover the finding's path
    EVERY_TIER = "every_tier"  # ... and every input below it


@dataclass(frozen=True, slots=True)
class ClearingRule:
    """How an applicability review clears findings of `codes` (rules/evidence.yaml review)."""

    codes: tuple[str, ...]
    shows: str
    requires: tuple[tuple[str, ...], ...]  # every group answered by an item of one of its ids
    scope: ClearingScope
    blocking: bool  # unanswered: `open` (blocking) or `context` (risk only)


@dataclass(frozen=True, slots=True)
class ExceptionCondition:
    id: str
    title: str
    requires: tuple[str, ...]
    all_asked: bool  # also every item the assessment asks for


@dataclass(frozen=True, slots=True)
class ExceptionRules:
    narrative_min_chars: int
    conditions: tuple[ExceptionCondition, ...]


@dataclass(frozen=True, slots=True)
class ReviewRules:
    reviewer_only: frozenset[str]
    clearing: Mapping[str, ClearingRule]  # finding code -> rule
    context: frozenset[str]
    exception: ExceptionRules


@dataclass(frozen=True, slots=True)
class EvidenceRules:
    items: Mapping[str, EvidenceItem]
    when_presumption: tuple[str, ...]
    when_high_risk: tuple[str, ...]
    high_risk_levels: frozenset[str]
    review: ReviewRules
    # required_evidence's answers for these rules (tuples of assessment.RequiredEvidence;
    # typed loosely: assessment imports this module). Not part of the rules' identity.
    answers: Memo[Any] = field(
        default_factory=lambda: Memo(EVIDENCE_MEMO_SIZE), compare=False, repr=False
    )


@dataclass(frozen=True, slots=True)
class FindingRule:
    weight: int
    severity: Severity


@dataclass(frozen=True, slots=True)
class RiskBand:
    level: str
    min_score: int


@dataclass(frozen=True, slots=True)
class ScoringRules:
    findings: Mapping[str, FindingRule]
    certainty_factor: Mapping[str, float]
    risk_bands: tuple[RiskBand, ...]  # ascending by min_score
    detain_threshold: int
    china: frozenset[str]
    transshipment_concern: frozenset[str]
    match_strong: float
    match_possible: float
    presumption_lists: frozenset[str]
    sanctions_lists: frozenset[str]
    amplifier_lists: frozenset[str]

    def level_for(self, score: int) -> str:
        level = self.risk_bands[0].level
        for band in self.risk_bands:
            if score >= band.min_score:
                level = band.level
        return level


@dataclass(frozen=True, slots=True)
class RuleSet:
    version: str  # "sha256:<hex>" of the normalised documents
    documents: Mapping[str, str]  # file name -> YAML text, as loaded (for storage and replay)
    regions: RegionRules
    sectors: SectorRules
    evidence: EvidenceRules
    scoring: ScoringRules
    public: Mapping[str, Any] = field(default_factory=dict)  # validated documents as plain data

    def to_public_dict(self) -> dict[str, Any]:
        """What `GET /v1/rules` shows: the version and the validated rule documents."""
        return {
            "version": self.version,
            "files": sorted(self.documents),
            "rules": {name: self.public[name] for name in sorted(self.public)},
        }
