"""OpenSanctions FollowTheMoney entities, JSON lines (`entities.ftm.json`).

This is how most users load UK (OFSI/FCDO), Canada (SEMA) and other lists. Matchable schemata
become entries; every dataset an entity belongs to becomes a list id (DATASET_LIST_IDS, else
`os_<dataset>`), so one entity listed by the UK and Canada yields two entries. Relationship
schemata (Ownership, Sanction, Address, ...) are counted and skipped.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from app.errors import InvalidListFile
from app.screening.countries import country_code
from app.screening.entry import Alias, AliasKind, ListEntry, ParsedList, Schema, count_entries
from app.screening.sources._common import decode_text, has_han

SOURCE = "opensanctions"
DATASET_LIST_IDS: dict[str, str] = {
    "gb_hmt_sanctions": "uk",
    "gb_fcdo_sanctions": "uk",
    "ca_dfatd_sema_sanctions": "ca",
    "us_ofac_sdn": "ofac_sdn",
    "us_ofac_cons": "ofac_cons",
    "us_dhs_uflpa": "uflpa",
    "us_trade_csl": "us_csl",
    "eu_fsf": "eu_fsf",
    "un_sc_sanctions": "un",
    "au_dfat_sanctions": "au",
    "ch_seco_sanctions": "ch",
}
_SCHEMAS: dict[str, Schema] = {
    "Person": Schema.PERSON,
    "Organization": Schema.ORGANIZATION,
    "Company": Schema.ORGANIZATION,
    "LegalEntity": Schema.ORGANIZATION,
    "PublicBody": Schema.ORGANIZATION,
    "Vessel": Schema.VESSEL,
    "Airplane": Schema.AIRCRAFT,
}


def list_id_for(dataset: str) -> str:
    return DATASET_LIST_IDS.get(dataset, f"os_{dataset}")


def _strings(props: Mapping[str, Any], key: str, line: int) -> list[str]:
    value = props.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidListFile(f"{SOURCE}: line {line}: property {key!r} must be a list of strings")
    return [v.strip() for v in value if v.strip()]


def parse(data: bytes, datasets: Collection[str] | None = None) -> ParsedList:
    """Parse FtM JSON lines; `datasets` restricts to those dataset names when given."""
    text = decode_text(data, SOURCE)
    entries: list[ListEntry] = []
    skipped = 0
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidListFile(f"{SOURCE}: line {line_no}: not JSON ({exc.msg})") from exc
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
            raise InvalidListFile(f"{SOURCE}: line {line_no}: not an entity object with an id")
        schema = _SCHEMAS.get(str(obj.get("schema", "")))
        if schema is None:
            skipped += 1
            continue
        props = obj.get("properties", {})
        if not isinstance(props, dict):
            raise InvalidListFile(f"{SOURCE}: line {line_no}: properties must be an object")
        names = _strings(props, "name", line_no)
        if not names:
            raise InvalidListFile(f"{SOURCE}: line {line_no}: entity {obj['id']} has no name")
        aliases: list[Alias] = []
        for extra in (
            names[1:] + _strings(props, "alias", line_no) + _strings(props, "weakAlias", line_no)
        ):
            aliases.append(Alias(extra, AliasKind.CHINESE if has_han(extra) else AliasKind.AKA))
        aliases += [Alias(n, AliasKind.FKA) for n in _strings(props, "previousName", line_no)]
        countries = [
            country_code(c)
            for key in ("country", "nationality", "jurisdiction", "citizenship")
            for c in _strings(props, key, line_no)
        ]
        entity_datasets = obj.get("datasets", [])
        if not isinstance(entity_datasets, list) or not entity_datasets:
            raise InvalidListFile(f"{SOURCE}: line {line_no}: entity {obj['id']} has no datasets")
        list_ids = dict.fromkeys(
            list_id_for(str(d)) for d in entity_datasets if datasets is None or d in datasets
        )
        for list_id in list_ids:
            entries.append(
                ListEntry(
                    list_id=list_id,
                    entry_id=obj["id"],
                    schema=schema,
                    name=names[0],
                    aliases=tuple(dict.fromkeys(a for a in aliases if a.name != names[0])),
                    countries=tuple(dict.fromkeys(c for c in countries if c)),
                    addresses=tuple(_strings(props, "address", line_no)),
                    programs=tuple(_strings(props, "programId", line_no)),
                    remarks=" ".join(_strings(props, "notes", line_no)),
                    listed_on=str(obj.get("first_seen", ""))[:10],
                )
            )
    result = tuple(entries)
    if not result:
        raise InvalidListFile(f"{SOURCE}: no matchable entities")
    counts = count_entries(result)
    counts["skipped_non_matchable"] = skipped
    return ParsedList(source=SOURCE, entries=result, counts=counts)
