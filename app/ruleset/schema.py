"""Pydantic schemas of the rule files. Unknown keys are errors (extra="forbid")."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.domain.text import has_cjk

_ARABIC = re.compile(r"[\u0600-\u06ff]")
_ID = r"^[a-z0-9_]+$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from exc
    return value


def _latin(values: list[str]) -> list[str]:
    for value in values:
        if has_cjk(value) or _ARABIC.search(value):
            raise ValueError(f"{value!r} is not Latin script (use `chinese` or `uyghur`)")
        if not value.strip():
            raise ValueError("empty name")
    return values


def _chinese(values: list[str]) -> list[str]:
    for value in values:
        if not value or not all(has_cjk(ch) for ch in value):
            raise ValueError(f"{value!r} is not written in Chinese characters only")
    return values


def _arabic(values: list[str]) -> list[str]:
    for value in values:
        if not _ARABIC.search(value):
            raise ValueError(f"{value!r} is not in Arabic (Uyghur) script")
    return values


# ---------------------------------------------------------------- regions.yaml

Needs = Literal["none", "china", "xinjiang"]


class ContextName(Strict):
    name: str = Field(min_length=1)
    needs: Literal["china", "xinjiang"]


class Place(Strict):
    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1)
    kind: Literal["prefecture", "city", "county", "xpcc_city"]
    code: str = Field(pattern=r"^65[0-9]{4}$")
    names: list[str] = []
    chinese: list[str] = []
    uyghur: list[str] = []
    context_names: list[ContextName] = []
    note: str = ""

    _latin = field_validator("names")(_latin)
    _chinese = field_validator("chinese")(_chinese)
    _arabic = field_validator("uyghur")(_arabic)


class RegionTokens(Strict):
    names: list[str] = Field(min_length=1)
    chinese: list[str] = Field(min_length=1)
    uyghur: list[str] = []
    region_field_codes: list[str] = []

    _latin = field_validator("names")(_latin)
    _chinese = field_validator("chinese")(_chinese)
    _arabic = field_validator("uyghur")(_arabic)


class XpccPattern(Strict):
    id: str = Field(pattern=_ID)
    regex: str
    unit: Literal["division", "regiment"]
    number_range: tuple[int, int]
    needs: Needs
    triggers: list[str] = Field(min_length=1)  # literal text, one of which any match contains

    _regex = field_validator("regex")(_check_regex)

    @model_validator(mode="after")
    def _range_and_group(self) -> XpccPattern:
        low, high = self.number_range
        if not 0 < low <= high:
            raise ValueError(f"number_range {self.number_range} must be 0 < low <= high")
        groups = re.compile(self.regex).groupindex
        if "n" not in groups:
            raise ValueError("regex must capture the unit number in a group named `n`")
        return self


class Xpcc(Strict):
    listed_as: str = Field(min_length=1)
    names: list[str] = Field(min_length=1)
    chinese: list[str] = Field(min_length=1)
    patterns: list[XpccPattern] = []

    _latin = field_validator("names")(_latin)
    _chinese = field_validator("chinese")(_chinese)


class Postcode(Strict):
    regex: str
    countries: list[str] = Field(min_length=1)

    _regex = field_validator("regex")(_check_regex)


class AdminCode(Strict):
    prefix: str = Field(pattern=r"^[0-9]{2,6}$")
    admin_code_schemes: list[str]
    uscc_schemes: list[str]
    uscc_positions: tuple[int, int]

    @field_validator("uscc_positions")
    @classmethod
    def _positions(cls, value: tuple[int, int]) -> tuple[int, int]:
        start, end = value
        if not 1 <= start <= end <= 18:
            raise ValueError("positions must satisfy 1 <= start <= end <= 18")
        return value


class StreetWords(Strict):
    latin: list[str] = Field(min_length=1)
    latin_directions: list[str] = []
    chinese: list[str] = Field(min_length=1)

    _chinese = field_validator("chinese")(_chinese)


class NameList(Strict):
    names: list[str] = []
    chinese: list[str] = []

    _latin = field_validator("names")(_latin)
    _chinese = field_validator("chinese")(_chinese)


class Negation(Strict):
    fields: list[str]
    before: list[str]
    after: list[str]
    chinese_before: list[str] = []

    _chinese = field_validator("chinese_before")(_chinese)


class Conflicts(Strict):
    foreign: NameList
    provinces: NameList


class RegionsDoc(Strict):
    region_tokens: RegionTokens
    xpcc: Xpcc
    postcode: Postcode
    admin_code: AdminCode
    street_words: StreetWords
    china_context: NameList
    negation: Negation
    conflicts: Conflicts
    places: list[Place] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> RegionsDoc:
        _unique([p.id for p in self.places], "places", "id")
        _unique([p.code for p in self.places], "places", "code")
        _unique([p.id for p in self.xpcc.patterns], "xpcc.patterns", "id")
        return self


# ---------------------------------------------------------------- sectors.yaml

Certainty = Literal["certain", "likely", "inference"]


class HtsPrefix(Strict):
    prefix: str = Field(pattern=r"^[0-9]{2,10}$")
    certainty: Certainty


class SectorDoc(Strict):
    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1)
    high_priority: bool
    designated: str | None = None
    checklist: list[str]
    material_keywords: list[str] = []
    hts: list[HtsPrefix] = Field(min_length=1)


class SectorsDoc(Strict):
    sectors: list[SectorDoc] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> SectorsDoc:
        _unique([s.id for s in self.sectors], "sectors", "id")
        _unique([h.prefix for s in self.sectors for h in s.hts], "sectors[*].hts", "prefix")
        return self


# ---------------------------------------------------------------- evidence.yaml


class EvidenceItemDoc(Strict):
    id: str = Field(pattern=r"^[A-Z]{1,3}-[0-9]{2}$")
    group: str = Field(min_length=1)
    title: str = Field(min_length=1)
    og_category: str | None = None


class Asked(Strict):
    when_presumption: list[str]
    when_high_risk: list[str]
    high_risk_levels: list[str]


class ClearingRuleDoc(Strict):
    codes: list[str] = Field(min_length=1)
    shows: str = Field(min_length=1)
    requires: list[list[str]] = Field(min_length=1)
    scope: Literal["node", "every_tier"]
    blocking: bool

    @field_validator("requires")
    @classmethod
    def _groups_not_empty(cls, value: list[list[str]]) -> list[list[str]]:
        if any(not group for group in value):
            raise ValueError("every requires group needs at least one evidence id")
        return value


class ExceptionConditionDoc(Strict):
    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1)
    requires: list[str]
    all_asked: bool


class ExceptionDoc(Strict):
    narrative_min_chars: int = Field(ge=0, le=10000)
    conditions: list[ExceptionConditionDoc] = Field(min_length=1)


class ReviewDoc(Strict):
    reviewer_only: list[str]
    clearable: list[ClearingRuleDoc]
    context: list[str]
    exception: ExceptionDoc

    def classified_codes(self) -> list[str]:
        return [
            *self.reviewer_only,
            *(code for rule in self.clearable for code in rule.codes),
            *self.context,
        ]


class EvidenceDoc(Strict):
    items: list[EvidenceItemDoc] = Field(min_length=1)
    asked: Asked
    review: ReviewDoc

    @model_validator(mode="after")
    def _unique(self) -> EvidenceDoc:
        _unique([i.id for i in self.items], "items", "id")
        known = {i.id for i in self.items}
        for key in ("when_presumption", "when_high_risk"):
            for item_id in getattr(self.asked, key):
                if item_id not in known:
                    raise ValueError(f"asked.{key}: unknown evidence id {item_id!r}")
        _unique(self.review.classified_codes(), "review", "finding code")
        _unique([c.id for c in self.review.exception.conditions], "review.exception", "id")
        for i, rule in enumerate(self.review.clearable):
            for item_id in (x for group in rule.requires for x in group):
                if item_id not in known:
                    raise ValueError(
                        f"review.clearable[{i}].requires: unknown evidence id {item_id!r}"
                    )
        for condition in self.review.exception.conditions:
            for item_id in condition.requires:
                if item_id not in known:
                    raise ValueError(
                        f"review.exception.{condition.id}.requires: unknown evidence id {item_id!r}"
                    )
        return self


# ---------------------------------------------------------------- scoring.yaml


class FindingWeight(Strict):
    weight: int = Field(ge=0, le=100)
    severity: Literal["info", "low", "medium", "high", "critical"]


class RiskLevel(Strict):
    level: str = Field(min_length=1)
    min: int = Field(ge=0, le=100)


class Origin(Strict):
    china: list[str]
    transshipment_concern: list[str]


class Match(Strict):
    strong: float = Field(gt=0, le=1)
    possible: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _order(self) -> Match:
        if self.possible > self.strong:
            raise ValueError("match.possible must not exceed match.strong")
        return self


class Lists(Strict):
    presumption: list[str] = Field(min_length=1)
    sanctions: list[str]
    amplifier: list[str]

    @model_validator(mode="after")
    def _disjoint(self) -> Lists:
        _unique(self.presumption + self.sanctions + self.amplifier, "lists", "list id")
        return self


class ScoringDoc(Strict):
    findings: dict[str, FindingWeight]
    certainty_factor: dict[str, float]
    risk_levels: list[RiskLevel] = Field(min_length=1)
    detain_threshold: int = Field(ge=0, le=100)
    origin: Origin
    match: Match
    lists: Lists

    @model_validator(mode="after")
    def _levels(self) -> ScoringDoc:
        mins = [r.min for r in self.risk_levels]
        if mins[0] != 0 or mins != sorted(set(mins)):
            raise ValueError("risk_levels must start at min 0 and strictly increase")
        _unique([r.level for r in self.risk_levels], "risk_levels", "level")
        return self


def _unique(values: list[str], where: str, what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{where}: duplicate {what} {value!r}")
        seen.add(value)
