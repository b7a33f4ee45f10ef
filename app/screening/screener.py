"""Screen party names against loaded lists: retrieve candidates, score, explain.

`Screener(entries)` builds the index once (seconds for ~70,000 names). `screen()` returns one
ListMatch per entry whose best alias scores in the possible band or above, best first. Every
match carries an explanation with stable keys (see `_explain`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from app.domain.screening import Band, ListMatch
from app.screening.countries import country_code, same_family
from app.screening.entry import ListEntry, Schema
from app.screening.index import NameIndex, form_schema
from app.screening.normalize import fold, name_forms
from app.screening.scorer import MATCHER_VERSION, PairScore, PreparedForm, prepare, score_pair

COUNTRY_AGREE = 0.03
COUNTRY_CONFLICT = -0.15
ADDRESS_AGREE_STRONG = 0.05  # two or more distinctive address words shared
ADDRESS_AGREE_WEAK = 0.02  # one shared

_ADDRESS_WORD = re.compile(r"[^\W_]{3,}")
_ADDRESS_COMMON = frozenset(
    """
    road street avenue lane district city county province region autonomous village town
    building floor room unit china prc zone industrial park area east west north south
    development economic technological and the no number
    """.split()  # noqa: SIM905
)


@dataclass(frozen=True, slots=True)
class ScreenQuery:
    name: str
    country: str | None = None
    address: str | None = None
    schema: Schema | None = None


def band_for(score: float, strong: float, possible: float) -> Band | None:
    if score >= strong:
        return Band.STRONG
    if score >= possible:
        return Band.POSSIBLE
    return None


def address_words(text: str) -> set[str]:
    return {w for w in _ADDRESS_WORD.findall(fold(text)) if w not in _ADDRESS_COMMON}


def qualifiers(
    entry: ListEntry, country: str | None, address: str | None
) -> tuple[float, dict[str, Any]]:
    """Country agreement/conflict and address agreement: adjustments added to the name score."""
    detail: dict[str, Any] = {}
    total = 0.0
    if country:
        code = country_code(country)
        listed = list(entry.countries)
        if not listed:
            outcome, adjustment = "unknown", 0.0
        elif code in listed:
            outcome, adjustment = "agree", COUNTRY_AGREE
        elif any(same_family(code, c) for c in listed):
            outcome, adjustment = "same_region", 0.0
        else:
            outcome, adjustment = "conflict", COUNTRY_CONFLICT
        detail["country"] = {
            "query": code,
            "listed": listed,
            "outcome": outcome,
            "adjustment": adjustment,
        }
        total += adjustment
    if address and entry.addresses:
        query_words = address_words(address)
        best: set[str] = set()
        for listed_address in entry.addresses:
            shared = query_words & address_words(listed_address)
            if len(shared) > len(best):
                best = shared
        adjustment = ADDRESS_AGREE_STRONG if len(best) >= 2 else ADDRESS_AGREE_WEAK if best else 0.0
        detail["address"] = {"shared_words": sorted(best), "adjustment": adjustment}
        total += adjustment
    return total, detail


def _explain(
    query_name: str,
    q: PreparedForm,
    c: PreparedForm,
    pair: PairScore,
    alias: str,
    qualifier_detail: dict[str, Any],
    final: float,
) -> dict[str, Any]:
    def tok(form: PreparedForm, i: int) -> dict[str, Any]:
        t = form.tokens[i]
        return {"token": t.raw, "norm": t.text, "kind": t.kind, "weight": round(form.weights[i], 3)}

    aligned = [
        {
            "query": q.tokens[i].raw,
            "candidate": c.tokens[j].raw,
            "query_norm": q.tokens[i].text,
            "candidate_norm": c.tokens[j].text,
            "kind": c.tokens[j].kind,
            "similarity": round(sim, 3),
            "weight": round(w, 3),
        }
        for i, j, sim, w in sorted(pair.pairs)
    ]
    aligned += [
        {
            "query": " ".join(q.tokens[i].raw for i in qi),
            "candidate": " ".join(c.tokens[j].raw for j in cj),
            "query_norm": "".join(q.tokens[i].text for i in qi),
            "candidate_norm": "".join(c.tokens[j].text for j in cj),
            "kind": "joined",
            "similarity": round(sim, 3),
            "weight": round(w, 3),
        }
        for qi, cj, sim, w in pair.joined
    ]
    return {
        "matcher_version": MATCHER_VERSION,
        "query": query_name,
        "matched_alias": alias,
        "query_form": q.form.variant,
        "candidate_form": c.form.variant,
        "aligned": aligned,
        "unmatched_query": [tok(q, i) for i in pair.unmatched_query],
        "unmatched_candidate": [tok(c, j) for j in pair.unmatched_candidate],
        "legal_forms_ignored": {"query": list(q.form.legal), "candidate": list(c.form.legal)},
        "pinyin_used": q.form.pinyin or c.form.pinyin,
        "penalties": {k: round(v, 3) for k, v in pair.penalties.items()},
        "name_score": round(pair.score, 4),
        "qualifiers": qualifier_detail,
        "score": round(final, 4),
    }


class Screener:
    def __init__(
        self, entries: Iterable[ListEntry], strong: float = 0.90, possible: float = 0.75
    ) -> None:
        if not 0 < possible <= strong <= 1:
            raise ValueError("thresholds must satisfy 0 < possible <= strong <= 1")
        self.strong = strong
        self.possible = possible
        self.index = NameIndex(list(entries))

    @property
    def names_indexed(self) -> int:
        return self.index.names_indexed

    def _query_forms(self, name: str, schema: Schema | None) -> list[PreparedForm]:
        return [self.index.prepare_query(f) for f in name_forms(name, schema)]

    def screen(
        self,
        name: str,
        country: str | None = None,
        address: str | None = None,
        schema: Schema | None = None,
        *,
        exhaustive: bool = False,
    ) -> list[ListMatch]:
        """Matches in the possible band or above, best first, one (best alias) per entry.

        `exhaustive=True` scores every indexed form (slow; used to audit the index recall).
        """
        best: dict[int, tuple[float, PreparedForm, PairScore, str, int]] = {}
        index = self.index
        # No candidate below this name score can reach the possible band, whatever qualifiers add.
        floor_score = self.possible - COUNTRY_AGREE - ADDRESS_AGREE_STRONG
        for q in self._query_forms(name, schema):
            group_ids: Iterable[int] = (
                index.all_group_ids() if exhaustive else index.candidates(q, floor_score)
            )
            for group_id in group_ids:
                group = index.groups[group_id]
                if schema is not None and (schema == Schema.PERSON) != group.person:
                    continue
                pair = score_pair(q, group.prepared, person=group.person)
                if pair.score <= 0:
                    continue
                for form_id in group.members:
                    indexed = index.forms[form_id]
                    current = best.get(indexed.entry)
                    if current is None or pair.score > current[0]:
                        best[indexed.entry] = (pair.score, q, pair, indexed.alias, form_id)
        matches: list[ListMatch] = []
        for position, (name_score, q, pair, alias, form_id) in best.items():
            if name_score + COUNTRY_AGREE + ADDRESS_AGREE_STRONG < self.possible:
                continue
            entry = self.index.entries[position]
            adjustment, detail = qualifiers(entry, country, address)
            final = max(0.0, min(1.0, name_score + adjustment))
            band = band_for(final, self.strong, self.possible)
            if band is None:
                continue
            explanation = _explain(
                name, q, self.index.forms[form_id].prepared, pair, alias, detail, final
            )
            explanation["entry"] = {
                "schema": entry.schema.value,
                "section": entry.section,
                "notes": list(entry.notes),
                "linked_to": list(entry.linked_to),
            }
            matches.append(
                ListMatch(
                    list=entry.list_id,
                    entry_id=entry.entry_id,
                    name=entry.name,
                    matched_alias=alias,
                    score=final,
                    band=band,
                    explanation=explanation,
                    programs=entry.programs,
                )
            )
        matches.sort(key=lambda m: (-m.score, m.list, m.entry_id))
        return matches

    def screen_many(self, queries: Iterable[ScreenQuery | str]) -> list[list[ListMatch]]:
        out: list[list[ListMatch]] = []
        for query in queries:
            if isinstance(query, str):
                query = ScreenQuery(query)
            out.append(self.screen(query.name, query.country, query.address, query.schema))
        return out

    def compare(
        self,
        a: str,
        b: str,
        schema: Schema | None = None,
        country_a: str | None = None,
        country_b: str | None = None,
    ) -> tuple[float, Band | None, dict[str, Any]]:
        """Score two names with this screener's list statistics (rarity weights)."""
        return _compare(
            a, b, schema, country_a, country_b, self.index.rarity, self.strong, self.possible
        )


