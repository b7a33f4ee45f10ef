"""Validators for ISO 3166-1 countries, ISO 4217 currencies and HTS codes."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Annotated

import pycountry
from pydantic import AfterValidator, BeforeValidator, StringConstraints, WithJsonSchema


@cache
def _countries() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


@cache
def _currencies() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.currencies)


def _country(value: str) -> str:
    code = value.strip().upper()
    if code not in _countries():
        raise ValueError(f"'{value}' is not an ISO 3166-1 alpha-2 country code")
    return code


def _currency(value: str) -> str:
    code = value.strip().upper()
    if code not in _currencies():
        raise ValueError(f"'{value}' is not an ISO 4217 currency code")
    return code


_HTS_SEPARATORS = re.compile(r"[.\s]")
# Exactly what normalise_hts accepts: 4 to 10 digits, dots and spaces anywhere.
HTS_PATTERN = r"^[.\s]*(?:[0-9][.\s]*){4,10}$"


def normalise_hts(value: str) -> str:
    """HTS codes arrive dotted or not ('6109.10.0012'); we store digits only."""
    digits = _HTS_SEPARATORS.sub("", value)
    if not digits.isdigit() or not 4 <= len(digits) <= 10:
        raise ValueError(f"'{value}' is not an HTS code (4 to 10 digits, dots allowed)")
    return digits


def _require_str(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


CountryCode = Annotated[
    str,
    BeforeValidator(_require_str),
    AfterValidator(_country),
    WithJsonSchema(
        {"type": "string", "pattern": "^[A-Za-z]{2}$", "description": "ISO 3166-1 alpha-2"}
    ),
]
CurrencyCode = Annotated[
    str,
    BeforeValidator(_require_str),
    AfterValidator(_currency),
    WithJsonSchema({"type": "string", "pattern": "^[A-Za-z]{3}$", "description": "ISO 4217"}),
]
HtsCode = Annotated[
    str,
    BeforeValidator(_require_str),
    AfterValidator(normalise_hts),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": HTS_PATTERN,
            "description": "HTS code, 4-10 digits, dots allowed",
        }
    ),
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


def _iso_datetime_only(value: object) -> object:
    # pydantic also reads numbers as Unix timestamps; the contract says ISO 8601 only.
    if not isinstance(value, str) or not value[:4].isdigit() or len(value) < 10:
        raise ValueError("must be an ISO 8601 date or date-time, e.g. 2026-11-01T00:00:00Z")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime_only)]
