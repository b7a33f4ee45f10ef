"""Compile validated rule documents into the domain's frozen, precompiled rule objects."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from app.domain.assessment import Severity
from app.domain.rules import (
    ClearingRule,
    ClearingScope,
    EvidenceItem,
    EvidenceRules,
    ExceptionCondition,
    ExceptionRules,
    FindingRule,
    HtsPrefix,
    Needs,
    RegionRules,
    ReviewRules,
    RiskBand,
    ScoringRules,
    Sector,
    SectorRules,
    Term,
    TermKind,
    XpccPattern,
)
from app.domain.text import fold, has_cjk, word_key
from app.ruleset.schema import EvidenceDoc, RegionsDoc, ReviewDoc, ScoringDoc, SectorsDoc


class _TermIndex:
    """Collects terms into the word (whole-token) and CJK (substring) lookup tables."""

    def __init__(self, table: Mapping[int, str]) -> None:
        self.table = table
        self.words: dict[str, list[Term]] = {}
        self.cjk: dict[str, list[Term]] = {}

    def add(self, spelling: str, term: Term) -> None:
        if has_cjk(spelling):
            key = fold(spelling, self.table).replace(" ", "")
            bucket = self.cjk.setdefault(key, [])
        else:
            key = word_key(spelling, self.table)
            if not key:
                return
            bucket = self.words.setdefault(key, [])
        # one entry per (what, needs): two spellings folding alike are the same term
        if not any(t.rule_id == term.rule_id and t.needs == term.needs for t in bucket):
            bucket.append(term)

    def add_all(self, spellings: Iterable[str], make: TermFactory) -> None:
        for spelling in spellings:
            self.add(spelling, make(spelling))


class TermFactory:
    def __init__(
        self,
        kind: TermKind,
        rule_id: str,
        label: str,
        needs: Needs = Needs.NONE,
        place_kind: str | None = None,
        code: str | None = None,
    ) -> None:
        self.kind, self.rule_id, self.label, self.needs = kind, rule_id, label, needs
        self.place_kind, self.code = place_kind, code

    def __call__(self, spelling: str) -> Term:
        return Term(
            self.kind, self.rule_id, self.label, spelling, self.needs, self.place_kind, self.code
        )


def _freeze(index: dict[str, list[Term]]) -> dict[str, tuple[Term, ...]]:
    return {key: tuple(terms) for key, terms in index.items()}


def compile_regions(doc: RegionsDoc, table: Mapping[int, str]) -> RegionRules:
    index = _TermIndex(table)
    tokens = doc.region_tokens
    region = TermFactory(TermKind.REGION, "regions.region_tokens", "Xinjiang")
    index.add_all([*tokens.names, *tokens.chinese, *tokens.uyghur], region)
    xpcc = TermFactory(TermKind.XPCC, "regions.xpcc.names", "XPCC (Bingtuan)")
    index.add_all([*doc.xpcc.names, *doc.xpcc.chinese], xpcc)
    for place in doc.places:
        rule_id = f"regions.places.{place.id}"
        plain = TermFactory(TermKind.PLACE, rule_id, place.name, Needs.NONE, place.kind, place.code)
        index.add_all([*place.names, *place.chinese, *place.uyghur], plain)
        for ambiguous in place.context_names:
            make = TermFactory(
                TermKind.PLACE, rule_id, place.name, Needs(ambiguous.needs), place.kind, place.code
            )
            index.add(ambiguous.name, make(ambiguous.name))
    foreign = doc.conflicts.foreign
    provinces = doc.conflicts.provinces
    for spelling in [*foreign.names, *foreign.chinese]:
        index.add(spelling, Term(TermKind.FOREIGN, "regions.conflicts.foreign", spelling, spelling))
    for spelling in [*provinces.names, *provinces.chinese]:
        index.add(
            spelling, Term(TermKind.PROVINCE, "regions.conflicts.provinces", spelling, spelling)
        )

    china = doc.china_context
    for spelling in [*china.names, *china.chinese]:
        index.add(spelling, Term(TermKind.CHINA, "regions.china_context", "China", spelling))

    streets = doc.street_words
    cjk_street = "|".join(sorted((re.escape(w) for w in streets.chinese), key=len, reverse=True))
    start, end = doc.admin_code.uscc_positions
    return RegionRules(
        word_terms=_freeze(index.words),
        word_first_tokens=frozenset(key.split(" ")[0] for key in index.words),
        max_words=max(len(key.split(" ")) for key in index.words),
        cjk_terms=_freeze(index.cjk),
        cjk_first_chars=frozenset(key[0] for key in index.cjk),
        cjk_lengths=tuple(sorted({len(key) for key in index.cjk}, reverse=True)),
        region_field_codes=frozenset(fold(code).strip() for code in tokens.region_field_codes),
        xpcc_patterns=tuple(
            XpccPattern(
                rule_id=f"regions.xpcc.patterns.{p.id}",
                pattern=re.compile(p.regex),
                unit=p.unit,
                number_range=p.number_range,
                needs=Needs(p.needs),
                triggers=tuple(fold(t, table) for t in p.triggers),
            )
            for p in doc.xpcc.patterns
        ),
        xpcc_triggers=re.compile(
            "|".join(re.escape(fold(t, table)) for p in doc.xpcc.patterns for t in p.triggers)
            or "(?!)"
        ),
        xpcc_listed_as=doc.xpcc.listed_as,
        postcode_pattern=re.compile(doc.postcode.regex),
        postcode_countries=frozenset(c.upper() for c in doc.postcode.countries),
        admin_prefix=doc.admin_code.prefix,
        admin_code_schemes=frozenset(s.lower() for s in doc.admin_code.admin_code_schemes),
        uscc_schemes=frozenset(s.lower() for s in doc.admin_code.uscc_schemes),
        uscc_slice=(start - 1, end),
        street_words=frozenset(word_key(w) for w in streets.latin),
        street_directions=frozenset(word_key(w) for w in streets.latin_directions),
        street_cjk=re.compile(f"(?:{cjk_street})"),
        negation_fields=frozenset(doc.negation.fields),
        negation_before=frozenset(word_key(w) for w in doc.negation.before),
        negation_after=frozenset(word_key(w) for w in doc.negation.after),
        negation_cjk_before=tuple(fold(w, table) for w in doc.negation.chinese_before),
        fold_table=dict(table),
    )


def compile_sectors(doc: SectorsDoc, table: Mapping[int, str]) -> SectorRules:
    sectors: list[Sector] = []
    by_prefix: dict[str, tuple[Sector, HtsPrefix]] = {}
    keywords: dict[str, Sector] = {}
    cjk_keywords: list[tuple[str, Sector]] = []
    for item in doc.sectors:
        sector = Sector(item.id, item.title, item.high_priority, tuple(item.checklist))
        sectors.append(sector)
        for hts in item.hts:
            by_prefix[hts.prefix] = (sector, HtsPrefix(hts.prefix, hts.certainty))
        for keyword in item.material_keywords:
            if has_cjk(keyword):
                cjk_keywords.append((fold(keyword, table), sector))
            else:
                keywords.setdefault(word_key(keyword), sector)
    return SectorRules(
        sectors=tuple(sectors),
        by_prefix=by_prefix,
        prefix_lengths=tuple(sorted({len(p) for p in by_prefix}, reverse=True)),
        keywords=keywords,
        keyword_first_tokens=frozenset(k.split(" ")[0] for k in keywords),
        max_keyword_words=max((len(k.split(" ")) for k in keywords), default=1),
        cjk_keywords=tuple(sorted(cjk_keywords, key=lambda kv: -len(kv[0]))),
    )


def compile_review(doc: ReviewDoc) -> ReviewRules:
    clearing: dict[str, ClearingRule] = {}
    for rule in doc.clearable:
        compiled = ClearingRule(
            codes=tuple(rule.codes),
            shows=rule.shows,
            requires=tuple(tuple(group) for group in rule.requires),
            scope=ClearingScope(rule.scope),
            blocking=rule.blocking,
        )
        for code in rule.codes:
            clearing[code] = compiled
    return ReviewRules(
        reviewer_only=frozenset(doc.reviewer_only),
        clearing=clearing,
        context=frozenset(doc.context),
        exception=ExceptionRules(
            narrative_min_chars=doc.exception.narrative_min_chars,
            conditions=tuple(
                ExceptionCondition(c.id, c.title, tuple(c.requires), c.all_asked)
                for c in doc.exception.conditions
            ),
        ),
    )


def compile_evidence(doc: EvidenceDoc) -> EvidenceRules:
    return EvidenceRules(
        items={i.id: EvidenceItem(i.id, i.title, i.group) for i in doc.items},
        when_presumption=tuple(doc.asked.when_presumption),
        when_high_risk=tuple(doc.asked.when_high_risk),
        high_risk_levels=frozenset(doc.asked.high_risk_levels),
        review=compile_review(doc.review),
    )


def compile_scoring(doc: ScoringDoc) -> ScoringRules:
    return ScoringRules(
        findings={
            code: FindingRule(f.weight, Severity(f.severity)) for code, f in doc.findings.items()
        },
        certainty_factor=dict(doc.certainty_factor),
        risk_bands=tuple(RiskBand(r.level, r.min) for r in doc.risk_levels),
        detain_threshold=doc.detain_threshold,
        china=frozenset(c.upper() for c in doc.origin.china),
        transshipment_concern=frozenset(c.upper() for c in doc.origin.transshipment_concern),
        match_strong=doc.match.strong,
        match_possible=doc.match.possible,
        presumption_lists=frozenset(doc.lists.presumption),
        sanctions_lists=frozenset(doc.lists.sanctions),
        amplifier_lists=frozenset(doc.lists.amplifier),
    )
