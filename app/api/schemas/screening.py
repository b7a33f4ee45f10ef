"""Request and response models for supplier screening and pairwise comparison."""

from __future__ import annotations

import builtins
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas.codes import CountryCode, LongText, ShortText

SchemaName = Literal["person", "organization", "vessel", "aircraft"]


class PartyQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: ShortText
    country: CountryCode | None = None
    address: LongText | None = None
    schema_: SchemaName | None = Field(default=None, alias="schema")


class ScreenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    parties: list[PartyQuery] = Field(min_length=1, max_length=1000)


class MatchOut(BaseModel):
    list: str
    entry_id: str
    name: str
    matched_alias: str
    score: float
    band: Literal["strong", "possible"]
    programs: builtins.list[str]
    explanation: dict[str, Any]


class PartyResult(BaseModel):
    name: str
    matches: list[MatchOut]


class ScreenResponse(BaseModel):
    results: list[PartyResult]
    lists_version: dict[str, str]
    matcher_version: str


class CompareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    a: ShortText
    b: ShortText
    schema_: SchemaName | None = Field(default=None, alias="schema")
    country_a: CountryCode | None = None
    country_b: CountryCode | None = None


class CompareResponse(BaseModel):
    score: float
    band: Literal["strong", "possible"] | None
    explanation: dict[str, Any]
    matcher_version: str
