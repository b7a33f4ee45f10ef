"""Fast JSON encoding (orjson), shared by the HTTP layer and the database's JSON columns."""

from __future__ import annotations

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
