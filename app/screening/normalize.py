"""Name normalisation: text folding, tokenisation, legal forms, abbreviations, Chinese.

Pure functions of their input. The only state is the OpenCC converter and memo caches,
created lazily on first use (never at import).

A name becomes one or more NameForms (token sequences). Each Token has a comparison text
(ASCII lower case; pinyin for Chinese words, syllables joined per word: 新疆 -> xinjiang) and
a kind that decides its weight: core, generic (industry words), place, number, legal, stop.
Legal forms and stop words are kept on the form for explanations but never scored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from app.screening.entry import Schema
from app.screening.vocab import (
    CANONICAL,
    COVERAGE_PHRASES,
    GENERIC,
    HAN_COMPOUND_SURNAMES,
    HAN_GENERIC,
    HAN_LEGAL,
    HAN_PLACES,
    HAN_STOP,
    LEGAL_FORMS,
    PINYIN_SYLLABLES,
    PLACES,
    STOP_WORDS,
)

CORE = "core"
GENERIC_KIND = "generic"
PLACE = "place"
NUMBER = "number"
LEGAL = "legal"
STOP = "stop"

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RUN = re.compile(f"[{_HAN}]+")
_PIECE = re.compile(f"(?P<han>[{_HAN}]+)|(?P<word>(?:(?![{_HAN}])[^\\W_])+)")
_PAREN = re.compile(r"[(\[【]([^()\[\]【】]*)[)\]】]")
_INNER_HYPHEN = re.compile(r"(?<=[^\W\d_])[-‐‑–](?=[^\W\d_])")
_DELETE = re.compile(r"[.'’‘`´\"“”]")
_COVERAGE = re.compile(r"[,\s]*\b(?:" + "|".join(re.escape(p) for p in COVERAGE_PHRASES) + r")\s*$")
_HAN_DICT: dict[str, str] = {}
for _w in HAN_GENERIC:
    _HAN_DICT[_w] = GENERIC_KIND
for _w in HAN_PLACES:
    _HAN_DICT[_w] = PLACE
for _w in HAN_STOP:
    _HAN_DICT[_w] = STOP
for _w in HAN_LEGAL:
    _HAN_DICT[_w] = LEGAL
_HAN_MAX_WORD = max(len(w) for w in _HAN_DICT)
_HAN_LEGAL_SUFFIXES = tuple(sorted(HAN_LEGAL, key=len, reverse=True))


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # comparison form
    kind: str  # core | generic | place | number | legal | stop
    raw: str  # surface form after folding (hanzi word for Chinese)
    han: bool = False  # produced from Chinese characters (text is pinyin)
    paren: bool = False  # inside parentheses: "(Shanshan)" weighs half


@dataclass(frozen=True, slots=True)
class NameForm:
    source: str  # the name as given
    tokens: tuple[Token, ...]  # no legal forms; stop words kept with zero weight
    legal: tuple[str, ...]  # legal forms found and ignored
    variant: str = "name"  # name | person | acronym
    pinyin: bool = False  # some tokens came from Chinese characters

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(t.text for t in self.tokens)


_converter: Callable[[str], str] | None = None


def to_simplified(text: str) -> str:
    """Traditional -> simplified Chinese; OpenCC's tables load on first call only."""
    global _converter
    if _converter is None:
        from opencc import OpenCC

        _converter = OpenCC("t2s").convert
    return _converter(text)


def has_han(text: str) -> bool:
    return _HAN_RUN.search(text) is not None


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """NFKC, traditional->simplified, case folding, diacritics removed (Latin and others)."""
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return text.casefold()  # nothing to simplify or strip
    if has_han(text):
        text = to_simplified(text)
    text = text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", stripped)


@lru_cache(maxsize=65536)
def pinyin(word: str) -> str:
    """Chinese word -> toneless pinyin, syllables joined (新疆 -> xinjiang, 绿 -> lu)."""
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(word)).replace("v", "u").replace("ü", "u")


_LONGEST_SYLLABLE = max(len(s) for s in PINYIN_SYLLABLES)


@lru_cache(maxsize=65536)
def is_pinyin(word: str) -> bool:
    """True when the whole word splits into toneless pinyin syllables ("daqin", "yixing")."""
    if not word or not word.isascii() or not word.isalpha():
        return False
    reachable = [True] + [False] * len(word)
    for end in range(1, len(word) + 1):
        for size in range(1, min(_LONGEST_SYLLABLE, end) + 1):
            if reachable[end - size] and word[end - size : end] in PINYIN_SYLLABLES:
                reachable[end] = True
                break
    return reachable[-1]


def is_transposition(a: str, b: str) -> bool:
    """One swap of adjacent letters: the commonest keying slip ("Chanjgi" for "Changji")."""
    if len(a) != len(b) or a == b:
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and a[diff[0]] == b[diff[1]]
        and (a[diff[1]] == b[diff[0]])
    )


