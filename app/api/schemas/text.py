"""Text that the databases can store: no NUL characters.

PostgreSQL text cannot hold U+0000 (SQLite can), so a manifest with one in a name was
assessed and then failed to store: a 500 on one database and not the other. Every input
model refuses it at the door instead, naming the field.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import orjson
from pydantic import BaseModel, ModelWrapValidatorHandler, model_validator
from pydantic_core import PydanticCustomError

NUL_ERROR = "nul_character"
NUL_REASON = "must not contain a NUL character (U+0000)"

# Set while validating a tree already screened clean: the models inside skip their check.
_SCREENED_CLEAN: ContextVar[bool] = ContextVar("screened_clean", default=False)


def holds_nul(value: Any) -> bool:
    """A string, or a list or tuple of them at any depth (nested models check their own)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(holds_nul(item) for item in value)
    return False


def _certainly_clean(data: Any) -> bool:
    """Whether no string anywhere in `data` (keys included) holds a NUL, in one pass in C:
    orjson writes a NUL as the escape `\\u0000`. The escape may also be text a client
    wrote (a backslash followed by "u0000"); such data is only checked field by field.
    Data orjson cannot write (non-string keys, huge integers) is checked field by field."""
    try:
        return b"\\u0000" not in orjson.dumps(data)
    except TypeError:  # orjson.JSONEncodeError
        return False


class RefusesNul(BaseModel):
    @model_validator(mode="wrap")
    @classmethod
    def _refuse_nul(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        # A manifest holds about 40 models; checking each model's fields in Python was
        # 14% of validating and assessing one. The outermost model screens the whole tree
        # at once, and only a tree that may hold a NUL is checked model by model, which
        # names the field.
        if _SCREENED_CLEAN.get():
            return handler(data)
        if isinstance(data, dict):
            if _certainly_clean(data):
                token = _SCREENED_CLEAN.set(True)
                try:
                    return handler(data)
                finally:
                    _SCREENED_CLEAN.reset(token)
            for name, value in data.items():
                if holds_nul(value):
                    raise PydanticCustomError(NUL_ERROR, NUL_REASON, {"field": str(name)})
        return handler(data)
