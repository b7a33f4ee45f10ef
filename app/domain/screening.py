"""Entity-list matches as the assessment engine receives them.

The screening package computes these (it owns normalisation, the index and the scorer);
the engine only interprets them. Keeping the hits a plain input keeps the engine pure and
replayable: the same manifest, rules and hits give the same assessment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Band(StrEnum):
    STRONG = "strong"
    POSSIBLE = "possible"


@dataclass(frozen=True, slots=True)
class ListMatch:
    list: str  # source id: uflpa, ofac_sdn, ofac_cons, bis_entity, eu_2020_1998, uk, ca, ...
    entry_id: str
    name: str  # the listed (primary) name
    matched_alias: str  # the name or alias of the entry that produced the best score
    score: float  # 0..1
    band: Band
    explanation: Mapping[str, Any] = field(default_factory=dict)
    programs: tuple[str, ...] = ()  # e.g. GLOMAG, UHRPA, section (i)/(v) for UFLPA

    def to_dict(self) -> dict[str, Any]:
        return {
            "list": self.list,
            "entry_id": self.entry_id,
            "name": self.name,
            "matched_alias": self.matched_alias,
            "score": round(self.score, 4),
            "band": self.band.value,
            "programs": list(self.programs),
            "explanation": dict(self.explanation),
        }


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    """Matches per party path, plus the versions that produced them."""

    matches: Mapping[str, tuple[ListMatch, ...]] = field(default_factory=dict)
    lists_version: Mapping[str, str] = field(default_factory=dict)
    matcher_version: str = "none"


EMPTY_SCREENING = ScreeningResult()