def _fold_pinyin_v(word: str) -> str:
    """Latin text writes pinyin u-umlaut as v ("Lvzhou", "LV Se"); hanzi give "lu"."""
    if "v" in word and ("lv" in word or "nv" in word):
        folded = word.replace("lv", "lu").replace("nv", "nu")
        if is_pinyin(folded):
            return folded
    return word


def canonical_word(word: str, person: bool) -> str:
    word = _fold_pinyin_v(word)
    if person:
        return word
    if word in CANONICAL:
        return CANONICAL[word]
    if len(word) >= 5 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return CANONICAL.get(word[:-1], word[:-1])
    if len(word) >= VOCAB_TYPO_MIN_LEN and word not in _known_words():
        return _vocabulary_typo(word) or word
    return word


VOCAB_TYPO_MIN_LEN = 6


@lru_cache(maxsize=1)
def _known_words() -> frozenset[str]:
    return frozenset(CANONICAL) | frozenset(CANONICAL.values()) | GENERIC | PLACES | LEGAL_FORMS


@lru_cache(maxsize=1)
def _vocabulary_deletes() -> dict[str, tuple[str, ...]]:
    """Symmetric-delete table over the long vocabulary words (built on first use)."""
    table: dict[str, list[str]] = {}
    for word in _known_words():
        if len(word) >= VOCAB_TYPO_MIN_LEN:
            for key in {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}:
                table.setdefault(key, []).append(word)
    return {k: tuple(v) for k, v in table.items()}


@lru_cache(maxsize=65536)
def _vocabulary_typo(word: str) -> str | None:
    """ "Techonlogy" -> technology, "Holidng" -> holding: a one-edit slip in a long vocabulary
    word takes that word's canonical form (and so its low weight)."""
    from rapidfuzz.distance import OSA

    table = _vocabulary_deletes()
    keys = {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}
    pinyin_word = is_pinyin(word)
    for key in sorted(keys):
        for known in table.get(key, ()):
            if known[0] != word[0] or OSA.distance(word, known, score_cutoff=1) > 1:
                continue
            if pinyin_word and is_pinyin(known) and not is_transposition(word, known):
                # "Yixing" is a city and a firm's name, not a slip for the place "Yining".
                continue
            return CANONICAL.get(known, known)
    return None


def latin_kind(word: str, person: bool) -> str:
    if word.isdigit():
        return NUMBER
    if word in STOP_WORDS:
        return STOP
    if person:
        return CORE
    if word in LEGAL_FORMS:
        return LEGAL
    if word in PLACES:
        return PLACE
    if word in GENERIC or word + "s" in GENERIC:
        return GENERIC_KIND
    return CORE


def _han_words(run: str) -> list[tuple[str, str | None]]:
    """Segment a Chinese run: dictionary words (longest first), leftovers in pairs."""
    words: list[tuple[str, str | None]] = []
    buffer = ""

    def flush() -> None:
        nonlocal buffer
        for i in range(0, len(buffer), 2):
            words.append((buffer[i : i + 2], None))
        buffer = ""

    i = 0
    while i < len(run):
        for size in range(min(_HAN_MAX_WORD, len(run) - i), 1, -1):
            word = run[i : i + size]
            if word in _HAN_DICT:
                flush()
                words.append((word, _HAN_DICT[word]))
                i += size
                break
        else:
            if run[i] in _HAN_DICT:
                flush()
                words.append((run[i], _HAN_DICT[run[i]]))
            else:
                buffer += run[i]
            i += 1
    flush()
    return words


def _han_org_tokens(run: str, paren: bool, legal: list[str]) -> list[Token]:
    # Legal-form suffixes first, so 有限公司 never pairs with the characters before it.
    stripped = True
    while stripped:
        stripped = False
        for suffix in _HAN_LEGAL_SUFFIXES:
            # A run that is only a legal form ("有限责任公司" after "(集团)") goes entirely.
            if run.endswith(suffix):
                legal.append(suffix)
                run = run[: -len(suffix)]
                stripped = True
                break
    tokens: list[Token] = []
    for word, kind in _han_words(run):
        text = pinyin(word)
        if kind is None:
            kind = PLACE if text in PLACES else GENERIC_KIND if text in GENERIC else CORE
        if kind == LEGAL:
            legal.append(word)
            continue
        if kind == STOP:
            continue
        tokens.append(Token(text, kind, word, han=True, paren=paren))
    return tokens


def _han_person_tokens(run: str) -> list[Token]:
    if len(run) < 2 or len(run) > 4:
        return [Token(pinyin(run), CORE, run, han=True)]
    cut = 2 if run[:2] in HAN_COMPOUND_SURNAMES and len(run) > 2 else 1
    surname, given = run[:cut], run[cut:]
    return [
        Token(pinyin(surname), CORE, surname, han=True),
        Token(pinyin(given), CORE, given, han=True),
    ]


