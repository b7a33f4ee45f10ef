"""Text folding shared by rule compilation and assessment, so both sides agree exactly.

Folding: Unicode NFKC, case-fold, traditional -> simplified Chinese (a table built at rule-load
time), strip combining marks (Ürümqi -> urumqi), drop apostrophes (He'an -> hean).
Latin and Arabic-script text is then split into word tokens; Chinese is kept as runs of
characters, because Chinese is written without spaces and matches as substrings.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

_APOSTROPHES = str.maketrans("", "", "'’ʼ`´‘")
_CJK_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_RUN = re.compile(f"[{_CJK_CLASS}]+")
WORD = re.compile(f"[^\\W_{_CJK_CLASS}]+")
HAS_CJK = re.compile(f"[{_CJK_CLASS}]")


def fold(text: str, table: Mapping[int, str] | None = None) -> str:
    """Normalise text for matching (see module doc)."""
    if text.isascii():
        return text.casefold().translate(_APOSTROPHES)
    out = unicodedata.normalize("NFKC", text).casefold()
    if table:
        out = out.translate(table)
    decomposed = unicodedata.normalize("NFD", out)
    out = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", out).translate(_APOSTROPHES)


def words(folded: str) -> list[str]:
    """Latin/Arabic-script word tokens of folded text (Chinese runs excluded)."""
    return WORD.findall(folded)


def word_key(text: str, table: Mapping[int, str] | None = None) -> str:
    """The lookup key of a term: its folded tokens joined by one space."""
    return " ".join(words(fold(text, table)))


def has_cjk(text: str) -> bool:
    return HAS_CJK.search(text) is not None
