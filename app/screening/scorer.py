"""Pairwise name scorer: token alignment with weights, typo tolerance and penalties.

Pure. A score is the weighted share of aligned tokens:

    score = sum(w_pair * similarity) / (sum(w_pair) + unmatched_query_w * EXTRA_QUERY
                                        + unmatched_candidate_w * EXTRA_CANDIDATE)

minus penalties (numbers that disagree, reordered organisation names, more when generic words
swap roles) and capped for generated acronyms and for pairs whose distinctive tokens do not
align near-exactly. Token weights: core tokens by rarity across the lists (IDF), generic
industry words and place names low, legal forms and stop words zero (never tokens at all).

Strong needs every distinctive token (a core token rare across the lists, outside
parentheses) of the name with fewer of them to align near-exactly: equal text (after
abbreviation folding and pinyin), a joined span that spells it, an adjacent-letter swap, or
one edit in a token of eight or more letters that is not one pinyin name turned into another.
A short brand token one letter away ("Daqing" for "Daqin") is another firm as often as a slip,
so such a pair stays a lead for review (DISTINCTIVE_CAP) rather than a strong match.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA

from app.screening.normalize import (
    CORE,
    GENERIC_KIND,
    NUMBER,
    PLACE,
    STOP,
    NameForm,
    Token,
    is_pinyin,
    is_transposition,
)

MATCHER_VERSION = "uflpa-names-2026.11-2"

BASE_WEIGHT: dict[str, float] = {CORE: 1.0, GENERIC_KIND: 0.25, PLACE: 0.3, NUMBER: 1.0, STOP: 0.0}
PROMOTED_WEIGHT = 0.6  # generic/place tokens of a name with no core token (e.g. XPCC in full)
PAREN_FACTOR = 0.5  # "(Shanshan)": a qualifier inside the name
EXTRA_QUERY = 1.0  # unmatched query tokens: the document names something the list does not
EXTRA_CANDIDATE = 0.6  # unmatched listed tokens: documents often shorten names
ORDER_PENALTY = 0.02  # reordered organisation tokens: a tie-breaker, not a barrier
# Two generic words in swapped order changed roles ("Construction Products" is not "Production
# and Construction"): the head noun says what the organisation is.
GENERIC_SWAP_PENALTY = 0.15
DISTINCTIVE_RARITY = 0.5  # core tokens at least this rare must align near-exactly for strong
DISTINCTIVE_CAP = 0.85  # below the default strong band (0.90), above possible (0.75)
NEAR_EXACT_TYPO_LEN = 8  # one edit keeps a token "near-exact" only from this length
NUMBER_PENALTY = 0.3  # "No. 4" vs "No. 5": different entities
ACRONYM_CAP = 0.85  # a generated acronym alone is a lead for review, never a strong match
HOMOPHONE_SIMILARITY = 0.9  # same pinyin, different characters
PREFIX_SIMILARITY = 0.85  # "ACCESS" for "accessories" when not in the abbreviation table
ORG_EDIT_COST = 0.6  # similarity lost per edit, relative to token length
PERSON_EDIT_COST = 1.5
MAX_JOIN = 4  # up to four adjacent tokens may spell one token on the other side
JOIN_PIECE_MAX = 6  # the longest pinyin syllable (zhuang, shuang)
JOIN_LENGTH_SLACK = 2  # a joined span may be this many letters longer or shorter than its target

Rarity = Callable[[str], float]


def uniform_rarity(_text: str) -> float:
    return 1.0


@dataclass(frozen=True, slots=True)
class PreparedForm:
    form: NameForm
    tokens: tuple[Token, ...]
    weights: tuple[float, ...]
    total: float
    joinable: tuple[bool, ...]  # short enough to be one piece of a joined span
    texts: frozenset[str]
    distinctive: tuple[bool, ...] = ()  # rare core tokens outside parentheses
    letters: frozenset[str] = frozenset()  # first letters of every token's text and surface
    piece: tuple[bool, ...] = ()  # joinable and next to a joinable token: may be in a span
    longest: dict[str, int] = field(default_factory=dict)  # first letter -> longest token text
    heads: tuple[tuple[str, str, str], ...] = ()  # per token: text, its first letter, surface's
    any_piece: bool = False


def prepare(form: NameForm, rarity: Rarity = uniform_rarity) -> PreparedForm:
    has_core = any(t.kind in (CORE, NUMBER) for t in form.tokens)
    weights: list[float] = []
    for token in form.tokens:
        if token.kind == CORE:
            w = rarity(token.text)
        elif not has_core and token.kind in (GENERIC_KIND, PLACE):
            w = PROMOTED_WEIGHT
        else:
            w = BASE_WEIGHT.get(token.kind, 0.0)
        if token.paren:
            w *= PAREN_FACTOR
        weights.append(w)
    joinable = tuple(len(t.text) <= JOIN_PIECE_MAX for t in form.tokens)
    texts = frozenset(t.text for t in form.tokens)
    distinctive = tuple(
        t.kind == CORE and not t.paren and rarity(t.text) >= DISTINCTIVE_RARITY for t in form.tokens
    )
    letters = frozenset(t.text[:1] for t in form.tokens) | frozenset(t.raw[:1] for t in form.tokens)
    piece = tuple(
        ok and ((i > 0 and joinable[i - 1]) or (i + 1 < len(joinable) and joinable[i + 1]))
        for i, ok in enumerate(joinable)
    )
    longest: dict[str, int] = {}
    for t in form.tokens:
        longest[t.text[:1]] = max(longest.get(t.text[:1], 0), len(t.text))
    return PreparedForm(
        form,
        form.tokens,
        tuple(weights),
        sum(weights),
        joinable,
        texts,
        distinctive,
        letters,
        piece,
        longest,
        tuple((t.text, t.text[:1], t.raw[:1]) for t in form.tokens),
        any(piece),
    )


def _span_alignable(a: PreparedForm, b: PreparedForm) -> list[float]:
    """Weights of a's tokens that score_pair could align with anything in b.

    A token pairs alone only on equal text or a shared first letter (every other similarity
    needs one). It joins a span only if the span starts with a token whose first letter starts
    one of b's tokens and the span's letters fit that token's length plus the join slack."""
    texts, letters, longest = b.texts, b.letters, b.longest
    ok = [t in texts or f in letters or r in letters for t, f, r in a.heads]
    tokens = a.tokens
    joinable = a.joinable
    for k, piece in enumerate(a.piece):
        if not piece:
            continue
        limit = longest.get(a.heads[k][1])
        if limit is None:
            continue
        limit += JOIN_LENGTH_SLACK
        length = len(tokens[k].text)
        for j in range(k + 1, min(len(tokens), k + MAX_JOIN)):
            length += len(tokens[j].text)
            if not joinable[j] or length > limit:
                break
            ok[j] = True
    return [w for w, yes in zip(a.weights, ok, strict=True) if yes]