def _compare(
    a: str,
    b: str,
    schema: Schema | None,
    country_a: str | None,
    country_b: str | None,
    rarity: Any,
    strong: float,
    possible: float,
) -> tuple[float, Band | None, dict[str, Any]]:
    best: tuple[float, PreparedForm, PreparedForm, PairScore] | None = None
    person = schema == Schema.PERSON
    for fa in name_forms(a, schema):
        qa = prepare(fa, rarity)
        for fb in name_forms(b, form_schema(schema) if schema else None):
            cb = prepare(fb, rarity)
            pair = score_pair(qa, cb, person=person)
            if best is None or pair.score > best[0]:
                best = (pair.score, qa, cb, pair)
    if best is None:
        return 0.0, None, {"matcher_version": MATCHER_VERSION, "score": 0.0, "aligned": []}
    name_score, qa, cb, pair = best
    detail: dict[str, Any] = {}
    adjustment = 0.0
    if country_a and country_b and name_score > 0:
        ca, cb_code = country_code(country_a), country_code(country_b)
        if ca == cb_code:
            outcome, adjustment = "agree", COUNTRY_AGREE
        elif same_family(ca, cb_code):
            outcome = "same_region"
        else:
            outcome, adjustment = "conflict", COUNTRY_CONFLICT
        detail["country"] = {
            "query": ca,
            "listed": [cb_code],
            "outcome": outcome,
            "adjustment": adjustment,
        }
    final = max(0.0, min(1.0, name_score + adjustment))
    return final, band_for(final, strong, possible), _explain(a, qa, cb, pair, b, detail, final)


def compare(
    a: str,
    b: str,
    schema: Schema | None = None,
    country_a: str | None = None,
    country_b: str | None = None,
    strong: float = 0.90,
    possible: float = 0.75,
) -> tuple[float, Band | None, dict[str, Any]]:
    """Score two names without list statistics (every core token weighs 1)."""
    from app.screening.scorer import uniform_rarity

    return _compare(a, b, schema, country_a, country_b, uniform_rarity, strong, possible)


def screen_entries(
    entries: Sequence[ListEntry], names: Iterable[str]
) -> list[list[ListMatch]]:  # convenience for scripts
    return Screener(entries).screen_many(names)
