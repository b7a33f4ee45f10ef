"""Build a domain Manifest from its JSON form.

The input is assumed already validated by the API schema (or read back from storage):
countries upper-case alpha-2, HTS codes digits only. This is the one converter used by the
API, the golden tests, the CLI and replay, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from app.domain.manifest import Input, Line, Manifest, Party


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None else str(value)


def _opt_float(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    return None if value is None else float(value)


def party_from_dict(data: Mapping[str, Any]) -> Party:
    identifiers = data.get("identifiers") or {}
    return Party(
        name=str(data["name"]),
        role=_opt_str(data, "role"),
        address=_opt_str(data, "address"),
        country=_opt_str(data, "country"),
        region=_opt_str(data, "region"),
        postcode=_opt_str(data, "postcode"),
        identifiers=tuple(sorted((str(k), str(v)) for k, v in dict(identifiers).items())),
    )


def input_from_dict(data: Mapping[str, Any]) -> Input:
    supplier = data.get("supplier")
    return Input(
        material=_opt_str(data, "material"),
        hts_code=_opt_str(data, "hts_code"),
        country_of_origin=_opt_str(data, "country_of_origin"),
        region=_opt_str(data, "region"),
        quantity=_opt_float(data, "quantity"),
        unit=_opt_str(data, "unit"),
        supplier=None if supplier is None else party_from_dict(supplier),
        inputs=tuple(input_from_dict(i) for i in data.get("inputs") or ()),
    )


def line_from_dict(data: Mapping[str, Any]) -> Line:
    manufacturer = data.get("manufacturer")
    return Line(
        line_number=int(data["line_number"]),
        hts_code=str(data["hts_code"]),
        description=str(data.get("description") or ""),
        quantity=_opt_float(data, "quantity"),
        unit=_opt_str(data, "unit"),
        value=_opt_float(data, "value"),
        currency=_opt_str(data, "currency"),
        country_of_origin=_opt_str(data, "country_of_origin"),
        region=_opt_str(data, "region"),
        manufacturer=None if manufacturer is None else party_from_dict(manufacturer),
        inputs=tuple(input_from_dict(i) for i in data.get("inputs") or ()),
    )


def manifest_from_dict(data: Mapping[str, Any]) -> Manifest:
    entry = data.get("entry_date")
    entry_date = (
        entry if isinstance(entry, date) else (date.fromisoformat(entry) if entry else None)
    )
    return Manifest(
        reference=str(data["reference"]),
        importer=str(data["importer"]),
        entry_date=entry_date,
        country_of_origin=_opt_str(data, "country_of_origin"),
        country_of_export=_opt_str(data, "country_of_export"),
        parties=tuple(party_from_dict(p) for p in data.get("parties") or ()),
        lines=tuple(line_from_dict(line) for line in data["lines"]),
    )