def _bound(q: PreparedForm, c: PreparedForm, from_q: list[float], from_c: list[float]) -> float:
    if not from_q or not from_c:
        return 0.0
    # A token on one side takes at most MAX_JOIN on the other: keep the heaviest that fit.
    if len(from_q) > MAX_JOIN * len(from_c):
        from_q = sorted(from_q, reverse=True)[: MAX_JOIN * len(from_c)]
    if len(from_c) > MAX_JOIN * len(from_q):
        from_c = sorted(from_c, reverse=True)[: MAX_JOIN * len(from_q)]
    aligned_q = sum(from_q)
    aligned_c = sum(from_c)
    matched = (aligned_q + aligned_c) / 2
    denominator = (
        matched + (q.total - aligned_q) * EXTRA_QUERY + (c.total - aligned_c) * EXTRA_CANDIDATE
    )
    return matched / denominator if denominator > 0 else 0.0


def score_upper_bound(q: PreparedForm, c: PreparedForm, floor: float = 1.0) -> float:
    """A bound that score_pair(q, c).score never exceeds, from token weights and first letters
    alone (microseconds instead of a full alignment), so hopeless candidates are not scored.

    score = credit / (matched + EXTRA_QUERY * unmatched_q + EXTRA_CANDIDATE * unmatched_c) with
    credit <= matched = (aligned query weight + aligned candidate weight) / 2, which only grows
    with the aligned weights. Each candidate token takes one query token or a span of at most
    MAX_JOIN (and the other way round), so at most MAX_JOIN tokens per alignable token on the
    other side count. Penalties and caps only lower the score. Span pieces are checked
    only when the cheaper bound (every piece counted) reaches `floor`.
    """
    if q.form.variant == "acronym" or c.form.variant == "acronym":
        return 1.0
    c_texts, c_letters = c.texts, c.letters
    from_q = [
        w
        for (t, f, r), w, piece in zip(q.heads, q.weights, q.piece, strict=True)
        if piece or t in c_texts or f in c_letters or r in c_letters
    ]
    q_texts, q_letters = q.texts, q.letters
    from_c = [
        w
        for (t, f, r), w, piece in zip(c.heads, c.weights, c.piece, strict=True)
        if piece or t in q_texts or f in q_letters or r in q_letters
    ]
    loose = _bound(q, c, from_q, from_c)
    if loose < floor or not (q.any_piece or c.any_piece):
        return loose
    return _bound(q, c, _span_alignable(q, c), _span_alignable(c, q))


