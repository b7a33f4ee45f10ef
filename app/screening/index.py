"""In-memory candidate index over every normalised name and alias of the loaded lists.

Stage one of matching: cheap, recall-oriented. Each name form is posted under its token
texts (pinyin for Chinese). Spellings of five or more letters are also entered in a
symmetric-delete dictionary, so a query token finds its one-edit neighbours; each neighbour
is checked with the scorer's typo rule before its postings are read.
Generated acronyms live in their own postings and answer single-token queries only.

Identical normalised forms (the CSL republishes the SDN list, aliases differ only in legal
form or case) are one FormGroup: postings point at groups, so each distinct form is scored
once per query and its score fans out to every entry that carries it.

Retrieval uses the heaviest query tokens first and stops once the tokens not yet used could
not, on their own, lift a candidate into the possible band; a candidate is kept if the weight
it shares with the query plus that unused weight still could.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from app.screening.entry import ListEntry, Schema
from app.screening.normalize import CORE, STOP, NameForm, Token, name_forms
from app.screening.scorer import PreparedForm, prepare, score_upper_bound, typo_similarity

FUZZY_MIN_LEN = 5
RARITY_FLOOR = 0.35  # the commonest core token still counts a third of a rare one
RARITY_SCALE = math.log(1000.0)  # a token in 1 of 1,000 names or rarer weighs 1.0
UNRETRIEVED_SHARE = 0.35  # stop using tokens once the rest weigh less than this share
KEEP_SHARE = 0.5  # keep candidates that could still reach this share of the query weight
MAX_CANDIDATES = 300
RANK_LIMIT = 60  # candidates scored per query form when retrieval finds more
BOUND_BUDGET = 240  # candidates whose score bound is computed per query form, best estimate first
CANDIDATE_FLOOR = 0.6  # best reachable score a candidate needs to be scored at all
NEIGHBOUR_CACHE_SIZE = 65536  # entries in each memo (typo neighbours, prepared queries)


def deletions(text: str) -> set[str]:
    return {text[:i] + text[i + 1 :] for i in range(len(text))} | {text}


def form_schema(schema: Schema) -> Schema | None:
    """Vessels and aircraft are named like organisations."""
    return Schema.PERSON if schema == Schema.PERSON else None


@dataclass(frozen=True, slots=True)
class IndexedForm:
    entry: int  # position in NameIndex.entries
    alias: str  # the published name or alias this form came from
    prepared: PreparedForm


@dataclass(frozen=True, slots=True)
class FormGroup:
    """One distinct normalised form and every indexed form (entry alias) that has it."""

    prepared: PreparedForm  # the first member's; members differ only in legal forms and case
    person: bool  # scored with person rules (the key includes it, so members agree)
    members: tuple[int, ...]  # ids into NameIndex.forms


class NameIndex:
    def __init__(self, entries: Sequence[ListEntry]) -> None:
        self.entries: tuple[ListEntry, ...] = tuple(entries)
        raw: list[tuple[int, str, NameForm]] = []
        document_frequency: dict[str, int] = {}
        for position, entry in enumerate(self.entries):
            for alias in entry.names():
                for form in name_forms(alias, form_schema(entry.schema), acronyms=True):
                    raw.append((position, alias, form))
                    if form.variant != "acronym":
                        for text in {t.text for t in form.tokens if t.kind == CORE}:
                            document_frequency[text] = document_frequency.get(text, 0) + 1
        self.names_indexed = sum(len(e.names()) for e in self.entries)
        self._df = document_frequency
        self._n = max(1, len({(p, a) for p, a, _ in raw}))
        self.forms: list[IndexedForm] = []
        self.groups: list[FormGroup] = []
        # Postings hold group ids (one per distinct normalised form).
        self.exact: dict[str, list[int]] = {}
        self.by_surface: dict[str, list[int]] = {}  # unfolded spelling when it differs
        self.acronyms: dict[str, list[int]] = {}
        surfaces: set[str] = set()
        group_of: dict[tuple[str, tuple[Token, ...], bool], int] = {}
        members: list[list[int]] = []
        prepared_groups: list[tuple[PreparedForm, bool]] = []
        for position, alias, form in raw:
            form_id = len(self.forms)
            person = self.entries[position].schema == Schema.PERSON
            group_key = (form.variant, form.tokens, person)
            group_id = group_of.get(group_key)
            if group_id is not None:
                # Same tokens, same weights: share the prepared form too (less memory).
                prepared = prepared_groups[group_id][0]
                if prepared.form is not form:
                    prepared = replace(prepared, form=form)
                self.forms.append(IndexedForm(position, alias, prepared))
                members[group_id].append(form_id)
                continue
            prepared = prepare(form, self.rarity)
            self.forms.append(IndexedForm(position, alias, prepared))
            group_id = len(members)
            group_of[group_key] = group_id
            members.append([form_id])
            prepared_groups.append((prepared, person))
            if form.variant == "acronym":
                self.acronyms.setdefault(form.tokens[0].text, []).append(group_id)
                continue
            for token in {t.text: t for t in form.tokens if t.kind != STOP}.values():
                self.exact.setdefault(token.text, []).append(group_id)
                if token.han:
                    continue
                if token.raw != token.text:
                    self.by_surface.setdefault(token.raw, []).append(group_id)
                surfaces.update(x for x in (token.text, token.raw) if len(x) >= FUZZY_MIN_LEN)
        self.groups = [
            FormGroup(prepared, person, tuple(ids))
            for (prepared, person), ids in zip(prepared_groups, members, strict=True)
        ]
        # Symmetric-delete dictionary over distinct spellings (not postings): a query token's
        # neighbours are verified with the scorer's own typo rule before any posting is read.
        self._neighbour_cache: dict[str, frozenset[str]] = {}
        self._query_cache: dict[NameForm, PreparedForm] = {}
        self.neighbours: dict[str, list[str]] = {}
        for surface in surfaces:
            for key in deletions(surface):
                self.neighbours.setdefault(key, []).append(surface)

    def typo_neighbours(self, surface: str) -> frozenset[str]:
        """Listed spellings one typo away; memoised (supplier and brand words recur across
        manifests, and the answer depends only on the word and the index)."""
        cached = self._neighbour_cache.get(surface)
        if cached is not None:
            return cached
        found: set[str] = set()
        for key in deletions(surface):
            for candidate in self.neighbours.get(key, ()):
                if (
                    candidate != surface
                    and candidate not in found
                    and typo_similarity(surface, candidate, False) > 0
                ):
                    found.add(candidate)
        if len(self._neighbour_cache) >= NEIGHBOUR_CACHE_SIZE:
            self._neighbour_cache.clear()  # crude but bounded; refills with the words in use
        result = self._neighbour_cache[surface] = frozenset(found)
        return result

    def rarity(self, text: str) -> float:
        df = self._df.get(text, 0)
        if df <= 1:
            return 1.0
        return max(RARITY_FLOOR, min(1.0, math.log(self._n / df) / RARITY_SCALE))

    def prepare_query(self, form: NameForm) -> PreparedForm:
        """The query side of scoring, memoised per form (parties recur across shipments)."""
        cached = self._query_cache.get(form)
        if cached is None:
            if len(self._query_cache) >= NEIGHBOUR_CACHE_SIZE:
                self._query_cache.clear()
            cached = self._query_cache[form] = prepare(form, self.rarity)
        return cached

    def candidates(self, query: PreparedForm, floor_score: float = 0.0) -> list[int]:
        """Group ids worth scoring against one query form: retrieved through the postings, and
        (for `floor_score` > 0) with a score upper bound (scorer.score_upper_bound) that
        reaches it."""
        total = query.total
        if total <= 0:
            return []
        if query.form.variant == "acronym" or len(query.tokens) == 1:
            single = list(self.acronyms.get(query.tokens[0].text, ()))
            if query.form.variant == "acronym":
                return [
                    g
                    for g in self.exact.get(query.tokens[0].text, ())
                    if len(self.groups[g].prepared.tokens) == 1
                ] + single
        else:
            single = []
        order = sorted(range(len(query.tokens)), key=lambda i: -query.weights[i])
        remaining = total
        hits: dict[int, float] = {}
        for i in order:
            if remaining < UNRETRIEVED_SHARE * total:
                break
            token = query.tokens[i]
            weight = query.weights[i]
            remaining -= weight
            found: Iterable[int] = self.exact.get(token.text, ())
            if token.kind == CORE and len(token.text) >= FUZZY_MIN_LEN - 1 and not token.han:
                merged = set(found)
                for surface in {token.text, token.raw}:
                    for neighbour in self.typo_neighbours(surface):
                        merged.update(self.exact.get(neighbour, ()))
                        merged.update(self.by_surface.get(neighbour, ()))
                found = merged
            for form_id in found:
                hits[form_id] = hits.get(form_id, 0.0) + weight
        if len(hits) > MAX_CANDIDATES:
            # Too many: let the tokens not used for retrieval rank them (never add new ones).
            for i in order:
                token = query.tokens[i]
                for form_id in self.exact.get(token.text, ()):
                    if form_id in hits:
                        hits[form_id] += query.weights[i] * 0.5
        # Separated syllables ("Xin Jiang") retrieve through their joined spelling.
        short = [len(t.text) <= 6 for t in query.tokens]
        for size in (2, 3, 4):
            for start in range(len(query.tokens) - size + 1):
                if not all(short[start : start + size]):
                    continue
                key = "".join(t.text for t in query.tokens[start : start + size])
                weight = sum(query.weights[start : start + size])
                for form_id in self.exact.get(key, ()):
                    hits[form_id] = hits.get(form_id, 0.0) + weight
        floor = KEEP_SHARE * total - remaining
        kept = []
        groups = self.groups
        for form_id, hit in hits.items():
            if hit < floor:
                continue
            # The listed name's own tokens that the query cannot cover still dilute the score;
            # drop candidates that could not reach the keep share even if everything else
            # aligned (weights differ by side, hence the slack).
            reachable = min(total, hit + remaining)
            prepared = groups[form_id].prepared
            surplus = prepared.total - reachable
            if surplus > 0 and reachable / (reachable + 0.6 * surplus) < CANDIDATE_FLOOR:
                continue
            kept.append(form_id)
        if len(kept) > RANK_LIMIT:
            # Many look alike (forty "... Public Security Bureau"s): estimate each one's score
            # from the query tokens it spells exactly (or retrieved by typo) and its own
            # weight, and score only the most promising.
            texts = {t.text: w for t, w in zip(query.tokens, query.weights, strict=True)}

            def estimate(form_id: int) -> float:
                prepared = groups[form_id].prepared
                shared = sum(w for t, w in texts.items() if t in prepared.texts)
                overlap = max(shared, hits[form_id])
                own = prepared.total
                return overlap / (overlap + (total - overlap) + 0.6 * max(0.0, own - overlap))

            kept.sort(key=estimate, reverse=True)
        if floor_score > 0:
            # Score only candidates whose upper bound reaches the floor: the best-estimated
            # first, up to RANK_LIMIT of them (so near-duplicates that cannot reach the possible
            # band no longer crowd out one that can).
            survivors = []
            for form_id in kept[:BOUND_BUDGET]:
                bound = score_upper_bound(query, groups[form_id].prepared, floor_score)
                if bound >= floor_score:
                    survivors.append(form_id)
                    if len(survivors) == RANK_LIMIT:
                        break
            kept = survivors
        else:
            kept = kept[:RANK_LIMIT]
        return kept + single

    def all_group_ids(self) -> range:
        return range(len(self.groups))