def _prepare(name: str) -> str:
    text = fold(name)
    text = _COVERAGE.sub("", text)
    text = text.replace("&", " and ").replace("+", " and ")
    text = _INNER_HYPHEN.sub("", text)
    return _DELETE.sub("", text)


_VOCAB_KIND: dict[str, str] = {}
for _w in GENERIC:
    _VOCAB_KIND[_w] = GENERIC_KIND
for _w in PLACES:
    _VOCAB_KIND[_w] = PLACE
for _w in LEGAL_FORMS:
    _VOCAB_KIND[_w] = LEGAL


def _merge_syllables(tokens: list[Token], legal: list[str]) -> list[Token]:
    """Separated pinyin syllables that spell a legal form become it ("Ji Tuan" -> jituan,
    "You Xian Gong Si" -> youxian gongsi), so they weigh nothing. Other words are left to
    the scorer's span joining, which sees the listed name and so cannot guess wrong
    ("Hua Fu Shi Shang" is huafu shishang, not hua fushi shang)."""
    eligible = [len(t.text) <= 6 and not t.han and t.kind != NUMBER for t in tokens]
    # run[i]: how many eligible tokens start at i (no span can be longer).
    run = [0] * (len(tokens) + 1)
    for i in range(len(tokens) - 1, -1, -1):
        run[i] = run[i + 1] + 1 if eligible[i] else 0
    if max(run) < 2:
        return tokens
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        for size in (4, 3, 2):
            if run[i] < size:
                continue
            span = tokens[i : i + size]
            word = "".join(t.text for t in span)
            word = CANONICAL.get(word, word)
            kind = _VOCAB_KIND.get(word)
            if kind == LEGAL:
                raw = " ".join(t.raw for t in span)
                legal.append(raw)
                out.append(Token(word, kind, raw, paren=span[0].paren))
                i += size
                break
        else:
            out.append(tokens[i])
            i += 1
    return out


def _acronym(words: list[Token]) -> str:
    # Initials of the words as written ("Urumqi", not its pinyin-folded "wulumuqi").
    return "".join(t.raw[0] for t in words if t.raw and not t.han)


def _latin_tokens(piece: str, person: bool, paren: bool, legal: list[str]) -> list[Token]:
    tokens: list[Token] = []
    for m in _PIECE.finditer(piece):
        if m.group("han"):
            if person:
                tokens.extend(_han_person_tokens(m.group("han")))
            else:
                tokens.extend(_han_org_tokens(m.group("han"), paren, legal))
            continue
        raw = m.group("word")
        word = canonical_word(raw, person)
        kind = latin_kind(word, person)
        if kind == LEGAL:
            legal.append(raw)
        tokens.append(Token(word, kind, raw, paren=paren))
    if not person and len(tokens) >= 2:
        if any(t.kind == STOP for t in tokens):
            tokens = _syllable_stop_words(tokens)
        tokens = _merge_syllables(tokens, legal)
    return tokens


def _syllable_stop_words(tokens: list[Token]) -> list[Token]:
    """In syllable-by-syllable pinyin ("A Ke Su", "Yi Da"), stop words that are also pinyin
    syllables (a, e, an, de, da, le, ...) are syllables of the name, not connectives: a stop
    word becomes a core token when it sits in a run of single-syllable words that holds at
    least one word which is not a stop word. "Banco de la Nacion" is unchanged."""
    single = [
        not t.han and t.kind in (CORE, STOP, PLACE, GENERIC_KIND) and t.text in PINYIN_SYLLABLES
        for t in tokens
    ]
    out = list(tokens)
    i = 0
    while i < len(tokens):
        if not single[i]:
            i += 1
            continue
        end = i
        while end < len(tokens) and single[end]:
            end += 1
        run = range(i, end)
        if end - i >= 2 and any(tokens[k].kind != STOP for k in run):
            for k in run:
                if tokens[k].kind == STOP:
                    t = tokens[k]
                    out[k] = Token(t.text, CORE, t.raw, han=t.han, paren=t.paren)
        i = end
    return out


TRUNCATION_MIN_LEN = 30  # party-name fields are cut at 30-40 characters on trade documents


@lru_cache(maxsize=1)
def _vocabulary_prefixes() -> dict[str, str]:
    """Proper prefixes (two letters or more) of vocabulary words -> the kind they would have:
    legal if any legal form starts so, else generic if any generic word does."""
    table: dict[str, str] = {}
    for words, kind in ((GENERIC, GENERIC_KIND), (LEGAL_FORMS, LEGAL)):
        for word in words:
            for end in range(2, len(word)):
                if kind == LEGAL or table.get(word[:end]) != LEGAL:
                    table[word[:end]] = kind
    return table


