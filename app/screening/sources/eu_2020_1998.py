"""EU Global Human Rights Sanctions Regime, Annex I of Council Regulation (EU) 2020/1998.

The OpenSanctions transcription of the Official Journal consolidated text (45 columns, header),
not the EU FSF format. Annex I.A = natural persons, I.B = entities. `alias` holds `; `-separated
values, and the transcription sometimes packs several Latin aliases into one value with `, `;
those are split unless the next piece is a legal form ("Meroe Gold Co., Ltd").
Entry ids are `<annex>-<recordId>` because record ids restart in each annex.
"""

from __future__ import annotations

import re

from app.screening.countries import country_code
from app.screening.entry import Alias, AliasKind, ListEntry, ParsedList, Schema, count_entries
from app.screening.sources._common import csv_rows, decode_text, fail, has_han, split_multi

LIST_ID = "eu_2020_1998"
HEADER = (
    "celex", "recordId", "programKey", "annex", "measure", "startDate", "reason", "schema",
    "name", "alias", "weakAlias", "previousName", "country", "nationality", "jurisdiction",
    "birthDate", "birthPlace", "position", "passportNumber", "gender", "appearance", "ethnicity",
    "fatherName", "motherName", "incorporationDate", "legalForm", "sector", "registrationNumber",
    "taxNumber", "idNumber", "innCode", "ogrnCode", "kppCode", "okpoCode", "leiCode", "swiftBic",
    "ticker", "imoNumber", "mmsi", "flag", "address", "phone", "email", "website", "notes",
)  # fmt: skip

_LEGAL_START = re.compile(r"^(ltd|limited|llc|inc|co\b|corp|gmbh|s\.?a\b|jsc|plc)", re.IGNORECASE)
_DMY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


def _split_aliases(value: str) -> list[str]:
    out: list[str] = []
    for part in split_multi(value, ";"):
        pieces = [p.strip() for p in part.split(", ")]
        if len(pieces) > 1 and not any(_LEGAL_START.match(p) for p in pieces[1:]):
            out.extend(p for p in pieces if p)
        else:
            out.append(part)
    return out


def _iso_date(value: str) -> str:
    m = _DMY.match(value.strip())
    return f"{m.group(3)}-{int(m.group(2)):02d}-{int(m.group(1)):02d}" if m else ""


def parse(data: bytes) -> ParsedList:
    what = LIST_ID
    text = decode_text(data, what)
    entries: list[ListEntry] = []
    seen: set[str] = set()
    for row_no, cells in csv_rows(text, what):
        if row_no == 1:
            if tuple(c.strip() for c in cells) != HEADER:
                raise fail(what, 1, "header is not the 45-column OJ transcription header")
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(HEADER):
            raise fail(what, row_no, f"expected {len(HEADER)} columns, got {len(cells)}")
        row = dict(zip(HEADER, (c.strip() for c in cells), strict=True))
        if not row["name"]:
            raise fail(what, row_no, "missing name")
        annex = row["annex"]
        if annex not in ("I.A", "I.B"):
            raise fail(what, row_no, f"unknown annex {annex!r}")
        entry_id = f"{annex}-{row['recordId']}"
        if entry_id in seen:
            raise fail(what, row_no, f"duplicate record {entry_id}")
        seen.add(entry_id)
        schema = Schema.PERSON if annex == "I.A" else Schema.ORGANIZATION
        names = (
            _split_aliases(row["alias"])
            + _split_aliases(row["weakAlias"])
            + _split_aliases(row["previousName"])
        )
        countries = [
            country_code(c)
            for field in ("country", "nationality", "jurisdiction")
            for c in split_multi(row[field], ";")
        ]
        entries.append(
            ListEntry(
                list_id=LIST_ID,
                entry_id=entry_id,
                schema=schema,
                name=row["name"],
                aliases=tuple(
                    dict.fromkeys(
                        Alias(n, AliasKind.CHINESE if has_han(n) else AliasKind.AKA)
                        for n in names
                        if n != row["name"]
                    )
                ),
                countries=tuple(dict.fromkeys(c for c in countries if c)),
                addresses=tuple(split_multi(row["address"], ";")),
                programs=(row["programKey"],) if row["programKey"] else (),
                remarks=row["reason"],
                section=annex,
                listed_on=_iso_date(row["startDate"]),
            )
        )
    if not entries:
        raise fail(what, 2, "no entries")
    result = tuple(entries)
    return ParsedList(source=LIST_ID, entries=result, counts=count_entries(result))
