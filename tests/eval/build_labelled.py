"""Build tests/eval/labelled.csv (run once; the CSV is committed and reviewed by hand).

Positives are real list entries rewritten the way trade documents write them: legal-form
variants, upper case, trade abbreviations, a one-letter typo, reordered person names, Chinese
(simplified and traditional), pinyin and published aliases. Transformations are fixed rules
written before any evaluation; they are not chosen per entry. Hard negatives are hand-written
in HARD_NEGATIVES.csv (firms and people that share place, industry and surname words with
listed ones but are not listed). `split` is assigned by a hash of the query: about a quarter
of rows are `holdout` and were never looked at while tuning the matcher.

    PYTHONPATH=. python tests/eval/build_labelled.py
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

from opencc import OpenCC
from pypinyin import lazy_pinyin

from app.screening.entry import AliasKind, ListEntry, Schema
from app.screening.sources import default_fixtures_dir, parse_source, read_source_files

HERE = Path(__file__).parent
XINJIANG = re.compile(
    r"xinjiang|urumqi|hotan|hetian|aksu|kashgar|kashi|xuar|turpan|turfan|changji|shihezi|"
    r"hami|yili|bortala|bayingolin|karamay|kelamayi|tacheng|altay|wujiaqu|tumxuk|kezilesu",
    re.I,
)
CHINA_PERSONS_SDN = ("29220", "29219", "29162", "31492", "31493", "29160", "29300", "29319",
                     "34079", "34119", "39417")  # fmt: skip
ABBREVIATIONS = [
    (r"\bProducts?\b", "PROD"), (r"\bProduction\b", "PROD"), (r"\bConstruction\b", "CONSTR"),
    (r"\bGroup\b", "GRP"), (r"\bTechnology\b", "TECH"), (r"\bIndustrial\b", "INDL"),
    (r"\bManufacturing\b", "MFG"), (r"\bInternational\b", "INTL"), (r"\bCompany\b", "CO"),
    (r"\band\b", "&"), (r"\bMaterials?\b", "MATL"), (r"\bElectric(al)?\b", "ELEC"),
    (r"\bTrading\b", "TRDG"), (r"\bDevelopment\b", "DEVT"), (r"\bIndustry\b", "IND"),
    (r"\bEquipment\b", "EQUIP"), (r"\bLogistics\b", "LOGISTIC"), (r"\bTextiles?\b", "TEXTILE"),
]  # fmt: skip
LEGAL_SUFFIX = re.compile(
    r"[,\s]*(co\.?,?\s*ltd\.?|company limited|limited|ltd\.?|co\.?|corporation|corp\.?|"
    r"inc\.?|group)\s*$",
    re.I,
)
LEGAL_VARIANTS = ["CO., LTD.", "Company Limited", "CO LTD", "Co.,Ltd", "LIMITED", ""]


def stable(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def split_for(query: str) -> str:
    return "holdout" if stable(query) % 4 == 0 else "dev"


def typo(name: str) -> str | None:
    """Swap two inner letters of the longest word of 6+ letters (a keying slip)."""
    words = re.findall(r"[A-Za-z]{6,}", name)
    if not words:
        return None
    word = max(words, key=len)
    k = 2 + stable(name) % (len(word) - 4)
    swapped = word[:k] + word[k + 1] + word[k] + word[k + 2 :]
    if swapped == word:
        return None
    return name.replace(word, swapped, 1)


def legal_variant(name: str) -> str:
    core = LEGAL_SUFFIX.sub("", name).strip(" ,")
    suffix = LEGAL_VARIANTS[stable(name) % len(LEGAL_VARIANTS)]
    return f"{core} {suffix}".strip()


def abbreviate(name: str) -> str | None:
    out = name
    for pattern, short in ABBREVIATIONS:
        out = re.sub(pattern, short, out)
    return out.upper() if out != name else None


def person_variants(name: str) -> list[tuple[str, str]]:
    if "," in name:
        surname, given = (p.strip() for p in name.split(",", 1))
    else:
        parts = name.split()
        surname, given = parts[0], " ".join(parts[1:])
    surname = surname.title()
    return [
        (f"{given} {surname}", "person_given_first"),
        (f"{surname.upper()} {given}", "person_surname_first_upper"),
        (f"{surname}, {given}", "person_comma"),
    ]


def rows_for(entry: ListEntry, to_traditional: OpenCC) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []

    def add(query: str | None, variant: str) -> None:
        if query and query.strip():
            out.append({"query": query.strip(), "schema": entry.schema.value, "label": "pos",
                        "expected_list": entry.list_id, "expected_name": entry.name,
                        "variant": variant})  # fmt: skip

    name = re.sub(r"\s+and (its )?(subsidiaries|subordinate and affiliated entities)$", "",
                  entry.name)  # fmt: skip
    if entry.schema == Schema.PERSON:
        for query, variant in person_variants(name):
            add(query, variant)
    else:
        add(legal_variant(name).upper(), "legal_form_upper")
        add(abbreviate(name), "trade_abbreviation")
        add(typo(name), "typo")
    for alias in entry.aliases:
        if alias.kind == AliasKind.CHINESE:
            add(alias.name, "chinese_simplified")
            add(to_traditional.convert(alias.name), "chinese_traditional")
            if entry.schema != Schema.PERSON:
                core = re.sub(r"(股份)?有限(责任)?公司$", "", alias.name)
                add(" ".join(w.capitalize() for w in lazy_pinyin(core)), "pinyin_syllables")
        elif len(out) < 8 and alias.name != name:
            add(alias.name.upper(), "published_alias_upper")
    return out


def main() -> None:
    fixtures = default_fixtures_dir()
    to_traditional = OpenCC("s2t")
    chosen: list[ListEntry] = []
    chosen += parse_source("uflpa", read_source_files("uflpa", fixtures)).entries
    sdn = {
        e.entry_id: e
        for e in parse_source("ofac_sdn", read_source_files("ofac_sdn", fixtures)).entries
    }
    chosen += [sdn[i] for i in CHINA_PERSONS_SDN] + [sdn["29299"], sdn["29159"]]
    glomag = sorted((e for e in sdn.values() if "GLOMAG" in e.programs and e.entry_id
                     not in CHINA_PERSONS_SDN), key=lambda e: stable(e.entry_id))  # fmt: skip
    chosen += glomag[:40]
    csl = parse_source("us_csl", read_source_files("us_csl", fixtures)).entries
    chosen += [e for e in csl if e.list_id == "bis_entity"
               and XINJIANG.search(e.name + " " + " ".join(e.addresses))]  # fmt: skip
    eu = parse_source("eu_2020_1998", read_source_files("eu_2020_1998", fixtures)).entries
    chosen += [e for e in eu if any(a.kind == AliasKind.CHINESE for a in e.aliases)]
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for entry in chosen:
        for row in rows_for(entry, to_traditional):
            if row["query"] not in seen:
                seen.add(row["query"])
                rows.append(row)
    with (HERE / "HARD_NEGATIVES.csv").open(encoding="utf-8") as fh:
        for neg in csv.DictReader(fh):
            if neg["query"] not in seen:
                seen.add(neg["query"])
                rows.append({"query": neg["query"], "schema": neg["schema"], "label": "neg",
                             "expected_list": "", "expected_name": "",
                             "variant": neg["why"]})  # fmt: skip
    for row in rows:
        row["split"] = split_for(row["query"])
    fields = ["query", "schema", "label", "expected_list", "expected_name", "variant", "split"]
    with (HERE / "labelled.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    print(len(rows), "rows")


if __name__ == "__main__":
    main()
