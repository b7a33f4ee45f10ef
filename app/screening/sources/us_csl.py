"""US Consolidated Screening List (trade.gov `consolidated.csv`, plain or gzip).

29 columns with a header; multi-valued cells are `; `-separated; quoted cells may hold
newlines. Each row's `source` becomes its own list id, so a BIS Entity List hit is reported as
`bis_entity`, not as "CSL". List ids (stable; documented in SOURCE_IDS):

    csl_sdn         Specially Designated Nationals (SDN) - Treasury (as carried in the CSL)
    bis_entity      Entity List (EL) - BIS
    bis_unverified  Unverified List (UVL) - BIS
    bis_meu         Military End User (MEU) List - BIS
    dpl             Denied Persons List (DPL) - BIS
    dtc_debarred    ITAR Debarred (DTC) - State
    isn             Nonproliferation Sanctions (ISN) - State
    csl_ssi, csl_plc, csl_cmic, csl_capta, csl_nsmbs, csl_fse   Treasury non-SDN lists

A source not in the table gets `csl_<abbreviation in parentheses>` so a new CSL member never
breaks an import.
"""

from __future__ import annotations

import gzip
import re
import zlib

from app.errors import InvalidListFile
from app.screening.countries import country_code
from app.screening.entry import Alias, AliasKind, ListEntry, ParsedList, Schema, count_entries
from app.screening.sources._common import csv_rows, decode_text, fail, has_han, split_multi

SOURCE = "us_csl"
HEADER = (
    "_id", "source", "entity_number", "type", "programs", "name", "title", "addresses",
    "federal_register_notice", "start_date", "end_date", "standard_order", "license_requirement",
    "license_policy", "call_sign", "vessel_type", "gross_tonnage", "gross_registered_tonnage",
    "vessel_flag", "vessel_owner", "remarks", "source_list_url", "alt_names", "citizenships",
    "dates_of_birth", "nationalities", "places_of_birth", "source_information_url", "ids",
)  # fmt: skip

SOURCE_IDS: dict[str, str] = {
    "Specially Designated Nationals (SDN) - Treasury Department": "csl_sdn",
    "Entity List (EL) - Bureau of Industry and Security": "bis_entity",
    "Unverified List (UVL) - Bureau of Industry and Security": "bis_unverified",
    "Military End User (MEU) List - Bureau of Industry and Security": "bis_meu",
    "Denied Persons List (DPL) - Bureau of Industry and Security": "dpl",
    "ITAR Debarred (DTC) - State Department": "dtc_debarred",
    "Nonproliferation Sanctions (ISN) - State Department": "isn",
    "Sectoral Sanctions Identifications List (SSI) - Treasury Department": "csl_ssi",
    "Palestinian Legislative Council List (PLC) - Treasury Department": "csl_plc",
    "Non-SDN Chinese Military-Industrial Complex Companies List (CMIC) - Treasury Department": (
        "csl_cmic"
    ),
    "Capta List (CAP) - Treasury Department": "csl_capta",
    "Non-SDN Menu-Based Sanctions List (NS-MBS List) - Treasury Department": "csl_nsmbs",
    "Foreign Sanctions Evaders (FSE) - Treasury Department": "csl_fse",
}
_SCHEMAS = {
    "individual": Schema.PERSON,
    "entity": Schema.ORGANIZATION,
    "": Schema.ORGANIZATION,
    "vessel": Schema.VESSEL,
    "aircraft": Schema.AIRCRAFT,
}


def list_id_for(source: str) -> str:
    if source in SOURCE_IDS:
        return SOURCE_IDS[source]
    m = re.search(r"\(([A-Za-z][A-Za-z -]*)\)", source)
    if not m:
        return "csl_" + re.sub(r"[^a-z0-9]+", "_", source.lower()).strip("_")[:30]
    return "csl_" + re.sub(r"[^a-z0-9]+", "", m.group(1).lower())


def _gunzip(data: bytes) -> bytes:
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise InvalidListFile(f"{SOURCE}: corrupt gzip ({exc})") from exc


def parse(data: bytes) -> ParsedList:
    what = SOURCE
    text = decode_text(_gunzip(data), what)
    entries: list[ListEntry] = []
    for row_no, cells in csv_rows(text, what):
        if row_no == 1:
            if tuple(c.strip().lstrip("\ufeff") for c in cells) != HEADER:
                raise fail(what, 1, "header is not the 29-column trade.gov consolidated header")
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(HEADER):
            raise fail(what, row_no, f"expected {len(HEADER)} columns, got {len(cells)}")
        row = dict(zip(HEADER, (c.strip() for c in cells), strict=True))
        if not row["name"]:
            raise fail(what, row_no, "missing name")
        if not row["_id"]:
            raise fail(what, row_no, "missing _id")
        if not row["source"]:
            raise fail(what, row_no, "missing source")
        schema = _SCHEMAS.get(row["type"].lower())
        if schema is None:
            raise fail(what, row_no, f"unknown type {row['type']!r}")
        aliases = []
        for alt in split_multi(row["alt_names"]):
            alt = re.sub(r"^and\s+", "", alt)  # BIS writes "A; B; and C"
            if alt and alt != row["name"]:
                aliases.append(Alias(alt, AliasKind.CHINESE if has_han(alt) else AliasKind.AKA))
        addresses = split_multi(row["addresses"])
        countries: list[str] = []
        for address in addresses:
            tail = address.rsplit(",", 1)[-1].strip()
            if len(tail) == 2 and tail.isalpha():
                countries.append(tail.lower())
        for value in split_multi(row["citizenships"]) + split_multi(row["nationalities"]):
            countries.append(country_code(value))
        remarks = " ".join(
            p
            for p in (row["remarks"], row["license_requirement"], row["federal_register_notice"])
            if p
        )
        entries.append(
            ListEntry(
                list_id=list_id_for(row["source"]),
                entry_id=row["_id"],
                schema=schema,
                name=" ".join(row["name"].split()),
                aliases=tuple(dict.fromkeys(aliases)),
                countries=tuple(dict.fromkeys(c for c in countries if c)),
                addresses=tuple(addresses),
                programs=tuple(split_multi(row["programs"])),
                remarks=remarks,
                section=row["source"],
                listed_on=row["start_date"][:10],
            )
        )
    if not entries:
        raise fail(what, 2, "no entries")
    result = tuple(entries)
    return ParsedList(source=SOURCE, entries=result, counts=count_entries(result))
