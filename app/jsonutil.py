"""Fast JSON encoding (orjson), shared by the HTTP layer and the database's JSON columns."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=orjson.OPT_NON_STR_KEYS)


def dumps_str(value: Any) -> str:
    """For SQLAlchemy's JSON columns (json_serializer wants text)."""
    return dumps(value).decode()


_CANONICAL_OPTIONS = (
    orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)
_DIGITS = frozenset(b"0123456789")


def _may_print_differently(out: bytes) -> bool:
    """Whether orjson's output may hold a number the standard library prints otherwise.

    The two differ only on floats that orjson writes with an exponent ("1e-7" against
    "1e-07") or as "0.0000..." ("0.00001" against "1e-05"); orjson always signs an
    exponent. Substring searches run at memory speed, where a regular expression over
    every number token cost seven times orjson's own encoding. Text that merely looks
    like such a number (a "0.0000" or "5e-3" inside a string) only sends that value down
    the slow path, which is always correct.
    """
    if b"0.0000" in out:
        return True
    # A "+" is rare in this data and one memchr finds it; searching for "e+" scanned the
    # whole text at a third of that speed (the letter e is everywhere in words).
    markers = (b"e-", b"e+") if b"+" in out else (b"e-",)
    for marker in markers:
        at = out.find(marker)
        while at != -1:
            if at > 0 and out[at - 1] in _DIGITS and out[at + 2 : at + 3].isdigit():
                return True
            at = out.find(marker, at + 2)
    return False


def _stdlib_canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text, `str()` for anything else: the form every
    stored hash (decision chain, findings, manifest bodies) is computed over.

    The bytes must never change, so this is defined as the standard library's output
    (`_stdlib_canonical`); orjson produces the same bytes about ten times faster, and the
    rare values where the two would differ (exotic floats, non-string keys, integers past
    64 bits) take the standard path. NaN and infinity are not valid JSON and never occur
    in what is hashed here.
    """
    try:
        out = orjson.dumps(value, default=str, option=_CANONICAL_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError: non-string keys, huge integers
        return _stdlib_canonical(value)
    if _may_print_differently(out):
        return _stdlib_canonical(value)
    return out.decode()