def near_exact(a: str, b: str) -> bool:
    """Close enough for a distinctive token to support a strong match (see module docstring)."""
    if a == b:
        return True
    if len(a) >= 5 and is_transposition(a, b):
        return True
    if max(len(a), len(b)) < NEAR_EXACT_TYPO_LEN or a[0] != b[0]:
        return False
    if abs(len(a) - len(b)) > 1 or OSA.distance(a, b, score_cutoff=1) > 1:
        return False
    return not (is_pinyin(a) and is_pinyin(b))


def typo_similarity(a: str, b: str, person: bool) -> float:
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) <= 3 or short[0] != long_[0]:
        return 0.0
    if person:
        # Chinese given names are short syllable compounds: one letter changes the person
        # ("Lijun" is not "Liujun"), so a person typo is at most a possible match.
        allowed, cost = (1 if len(long_) >= 6 else 0), PERSON_EDIT_COST
    else:
        allowed, cost = (1 if len(long_) <= 7 else 2), ORG_EDIT_COST
    if allowed == 0 or len(long_) - len(short) > allowed:
        return 0.0
    distance = OSA.distance(short, long_, score_cutoff=allowed)
    if distance > allowed:
        return 0.0
    return 1.0 - cost * distance / len(long_)


def token_similarity(a: Token, b: Token, person: bool = False) -> float:
    if a.kind == NUMBER or b.kind == NUMBER:
        return 1.0 if a.text == b.text else 0.0
    if a.text == b.text:
        return HOMOPHONE_SIMILARITY if a.han and b.han and a.raw != b.raw else 1.0
    if a.han or b.han:
        return typo_similarity(a.text, b.text, person)
    short, long_ = (a.text, b.text) if len(a.text) <= len(b.text) else (b.text, a.text)
    if not person and len(short) >= 4 and len(long_) >= 6 and long_.startswith(short):
        return PREFIX_SIMILARITY  # an abbreviation the table does not know ("ACCESS")
    best = typo_similarity(a.text, b.text, person)
    if a.raw != a.text or b.raw != b.text:
        # A typo in a word the abbreviation table would have folded ("Indutsrial"):
        # compare the surface forms too.
        best = max(best, typo_similarity(a.raw, b.raw, person))
    return best


@dataclass(slots=True)
class PairScore:
    score: float
    pairs: list[tuple[int, int, float, float]] = field(default_factory=list)  # i, j, sim, w
    joined: list[tuple[tuple[int, ...], tuple[int, ...], float, float]] = field(
        default_factory=list
    )
    unmatched_query: list[int] = field(default_factory=list)
    unmatched_candidate: list[int] = field(default_factory=list)
    penalties: dict[str, float] = field(default_factory=dict)


