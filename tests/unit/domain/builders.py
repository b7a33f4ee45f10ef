"""Small manifest builders for engine tests (the JSON shape of the API)."""

from __future__ import annotations

from typing import Any

from app.domain.manifest import Manifest
from app.domain.manifest_codec import manifest_from_dict


def manifest(*lines: dict[str, Any], **top: Any) -> Manifest:
    data: dict[str, Any] = {"reference": "T-1", "importer": "Test Importer", "lines": list(lines)}
    data.update(top)
    return manifest_from_dict(data)


def line(hts: str = "9403600000", **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"line_number": 1, "hts_code": hts, "description": "goods"}
    data.update(fields)
    return data


def item(material: str = "part", **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"material": material}
    data.update(fields)
    return data


def supplier(name: str, address: str | None = None, country: str | None = None) -> dict[str, Any]:
    return {"name": name, "address": address, "country": country}
