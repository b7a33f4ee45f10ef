"""The manifest contract (DESIGN.md §4), validated strictly at the door."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from app.api.schemas.codes import CountryCode, CurrencyCode, HtsCode, LongText, ShortText
from app.api.schemas.text import RefusesNul

MAX_LINES = 999
MAX_TIERS = 10
MAX_INPUTS_PER_NODE = 100
MAX_PARTIES = 100

PositiveNumber = Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False, le=1e15)]
Reference = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$"
    ),
]


class Strict(RefusesNul):
    model_config = ConfigDict(extra="forbid", str_max_length=2000)


class PartyIn(Strict):
    role: Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)] | None = None
    name: ShortText
    address: LongText | None = None
    country: CountryCode | None = None
    region: ShortText | None = None
    postcode: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = None
    identifiers: (
        dict[
            Annotated[str, StringConstraints(max_length=30)],
            Annotated[str, StringConstraints(max_length=60)],
        ]
        | None
    ) = Field(default=None, max_length=10, description='e.g. {"uscc": "91650..."}')


class InputIn(Strict):
    material: ShortText | None = None
    hts_code: HtsCode | None = None
    country_of_origin: CountryCode | None = None
    region: ShortText | None = None
    quantity: PositiveNumber | None = None
    unit: Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)] | None = None
    supplier: PartyIn | None = None
    inputs: list[InputIn] = Field(default_factory=list, max_length=MAX_INPUTS_PER_NODE)


class LineIn(Strict):
    line_number: Annotated[int, Field(strict=True, ge=1, le=99999)]
    hts_code: HtsCode
    description: ShortText
    quantity: PositiveNumber | None = None
    unit: Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)] | None = None
    value: PositiveNumber | None = None
    currency: CurrencyCode | None = None
    country_of_origin: CountryCode | None = None
    region: ShortText | None = None
    manufacturer: PartyIn | None = None
    inputs: list[InputIn] = Field(default_factory=list, max_length=MAX_INPUTS_PER_NODE)


def _input_depth_errors(raw: Any) -> str | None:
    """Reject over-deep input trees before recursive validation (iterative: no recursion)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("lines"), list):
        return None
    stack: list[tuple[Any, int, str]] = []
    for li, line in enumerate(raw["lines"]):
        if isinstance(line, dict) and isinstance(line.get("inputs"), list):
            stack.extend(
                (item, 1, f"lines[{li}].inputs[{i}]") for i, item in enumerate(line["inputs"])
            )
    while stack:
        node, tier, path = stack.pop()
        if tier > MAX_TIERS:
            return path
        if isinstance(node, dict) and isinstance(node.get("inputs"), list):
            stack.extend(
                (item, tier + 1, f"{path}.inputs[{i}]") for i, item in enumerate(node["inputs"])
            )
    return None


class ManifestIn(Strict):
    reference: Reference
    importer: ShortText
    entry_date: date | None = None
    country_of_origin: CountryCode | None = None
    country_of_export: CountryCode | None = None
    parties: list[PartyIn] = Field(default_factory=list, max_length=MAX_PARTIES)
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)

    @model_validator(mode="before")
    @classmethod
    def _limit_depth(cls, data: Any) -> Any:
        too_deep = _input_depth_errors(data)
        if too_deep is not None:
            raise ValueError(f"input tree deeper than {MAX_TIERS} tiers at {too_deep}")
        return data

    @model_validator(mode="after")
    def _unique_line_numbers(self) -> ManifestIn:
        seen: set[int] = set()
        for i, line in enumerate(self.lines):
            if line.line_number in seen:
                raise ValueError(f"lines[{i}].line_number {line.line_number} is used twice")
            seen.add(line.line_number)
        return self

    def canonical(self) -> dict[str, Any]:
        """JSON form used for storage, hashing and assessment (normalised, no nulls)."""
        return self.model_dump(mode="json", exclude_none=True)