def _join_pass(
    q: PreparedForm,
    c: PreparedForm,
    free_q: set[int],
    free_c: set[int],
    out: list[tuple[tuple[int, ...], tuple[int, ...], float, float]],
    swap: bool,
    person: bool,
    exact: bool,
) -> None:
    """Adjacent unmatched tokens on one side that spell one token on the other: separated
    pinyin syllables ("Xin Jiang Sheng Chan" / "xinjiang shengchan"), "O Film" / "OFilm"."""
    if not free_c:
        return
    # Runs of adjacent, unmatched, syllable-sized tokens: the only spans worth joining.
    runs: list[list[int]] = []
    run: list[int] = []
    for i, ok in enumerate(q.joinable):
        if ok and i in free_q:
            run.append(i)
            continue
        if len(run) >= 2:
            runs.append(run)
        run = []
    if len(run) >= 2:
        runs.append(run)
    if not runs:
        return
    tokens = q.tokens
    by_text = {c.tokens[j].text: j for j in free_c} if exact else {}
    for run in runs:
        for size in range(min(MAX_JOIN, len(run)), 1, -1):
            for k in range(len(run) - size + 1):
                span = tuple(run[k : k + size])
                if not free_q.issuperset(span):
                    continue
                text = "".join(tokens[i].text for i in span)
                if exact:
                    j_exact = by_text.get(text)
                    if j_exact is None or j_exact not in free_c:
                        continue
                    targets = [j_exact]
                else:
                    targets = [
                        j
                        for j in sorted(free_c)
                        if abs(len(c.tokens[j].text) - len(text)) <= JOIN_LENGTH_SLACK
                        and c.tokens[j].text[0] == text[0]
                    ]
                    if not targets:
                        continue
                joined = Token(
                    text,
                    CORE,
                    "".join(tokens[i].raw for i in span),
                    han=all(tokens[i].han for i in span),
                )
                for j in targets:
                    sim = token_similarity(joined, c.tokens[j], person)
                    if sim > 0:
                        w = (sum(q.weights[i] for i in span) + c.weights[j]) / 2
                        out.append((span, (j,), sim, w) if not swap else ((j,), span, sim, w))
                        free_q.difference_update(span)
                        free_c.discard(j)
                        break


