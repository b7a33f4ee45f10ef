"""UFLPA Entity List, curated CSV (DHS publishes only HTML and Federal Register appendices).

Columns: name, aliases (`|`-separated), chinese_name, country, list_section (`i|v`), date_added,
source. The Chinese name becomes an alias of kind `chinese`. Listings that extend to
subsidiaries ("... and subsidiaries", "... and its subordinate and affiliated entities") keep
the published name, gain the bare name as an alias and carry a note, so the engine can treat a
matched subsidiary as covered.
"""

from __future__ import annotations

import re
import unicodedata

from app.screening.countries import country_code
from app.screening.entry import Alias, AliasKind, ListEntry, ParsedList, Schema, count_entries
from app.screening.sources._common import csv_rows, decode_text, fail

LIST_ID = "uflpa"
HEADER = ("name", "aliases", "chinese_name", "country", "list_section", "date_added", "source")

_COVERAGE = re.compile(
    r"[,\s]+(?:and\s+(?:its\s+)?(?P<what>subsidiaries|subordinate\s+and\s+affiliated\s+entities"
    r"|affiliated\s+entities))\s*$",
    re.IGNORECASE,
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def entry_id_for(name: str) -> str:
    """Stable id from the published name (the list has no identifiers of its own)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:120]


def split_coverage(name: str) -> tuple[str, str]:
    """'X and subsidiaries' -> ('X', 'subsidiaries'); otherwise (name, '')."""
    m = _COVERAGE.search(name)
    if not m:
        return name, ""
    return name[: m.start()].strip(" ,"), " ".join(m.group("what").lower().split())


def parse(data: bytes) -> ParsedList:
    what = "uflpa"
    text = decode_text(data, what)
    entries: list[ListEntry] = []
    seen_ids: set[str] = set()
    for row_no, cells in csv_rows(text, what):
        if row_no == 1:
            if tuple(c.strip().lower() for c in cells[: len(HEADER)]) != HEADER:
                raise fail(what, 1, f"header must start with {','.join(HEADER)}")
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(HEADER):
            raise fail(what, row_no, f"expected {len(HEADER)} columns, got {len(cells)}")
        name, aliases, chinese, country, section, date_added, source = (c.strip() for c in cells)
        if not name:
            raise fail(what, row_no, "missing name")
        if date_added and not _DATE.match(date_added):
            raise fail(what, row_no, f"date_added {date_added!r} is not YYYY-MM-DD")
        bare, coverage = split_coverage(name)
        alias_list: list[Alias] = []
        if coverage:
            alias_list.append(Alias(bare))
        alias_list += [Alias(a.strip()) for a in aliases.split("|") if a.strip()]
        if chinese:
            alias_list.append(Alias(chinese, AliasKind.CHINESE))
        entry_id = entry_id_for(bare)
        if entry_id in seen_ids:
            raise fail(what, row_no, f"duplicate entry {name!r}")
        seen_ids.add(entry_id)
        sections = tuple(s.strip() for s in section.split("|") if s.strip())
        entries.append(
            ListEntry(
                list_id=LIST_ID,
                entry_id=entry_id,
                schema=Schema.ORGANIZATION,
                name=name,
                aliases=tuple(dict.fromkeys(a for a in alias_list if a.name != name)),
                countries=(country_code(country),) if country else (),
                programs=tuple(f"UFLPA {s}" for s in sections),
                remarks=source,
                section=section,
                notes=(f"covers {coverage}",) if coverage else (),
                listed_on=date_added[:10],
            )
        )
    if not entries:
        raise fail(what, 2, "no entries")
    result = tuple(entries)
    return ParsedList(source=LIST_ID, entries=result, counts=count_entries(result))
