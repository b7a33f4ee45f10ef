"""OFAC legacy CSV set: SDN (sdn.csv, alt.csv, add.csv, sdn_comments.csv) and the non-SDN
consolidated list (cons_prim.csv, cons_alt.csv, cons_add.csv, cons_comments.csv).

No header; `-0- ` is null; every file ends with the 0x1A end-of-file byte. Files are joined on
ent_num. Remarks carry `a.k.a. '...'`, `f.k.a. '...'` and `Linked To: ...`, which become aliases
and links. Alias and address rows whose ent_num has no primary row are counted, not fatal: OFAC
publishes the files separately and snapshots of different dates are common.

Entry points: `parse_files({"sdn.csv": b"...", ...}, list_id)`, `parse_zip(zip_bytes, list_id)`,
and `parse(zip_bytes)` / `parse_cons(zip_bytes)` for the registry.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping

from app.errors import InvalidListFile
from app.screening.countries import country_code
from app.screening.entry import Alias, AliasKind, ListEntry, ParsedList, Schema, count_entries
from app.screening.sources._common import csv_rows, decode_text, fail

SDN = "ofac_sdn"
CONS = "ofac_cons"

_ROLE_COLUMNS = {"primary": 12, "alt": 5, "add": 6, "comments": 2}
_SCHEMAS = {
    "individual": Schema.PERSON,
    "vessel": Schema.VESSEL,
    "aircraft": Schema.AIRCRAFT,
    "": Schema.ORGANIZATION,
    "entity": Schema.ORGANIZATION,
}
_AKA = re.compile(r"\b(a\.k\.a\.|f\.k\.a\.|n\.k\.a\.)\s*'([^']+)'", re.IGNORECASE)
_LINKED = re.compile(r"Linked To:\s*(.+?)\.?\s*(?:;|$)")


def file_role(filename: str) -> str | None:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1].lower()
    if not base.endswith(".csv"):
        return None
    stem = base[:-4]
    if stem in ("sdn", "cons_prim"):
        return "primary"
    if stem in ("alt", "cons_alt"):
        return "alt"
    if stem in ("add", "cons_add"):
        return "add"
    if stem in ("sdn_comments", "cons_comments"):
        return "comments"
    return None


def _null(value: str) -> str:
    value = value.strip()
    return "" if value == "-0-" else value


def _rows(data: bytes, filename: str, role: str) -> list[tuple[int, list[str]]]:
    text = decode_text(data, filename)
    expected = _ROLE_COLUMNS[role]
    rows: list[tuple[int, list[str]]] = []
    for row_no, cells in csv_rows(text, filename):
        if len(cells) == 1 and cells[0].strip("\x1a \r\n") == "":
            continue  # the 0x1A end-of-file marker or a blank line
        if len(cells) != expected:
            raise fail(filename, row_no, f"expected {expected} columns, got {len(cells)}")
        if not cells[0].strip().isdigit():
            raise fail(filename, row_no, f"ent_num {cells[0]!r} is not a number")
        rows.append((row_no, cells))
    return rows


def parse_files(files: Mapping[str, bytes], list_id: str = SDN) -> ParsedList:
    by_role: dict[str, tuple[str, bytes]] = {}
    for filename, data in files.items():
        role = file_role(filename)
        if role is None:
            continue
        if role in by_role:
            raise InvalidListFile(f"{list_id}: two {role} files ({by_role[role][0]}, {filename})")
        by_role[role] = (filename, data)
    if "primary" not in by_role:
        raise InvalidListFile(f"{list_id}: no primary file (sdn.csv or cons_prim.csv) in the set")

    prim_name, prim_data = by_role["primary"]
    primary: dict[str, list[str]] = {}
    order: list[str] = []
    for row_no, cells in _rows(prim_data, prim_name, "primary"):
        ent = cells[0].strip()
        if not _null(cells[1]):
            raise fail(prim_name, row_no, "missing name")
        if ent in primary:
            raise fail(prim_name, row_no, f"duplicate ent_num {ent}")
        if _null(cells[2]).lower() not in _SCHEMAS:
            raise fail(prim_name, row_no, f"unknown SDN_Type {cells[2]!r}")
        primary[ent] = cells
        order.append(ent)

    orphans = 0
    aliases: dict[str, list[Alias]] = {}
    if "alt" in by_role:
        name, data = by_role["alt"]
        for row_no, cells in _rows(data, name, "alt"):
            ent = cells[0].strip()
            alt_name = _null(cells[3])
            if not alt_name:
                raise fail(name, row_no, "missing alias name")
            if ent not in primary:
                orphans += 1
                continue
            kind = AliasKind.FKA if _null(cells[2]).lower() == "fka" else AliasKind.AKA
            aliases.setdefault(ent, []).append(Alias(alt_name, kind))

    addresses: dict[str, list[str]] = {}
    countries: dict[str, list[str]] = {}
    if "add" in by_role:
        name, data = by_role["add"]
        for _row_no, cells in _rows(data, name, "add"):
            ent = cells[0].strip()
            if ent not in primary:
                orphans += 1
                continue
            parts = [_null(c) for c in cells[2:5]]
            text = ", ".join(p for p in parts if p)
            if text:
                addresses.setdefault(ent, []).append(text)
            if parts[2]:
                countries.setdefault(ent, []).append(country_code(parts[2]))

    comments: dict[str, str] = {}
    if "comments" in by_role:
        name, data = by_role["comments"]
        for _row_no, cells in _rows(data, name, "comments"):
            comments[cells[0].strip()] = comments.get(cells[0].strip(), "") + cells[1]

    entries: list[ListEntry] = []
    for ent in order:
        cells = primary[ent]
        remarks = _null(cells[11]) + comments.get(ent, "")
        entry_aliases = list(aliases.get(ent, ()))
        known = {a.name.casefold() for a in entry_aliases}
        for marker, alias_name in _AKA.findall(remarks):
            kind = AliasKind.FKA if marker.lower().startswith("f") else AliasKind.AKA
            if alias_name.strip().casefold() not in known:
                known.add(alias_name.strip().casefold())
                entry_aliases.append(Alias(alias_name.strip(), kind))
        linked = tuple(m.strip() for m in _LINKED.findall(remarks))
        programs = tuple(
            p.strip(" []") for p in re.split(r"\]\s*\[", _null(cells[3])) if p.strip(" []")
        )
        entries.append(
            ListEntry(
                list_id=list_id,
                entry_id=ent,
                schema=_SCHEMAS[_null(cells[2]).lower()],
                name=_null(cells[1]),
                aliases=tuple(entry_aliases),
                countries=tuple(dict.fromkeys(countries.get(ent, ()))),
                addresses=tuple(addresses.get(ent, ())),
                programs=programs,
                remarks=remarks,
                linked_to=linked,
            )
        )
    result = tuple(entries)
    counts = count_entries(result)
    counts["orphan_rows"] = orphans
    return ParsedList(source=list_id, entries=result, counts=counts)


def parse_zip(data: bytes, list_id: str = SDN) -> ParsedList:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            files = {
                info.filename: archive.read(info)
                for info in archive.infolist()
                if not info.is_dir() and file_role(info.filename) is not None
            }
    except zipfile.BadZipFile as exc:
        raise InvalidListFile(f"{list_id}: not a ZIP archive of the OFAC CSV files") from exc
    return parse_files(files, list_id)


def parse(data: bytes) -> ParsedList:
    """SDN from one uploaded ZIP holding sdn.csv, alt.csv, add.csv, sdn_comments.csv."""
    return parse_zip(data, SDN)


def parse_cons(data: bytes) -> ParsedList:
    """Non-SDN consolidated list from one ZIP holding cons_prim.csv, cons_alt.csv, ..."""
    return parse_zip(data, CONS)