def _truncated_word(token: Token, legal: list[str]) -> Token:
    """The last word of a long name may be cut by the field width ("... IRON & ST",
    "... INDUSTRY GROU"): an unknown word that starts a legal form is dropped like one, one
    that starts a generic word weighs like one."""
    if token.kind != CORE or token.han or token.paren or token.text in _known_words():
        return token
    kind = _vocabulary_prefixes().get(token.text)
    if kind == LEGAL:
        legal.append(token.raw)
        return Token(token.text, LEGAL, token.raw)
    if kind == GENERIC_KIND:
        return Token(token.text, GENERIC_KIND, token.raw)
    return token


def _substantial(tokens: tuple[Token, ...]) -> bool:
    return (
        any(t.kind not in (STOP, LEGAL) for t in tokens)
        and sum(len(t.text) for t in tokens if t.kind != STOP) >= 4
    )


@lru_cache(maxsize=131072)
def name_forms(
    name: str, schema: Schema | None = None, acronyms: bool = False
) -> tuple[NameForm, ...]:
    """Every comparison form of a name; the scorer takes the best form pair.

    `acronyms=True` (listed names only) adds the initials of multi-word organisation names,
    so a document that writes just "XPCC" finds the listed full name. Queries never get
    them: a four-word shipper name has initials that collide with some listed acronym.
    """
    person = schema == Schema.PERSON
    text = _prepare(name)
    legal: list[str] = []
    main: list[Token] = []
    paren_groups: list[list[Token]] = []
    position = 0
    for m in _PAREN.finditer(text):
        main += _latin_tokens(text[position : m.start()], person, False, legal)
        paren_groups.append(_latin_tokens(m.group(1), person, True, legal))
        position = m.end()
    main += _latin_tokens(text[position:], person, False, legal)
    if (
        not person
        and len(name) >= TRUNCATION_MIN_LEN
        and len(main) >= 2
        # "... Neng Ke Ji" is pinyin written syllable by syllable, not a cut word.
        and not (main[-1].text in PINYIN_SYLLABLES and main[-2].text in PINYIN_SYLLABLES)
    ):
        main[-1] = _truncated_word(main[-1], legal)

    forms: list[NameForm] = []
    spoken = [t for t in main if t.kind not in (STOP,)]
    acronym_of_main = _acronym(spoken)
    extra_forms: list[list[Token]] = []
    for group in paren_groups:
        # "(XPCC)" after the full name is the published acronym: its own form, not an extra
        # token that would count as unmatched against every other spelling.
        if len(group) == 1 and len(group[0].text) >= 3 and group[0].text in acronym_of_main:
            extra_forms.append([Token(group[0].text, CORE, group[0].raw)])
        else:
            main += group
    # Stop words stay as weightless tokens: they never count, but a syllable such as "da"
    # can still join its neighbour ("Yi Da" -> yida).
    scored = tuple(t for t in main if t.kind != LEGAL)
    if not any(t.kind != STOP for t in scored):  # only legal/stop words ("The Company")
        scored = tuple(Token(t.text, CORE, t.raw) for t in main if t.kind in (LEGAL, STOP))
    uses_pinyin = any(t.han for t in scored)
    forms.append(NameForm(name, scored, tuple(legal), "name", uses_pinyin))
    for extra in extra_forms:
        forms.append(NameForm(name, tuple(extra), (), "name", False))

    han_part = tuple(t for t in scored if t.han)
    latin_part = tuple(t for t in scored if not t.han)
    if _substantial(han_part) and _substantial(latin_part):
        # A bill of lading that gives both names, run together ("新疆大全...XINJIANG DAQO ...
        # CO.,LTD"): each script's part is a name of its own; together they are one name
        # written twice, and every token would count as unmatched once.
        forms.append(NameForm(name, han_part, tuple(legal), "name", True))
        forms.append(NameForm(name, latin_part, tuple(legal), "name", False))

    runs = _HAN_RUN.findall(text)
    if schema is None and len(runs) == 1 and 2 <= len(runs[0]) <= 4 and not legal:
        # Unknown schema and a short Chinese name: also read it as surname + given name.
        forms.append(NameForm(name, tuple(_han_person_tokens(runs[0])), (), "person", True))

    if acronyms and not person and not uses_pinyin:
        words = [t for t in main if t.kind != STOP and not t.paren]
        for candidate in {_acronym(words), _acronym([t for t in words if t.kind != LEGAL])}:
            # Three letters collide too often ("STC" is any Shihezi-Taian-Cotton); four or more.
            if len(candidate) >= 4 and len(words) >= 3 and candidate.isalpha():
                forms.append(NameForm(name, (Token(candidate, CORE, candidate),), (), "acronym"))
    return tuple(f for f in forms if f.tokens)