def score_pair(q: PreparedForm, c: PreparedForm, person: bool = False) -> PairScore:
    if q.form.variant == "acronym" or c.form.variant == "acronym":
        # A generated acronym only ever meets a published one-word name, never another
        # generated acronym ("Aksu Cotton Co." is not "Afghan-German Construction Co.").
        # Initials carry no spelling to be tolerant about: only an exact match counts.
        both = q.form.variant == c.form.variant
        if both or len(q.tokens) != 1 or len(c.tokens) != 1:
            return PairScore(0.0)
        if q.tokens[0].text != c.tokens[0].text:
            return PairScore(0.0, unmatched_query=[0], unmatched_candidate=[0])
    candidates: list[tuple[float, float, int, int]] = []
    for i, qt in enumerate(q.tokens):
        q_text, q_raw = qt.text, qt.raw
        for j, ct in enumerate(c.tokens):
            # Every similarity but equality needs the same first letter (text or surface).
            if ct.text != q_text and ct.text[0] != q_text[0] and ct.raw[:1] != q_raw[:1]:
                continue
            sim = token_similarity(qt, ct, person)
            if sim > 0:
                candidates.append((sim * (q.weights[i] + c.weights[j]), sim, i, j))
    candidates.sort(reverse=True)
    free_q = set(range(len(q.tokens)))
    free_c = set(range(len(c.tokens)))
    result = PairScore(0.0)
    # Exact tokens, then exact joined spellings, then typos and abbreviations: "Zhong He"
    # must spell "zhonghe" before "zhong" can claim it as a prefix.
    for _, sim, i, j in candidates:
        if i in free_q and j in free_c and q.tokens[i].text == c.tokens[j].text:
            free_q.discard(i)
            free_c.discard(j)
            result.pairs.append((i, j, sim, (q.weights[i] + c.weights[j]) / 2))
    joinable = len(free_q) >= 2 or len(free_c) >= 2
    if joinable:
        _join_pass(q, c, free_q, free_c, result.joined, False, person, True)
        _join_pass(c, q, free_c, free_q, result.joined, True, person, True)
    for _, sim, i, j in candidates:
        if i in free_q and j in free_c:
            free_q.discard(i)
            free_c.discard(j)
            result.pairs.append((i, j, sim, (q.weights[i] + c.weights[j]) / 2))
    if joinable:
        _join_pass(q, c, free_q, free_c, result.joined, False, person, False)
        _join_pass(c, q, free_c, free_q, result.joined, True, person, False)

    matched_w = sum(w for *_, w in result.pairs) + sum(w for *_, w in result.joined)
    credit = sum(s * w for *_, s, w in result.pairs) + sum(s * w for *_, s, w in result.joined)
    extra_q = sum(q.weights[i] for i in free_q)
    extra_c = sum(c.weights[j] for j in free_c)
    denominator = matched_w + extra_q * EXTRA_QUERY + extra_c * EXTRA_CANDIDATE
    if denominator <= 0 or credit <= 0:
        return PairScore(0.0, unmatched_query=sorted(free_q), unmatched_candidate=sorted(free_c))
    score = credit / denominator

    q_numbers = {t.text for t in q.tokens if t.kind == NUMBER}
    c_numbers = {t.text for t in c.tokens if t.kind == NUMBER}
    if q_numbers and c_numbers and q_numbers != c_numbers:
        result.penalties["number_mismatch"] = -NUMBER_PENALTY
    if not person and len(result.pairs) >= 2:
        ordered = sorted(result.pairs)
        inverted = False
        generic_swap = False
        for k, (_, j1, _, _) in enumerate(ordered):
            for i2, j2, _, _ in ordered[k + 1 :]:
                if j2 < j1:
                    inverted = True
                    if (
                        q.tokens[ordered[k][0]].kind == GENERIC_KIND
                        and q.tokens[i2].kind == GENERIC_KIND
                    ):
                        generic_swap = True
        if inverted:
            result.penalties["token_order"] = -ORDER_PENALTY
        if generic_swap:
            result.penalties["generic_role_swap"] = -GENERIC_SWAP_PENALTY
    score += sum(result.penalties.values())
    if score > DISTINCTIVE_CAP and not _distinctive_aligned(q, c, result):
        result.penalties["distinctive_not_exact"] = DISTINCTIVE_CAP - score
        score = DISTINCTIVE_CAP
    if "acronym" in (q.form.variant, c.form.variant) and score > ACRONYM_CAP:
        result.penalties["acronym_cap"] = ACRONYM_CAP - score
        score = ACRONYM_CAP
    result.score = max(0.0, min(1.0, score))
    result.unmatched_query = sorted(free_q)
    result.unmatched_candidate = sorted(free_c)
    return result


def _distinctive_aligned(q: PreparedForm, c: PreparedForm, pair: PairScore) -> bool:
    """Every distinctive token of the side with fewer of them aligns near-exactly."""
    exact_q: set[int] = set()
    exact_c: set[int] = set()
    for i, j, _, _ in pair.pairs:
        a, b = q.tokens[i], c.tokens[j]
        if near_exact(a.text, b.text) or (a.raw != a.text and near_exact(a.raw, b.raw)):
            exact_q.add(i)
            exact_c.add(j)
    for qi, cj, _, _ in pair.joined:
        q_text = "".join(q.tokens[i].text for i in qi)
        c_text = "".join(c.tokens[j].text for j in cj)
        if near_exact(q_text, c_text):
            exact_q.update(qi)
            exact_c.update(cj)
    need_q = [i for i, d in enumerate(q.distinctive) if d]
    need_c = [j for j, d in enumerate(c.distinctive) if d]
    if len(need_q) <= len(need_c) and not exact_q.issuperset(need_q):
        return False
    return not (len(need_c) <= len(need_q) and not exact_c.issuperset(need_c))
