"""Fast JSON encoding (orjson), shared by the HTTP layer and the database's JSON columns."""

from __future__ import annotations

import json
import re
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
# Where orjson and the standard library print a number differently: exponents ("1e-7" vs
# "1e-07", "1e16" vs "1e+16") and small floats ("0.00001" vs "1e-05"). Only number tokens
# are matched (they follow ':', ',' or '['), so hex digests in strings do not trip it; text
# inside a string that looks like one only sends that value down the slow path.
_NUMBERS_THAT_DIFFER = re.compile(rb"[:,\[]-?(?:0\.0000|[0-9.]+e)")


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
    if _NUMBERS_THAT_DIFFER.search(b"," + out):
        return _stdlib_canonical(value)
    return out.decode()
