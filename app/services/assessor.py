"""Runs one assessment: screen every party at every tier, then the pure engine.

The Assessor is built once at start-up (rule set and list index) and shared by requests;
it holds no per-request state, so it is safe across threads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from app.domain.assessment import Assessment
from app.domain.engine import assess
from app.domain.manifest import Manifest, iter_parties
from app.domain.rules import RuleSet
from app.domain.screening import Band, ListMatch, ScreeningResult
from app.screening.entry import Schema


class PartyScreener(Protocol):
    def screen(
        self,
        name: str,
        country: str | None = None,
        address: str | None = None,
        schema: Schema | None = None,
    ) -> Sequence[ListMatch]: ...

    def compare(
        self,
        a: str,
        b: str,
        schema: Schema | None = None,
        country_a: str | None = None,
        country_b: str | None = None,
    ) -> tuple[float, Band | None, dict[str, Any]]: ...


SCREEN_CACHE_SIZE = 200_000


@dataclass
class Assessor:
    rules: RuleSet
    screener: PartyScreener | None = None
    lists_version: Mapping[str, str] = field(default_factory=dict)
    matcher_version: str = "none"

    def __post_init__(self) -> None:
        # The same suppliers recur across thousands of shipments, and a party's matches
        # depend only on (name, country, address) and this index. A new list version
        # builds a new Assessor, so the cache can never serve matches from old lists.
        self._screen_party = lru_cache(maxsize=SCREEN_CACHE_SIZE)(self._screen_uncached)

    def _screen_uncached(
        self, name: str, country: str | None, address: str | None
    ) -> tuple[ListMatch, ...]:
        assert self.screener is not None
        return tuple(self.screener.screen(name, country, address))

    def screen(self, manifest: Manifest) -> ScreeningResult:
        matches: dict[str, tuple[ListMatch, ...]] = {}
        if self.screener is not None:
            for path, party in iter_parties(manifest):
                found = self._screen_party(party.name, party.country, party.address)
                if found:
                    matches[path] = found
        return ScreeningResult(
            matches=matches,
            lists_version=dict(self.lists_version),
            matcher_version=self.matcher_version,
        )

    def assess(self, manifest: Manifest) -> Assessment:
        return assess(manifest, self.rules, self.screen(manifest))
