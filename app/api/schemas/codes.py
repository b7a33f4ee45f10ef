"""Validators for ISO 3166-1 countries, ISO 4217 currencies and HTS codes."""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated

import pycountry
from pydantic import AfterValidator, BeforeValidator, StringConstraints


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


CountryCode = Annotated[str, BeforeValidator(_require_str), AfterValidator(_country)]
CurrencyCode = Annotated[str, BeforeValidator(_require_str), AfterValidator(_currency)]
HtsCode = Annotated[str, BeforeValidator(_require_str), AfterValidator(normalise_hts)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
