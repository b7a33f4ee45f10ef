"""High-priority sector lookup: by HTS prefix (longest wins), else by material keywords."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.rules import HtsPrefix, Sector, SectorRules
from app.domain.text import CJK_RUN, fold, words


@dataclass(frozen=True, slots=True)
class SectorMatch:
    sector: Sector
    certainty: str  # certain | likely | inference | keyword
    basis: str  # "hts" or "keyword"
    matched: str  # the HTS prefix or the keyword

    def evidence(self) -> dict[str, str]:
        return {
            "sector": self.sector.id,
            "title": self.sector.title,
            "basis": self.basis,
            "matched": self.matched,
            "certainty": self.certainty,
        }


def normalise_hts(code: str | None) -> str:
    """Digits only: "6109.10.0012" -> "6109100012" (what the API stores)."""
    if not code:
        return ""
    if code.isdigit():
        return code
    return "".join(ch for ch in code if ch.isdigit())


def sector_for_hts(hts_code: str | None, rules: SectorRules) -> SectorMatch | None:
    digits = normalise_hts(hts_code)
    for length in rules.prefix_lengths:
        if length > len(digits):
            continue
        found: tuple[Sector, HtsPrefix] | None = rules.by_prefix.get(digits[:length])
        if found is not None:
            sector, prefix = found
            return SectorMatch(sector, prefix.certainty, "hts", prefix.prefix)
    return None


def sector_for_material(material: str | None, rules: SectorRules) -> SectorMatch | None:
    """The longest keyword found in a material description, first by position."""
    if not material:
        return None
    folded = fold(material)
    tokens = words(folded)
    best: tuple[int, int, str] | None = None  # (-words, position, key)
    for i, token in enumerate(tokens):
        if token not in rules.keyword_first_tokens:
            continue
        for size in range(min(rules.max_keyword_words, len(tokens) - i), 0, -1):
            key = " ".join(tokens[i : i + size])
            if key in rules.keywords:
                candidate = (-size, i, key)
                if best is None or candidate < best:
                    best = candidate
                break
    if best is not None:
        return SectorMatch(rules.keywords[best[2]], "keyword", "keyword", best[2])
    for run in CJK_RUN.findall(folded):
        for keyword, sector in rules.cjk_keywords:
            if keyword in run:
                return SectorMatch(sector, "keyword", "keyword", keyword)
    return None


def sector_for(
    hts_code: str | None, material: str | None, rules: SectorRules
) -> SectorMatch | None:
    return sector_for_hts(hts_code, rules) or sector_for_material(material, rules)
