"""Xinjiang detection on one manifest node (UFLPA trigger T1, and XPCC for T2).

A node is a line, an input or a party. All its text fields are scanned together, because
context is per node: "Aksu" fires next to "Xinjiang" or with country CN, and is suppressed
next to "Kazakhstan" or by a declared foreign country. The rules (what is ambiguous, what
conflicts) live in rules/regions.yaml; this module only applies them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from app.domain.rules import Needs, RegionRules, Term, TermKind
from app.domain.text import CJK_RUN, fold, has_cjk, words


class HitKind(StrEnum):
    REGION = "region"
    PLACE = "place"
    XPCC_UNIT = "xpcc_unit"
    POSTCODE = "postcode"
    REGISTRATION = "registration"


class TextField(NamedTuple):  # a tuple: built for every field of every node, so kept cheap
    name: str  # the manifest field: name, address, region, postcode, description, material
    text: str


@dataclass(frozen=True, slots=True)
class RegionHit:
    kind: HitKind
    rule_id: str
    label: str  # canonical name, e.g. "Aksu Prefecture", "XPCC division 8", "Xinjiang postcode"
    spelling: str  # what matched: the rule spelling, or the matched digits/pattern text
    field: str
    text: str  # the original field text
    needs: Needs = Needs.NONE
    chinese_script: bool = False
    place_kind: str | None = None
    code: str | None = None

    def evidence(self) -> dict[str, str]:
        out = {
            "place": self.label,
            "spelling": self.spelling,
            "field": self.field,
            "matched": self.text,
            "rule_id": self.rule_id,
        }
        if self.code is not None:
            out["code"] = self.code
        return out


@dataclass(frozen=True, slots=True)
class RegionScan:
    """What the node says about Xinjiang after context is applied."""

    nexus: tuple[RegionHit, ...]  # fired: places, regions, XPCC units, postcodes, registrations
    ambiguous: tuple[RegionHit, ...]  # look-alike names with neither context nor conflict

    @property
    def xpcc_units(self) -> tuple[RegionHit, ...]:
        return tuple(h for h in self.nexus if h.kind is HitKind.XPCC_UNIT)


EMPTY_SCAN = RegionScan(nexus=(), ambiguous=())

_TERM_HIT_KIND = {
    TermKind.REGION: HitKind.REGION,
    TermKind.PLACE: HitKind.PLACE,
    TermKind.XPCC: HitKind.XPCC_UNIT,
}

_CN_DIGITS = dict(zip("零〇一二三四五六七八九", (0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))


def parse_unit_number(text: str) -> int | None:
    """150, 一五〇 (digit by digit), 十二, 一百五十 -> int; None if not a number."""
    if text.isdigit():
        return int(text)
    if "十" in text or "百" in text:
        total, current = 0, 0
        for ch in text:
            if ch == "百":
                total += (current or 1) * 100
                current = 0
            elif ch == "十":
                total += (current or 1) * 10
                current = 0
            elif ch in _CN_DIGITS:
                current = _CN_DIGITS[ch]
            else:
                return None
        return total + current
    if all(ch in _CN_DIGITS for ch in text):
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))
    return None


def _hit_from_term(term: Term, field: TextField, chinese: bool) -> RegionHit:
    return RegionHit(
        kind=_TERM_HIT_KIND[term.kind],
        rule_id=term.rule_id,
        label=term.label,
        spelling=term.spelling,
        field=field.name,
        text=field.text,
        needs=term.needs,
        chinese_script=chinese,
        place_kind=term.place_kind,
        code=term.code,
    )


def _street_follows(tokens: Sequence[str], after: int, rules: RegionRules) -> bool:
    i = after
    while i < len(tokens) and tokens[i] in rules.street_directions:
        i += 1
    return i < len(tokens) and tokens[i] in rules.street_words


class _Found:
    """Hits of one node, plus whether a conflicting place was named on it."""

    __slots__ = ("china", "conflict", "hits")

    def __init__(self) -> None:
        self.hits: list[RegionHit] = []
        self.conflict = False
        self.china = False  # "China", "PRC", 中国 named on the node

    def add(self, terms: Sequence[Term], field: TextField, chinese: bool, skip: bool) -> None:
        """`skip`: the mention is a street name or a negated claim, not a location."""
        for term in terms:
            if term.kind in _CONFLICT_KINDS:
                # a street named after a foreign place ("Taipei Road") is no conflict
                self.conflict = self.conflict or not skip
            elif term.kind is TermKind.CHINA:
                self.china = True
            elif not skip:  # "Xinjiang Road", "乌鲁木齐中路", "Xinjiang-free"
                self.hits.append(_hit_from_term(term, field, chinese))


_CONFLICT_KINDS = frozenset({TermKind.FOREIGN, TermKind.PROVINCE})


def _negated(tokens: Sequence[str], start: int, end: int, rules: RegionRules) -> bool:
    before_one = tokens[start - 1] if start >= 1 else ""
    before_two = " ".join(tokens[start - 2 : start]) if start >= 2 else ""
    after = tokens[end] if end < len(tokens) else ""
    return (
        before_one in rules.negation_before
        or before_two in rules.negation_before
        or after in rules.negation_after
    )


def _scan_words(folded: str, field: TextField, rules: RegionRules, found: _Found) -> None:
    tokens = words(folded)
    first_tokens = rules.word_first_tokens
    if first_tokens.isdisjoint(tokens):
        return
    count = len(tokens)
    i = 0
    while i < count:
        if tokens[i] not in first_tokens:
            i += 1
            continue
        for size in range(min(rules.max_words, count - i), 0, -1):
            key = tokens[i] if size == 1 else " ".join(tokens[i : i + size])
            terms = rules.word_terms.get(key)
            if terms:
                skip = _street_follows(tokens, i + size, rules) or (
                    field.name in rules.negation_fields and _negated(tokens, i, i + size, rules)
                )
                found.add(terms, field, False, skip)
                i += size
                break
        else:
            i += 1


def _scan_cjk(folded: str, field: TextField, rules: RegionRules, found: _Found) -> None:
    for run_match in CJK_RUN.finditer(folded):
        run = run_match.group()
        j = 0
        while j < len(run):
            if run[j] not in rules.cjk_first_chars:
                j += 1
                continue
            for length in rules.cjk_lengths:
                terms = rules.cjk_terms.get(run[j : j + length])
                if terms:
                    skip = rules.street_cjk.match(run, j + length) is not None or (
                        field.name in rules.negation_fields
                        and run[:j].endswith(rules.negation_cjk_before)
                    )
                    found.add(terms, field, True, skip)
                    j += length
                    break
            else:
                j += 1


def _scan_xpcc_patterns(folded: str, field: TextField, rules: RegionRules) -> list[RegionHit]:
    hits: list[RegionHit] = []
    for rule in rules.xpcc_patterns:
        if not any(trigger in folded for trigger in rule.triggers):
            continue
        for match in rule.pattern.finditer(folded):
            raw = match.groupdict().get("n") or match.groupdict().get("m")
            number = parse_unit_number(raw) if raw else None
            low, high = rule.number_range
            if number is None or not low <= number <= high:
                continue
            hits.append(
                RegionHit(
                    kind=HitKind.XPCC_UNIT,
                    rule_id=rule.rule_id,
                    label=f"XPCC {rule.unit} {number}",
                    spelling=match.group(),
                    field=field.name,
                    text=field.text,
                    needs=rule.needs,
                    chinese_script=has_cjk(match.group()),
                )
            )
    return hits


def _registration_hits(
    identifiers: Iterable[tuple[str, str]], rules: RegionRules
) -> list[RegionHit]:
    hits: list[RegionHit] = []
    for scheme, value in identifiers:
        scheme_key = scheme.strip().lower()
        digits = "".join(value.split()).upper()
        if scheme_key in rules.uscc_schemes and len(digits) == 18:
            start, end = rules.uscc_slice
            admin = digits[start:end]
        elif scheme_key in rules.admin_code_schemes and len(digits) == 6:
            admin = digits
        else:
            continue
        if admin.isdigit() and admin.startswith(rules.admin_prefix):
            hits.append(
                RegionHit(
                    kind=HitKind.REGISTRATION,
                    rule_id="regions.admin_code",
                    label="registered in Xinjiang",
                    spelling=admin,
                    field=f"identifiers.{scheme}",
                    text=value,
                    code=admin,
                )
            )
    return hits


def scan_node(
    fields: Sequence[TextField],
    country: str | None,
    rules: RegionRules,
    identifiers: tuple[tuple[str, str], ...] = (),
) -> RegionScan:
    """Find Xinjiang nexus on one node. `country` is the node's declared country.

    A pure function of its arguments, so results are memoised per rule set."""
    key = (tuple(fields), country, identifiers)
    cached: RegionScan | None = rules.scans.get(key)
    if cached is not None:
        return cached
    scan = _scan(fields, country, rules, identifiers)
    rules.scans.put(key, scan)
    return scan


def _scan(
    fields: Sequence[TextField],
    country: str | None,
    rules: RegionRules,
    identifiers: tuple[tuple[str, str], ...],
) -> RegionScan:
    found = _Found()
    raw = found.hits
    folded_fields: list[tuple[TextField, str]] = []
    may_have_postcode = False
    for field in fields:
        if not field.text:
            continue
        folded = fold(field.text, rules.fold_table)
        folded_fields.append((field, folded))
        if field.name == "region" and folded.strip() in rules.region_field_codes:
            raw.append(
                RegionHit(
                    kind=HitKind.REGION,
                    rule_id="regions.region_tokens.region_field_codes",
                    label="Xinjiang",
                    spelling=field.text.strip(),
                    field=field.name,
                    text=field.text,
                )
            )
        _scan_words(folded, field, rules, found)
        if not folded.isascii():
            _scan_cjk(folded, field, rules, found)
        if rules.xpcc_triggers.search(folded):
            raw.extend(_scan_xpcc_patterns(folded, field, rules))
        if field.name in ("postcode", "address"):
            may_have_postcode = True
    if identifiers:
        raw.extend(_registration_hits(identifiers, rules))

    declared = (country or "").strip().upper() or None
    in_china = declared == "CN" or (declared is None and found.china)
    if may_have_postcode:
        raw.extend(_postcode_hits(folded_fields, declared, in_china, rules))
    if not raw:
        return EMPTY_SCAN
    conflict = found.conflict or (declared is not None and declared != "CN")
    return _apply_context(raw, in_china, conflict)


def _postcode_hits(
    folded_fields: Sequence[tuple[TextField, str]],
    declared: str | None,
    china_named: bool,
    rules: RegionRules,
) -> list[RegionHit]:
    # A six-digit 83/84 code only means Xinjiang in a Chinese address: the declared country
    # must be CN, or, with no country declared, the address names China or is in Chinese.
    in_china = declared in rules.postcode_countries or (
        declared is None and (china_named or any(has_cjk(folded) for _, folded in folded_fields))
    )
    if not in_china:
        return []
    hits: list[RegionHit] = []
    for field, folded in folded_fields:
        if field.name not in ("postcode", "address"):
            continue
        for match in rules.postcode_pattern.finditer(folded):
            hits.append(
                RegionHit(
                    kind=HitKind.POSTCODE,
                    rule_id="regions.postcode",
                    label="Xinjiang postcode",
                    spelling=match.group(),
                    field=field.name,
                    text=field.text,
                )
            )
    return hits


def _apply_context(hits: Sequence[RegionHit], country_cn: bool, conflict: bool) -> RegionScan:
    fired: list[RegionHit] = []
    waiting: list[RegionHit] = []
    for hit in hits:
        (fired if hit.needs is Needs.NONE else waiting).append(hit)

    unresolved: list[RegionHit] = []
    # Look-alikes abroad: a Chinese address (country CN, Chinese script) or Xinjiang context,
    # which may be another look-alike of a different place ("Yiwu County, Hami").
    strong_context = bool(fired)
    for hit in waiting:
        if hit.needs is not Needs.CHINA:
            continue
        if conflict:
            continue
        corroborated = any(
            other.rule_id != hit.rule_id and other.spelling != hit.spelling for other in waiting
        )
        if country_cn or hit.chinese_script or strong_context or corroborated:
            fired.append(hit)
        else:
            unresolved.append(hit)
    # Look-alikes inside China: only another Xinjiang token on the node resolves them.
    for hit in waiting:
        if hit.needs is not Needs.XINJIANG:
            continue
        if conflict:
            continue
        if any(other.rule_id != hit.rule_id for other in fired):
            fired.append(hit)
        else:
            unresolved.append(hit)
    return RegionScan(nexus=tuple(fired), ambiguous=tuple(unresolved))
