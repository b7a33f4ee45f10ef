"""Text that the databases can store: no NUL characters.

PostgreSQL text cannot hold U+0000 (SQLite can), so a manifest with one in a name was
assessed and then failed to store: a 500 on one database and not the other. Every input
model refuses it at the door instead, naming the field.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, model_validator
from pydantic_core import PydanticCustomError

NUL_ERROR = "nul_character"
NUL_REASON = "must not contain a NUL character (U+0000)"


def holds_nul(value: Any) -> bool:
    """A string, or a list or tuple of them at any depth (nested models check their own)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(holds_nul(item) for item in value)
    return False


class RefusesNul(BaseModel):
    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, value in data.items():
                if holds_nul(value):
                    raise PydanticCustomError(NUL_ERROR, NUL_REASON, {"field": str(name)})
        return data
