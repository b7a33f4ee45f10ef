"""The list entry every source parser produces and the screener consumes.

Entries are plain, JSON-safe data: the service stores them in the database and rebuilds the
screener from them, so `from_dict(to_dict(e)) == e` must hold for every entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Schema(StrEnum):
    PERSON = "person"
    ORGANIZATION = "organization"
    VESSEL = "vessel"
    AIRCRAFT = "aircraft"


class AliasKind(StrEnum):
    AKA = "aka"  # also known as (includes weak aliases and acronyms published by the list)
    FKA = "fka"  # formerly known as
    CHINESE = "chinese"  # the name in Chinese characters


@dataclass(frozen=True, slots=True)
class Alias:
    name: str
    kind: AliasKind = AliasKind.AKA

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alias:
        return cls(name=str(data["name"]), kind=AliasKind(data.get("kind", "aka")))


@dataclass(frozen=True, slots=True)
class ListEntry:
    list_id: str  # uflpa, ofac_sdn, bis_entity, eu_2020_1998, uk, ca, ...
    entry_id: str  # the list's own identifier (OFAC ent_num, CSL _id, ...)
    schema: Schema
    name: str  # primary name as published
    aliases: tuple[Alias, ...] = ()
    countries: tuple[str, ...] = ()  # ISO 3166 alpha-2, lower case, where known
    addresses: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()  # GLOMAG, UHRPA, UFLPA section "i", ...
    remarks: str = ""
    section: str = ""  # list section or annex (UFLPA i|ii|v, EU I.A / I.B)
    linked_to: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # parser observations, e.g. "covers subsidiaries"
    listed_on: str = ""  # ISO date when known

    def names(self) -> tuple[str, ...]:
        """Primary name first, then every alias (deduplicated, order kept)."""
        seen: dict[str, None] = {self.name: None}
        for alias in self.aliases:
            seen.setdefault(alias.name, None)
        return tuple(seen)

    def to_dict(self) -> dict[str, Any]:
        return {
            "list_id": self.list_id,
            "entry_id": self.entry_id,
            "schema": self.schema.value,
            "name": self.name,
            "aliases": [a.to_dict() for a in self.aliases],
            "countries": list(self.countries),
            "addresses": list(self.addresses),
            "programs": list(self.programs),
            "remarks": self.remarks,
            "section": self.section,
            "linked_to": list(self.linked_to),
            "notes": list(self.notes),
            "listed_on": self.listed_on,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ListEntry:
        return cls(
            list_id=str(data["list_id"]),
            entry_id=str(data["entry_id"]),
            schema=Schema(data["schema"]),
            name=str(data["name"]),
            aliases=tuple(Alias.from_dict(a) for a in data.get("aliases", ())),
            countries=tuple(data.get("countries", ())),
            addresses=tuple(data.get("addresses", ())),
            programs=tuple(data.get("programs", ())),
            remarks=str(data.get("remarks", "")),
            section=str(data.get("section", "")),
            linked_to=tuple(data.get("linked_to", ())),
            notes=tuple(data.get("notes", ())),
            listed_on=str(data.get("listed_on", "")),
        )


@dataclass(frozen=True, slots=True)
class ParsedList:
    """Everything one official file (or file set) yielded, all or nothing."""

    source: str  # parser id, e.g. "ofac_sdn"; entries may carry several list ids (us_csl)
    entries: tuple[ListEntry, ...]
    counts: Mapping[str, int] = field(default_factory=dict)  # per list id, plus rows/aliases

    def by_list(self) -> dict[str, tuple[ListEntry, ...]]:
        grouped: dict[str, list[ListEntry]] = {}
        for entry in self.entries:
            grouped.setdefault(entry.list_id, []).append(entry)
        return {k: tuple(v) for k, v in grouped.items()}


def count_entries(entries: tuple[ListEntry, ...]) -> dict[str, int]:
    counts: dict[str, int] = {"entries": len(entries)}
    counts["aliases"] = sum(len(e.aliases) for e in entries)
    for entry in entries:
        key = f"list:{entry.list_id}"
        counts[key] = counts.get(key, 0) + 1
    return counts
