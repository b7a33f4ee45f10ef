"""Official-format list parsers and the registry of bundled list files.

Every parser is all-or-nothing: it returns a ParsedList or raises InvalidListFile naming the
file, row and reason. Nothing here touches the filesystem except `read_source_files`, which
the service calls at start-up to load the bundled fixtures into a new database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from app.errors import InvalidListFile
from app.screening.entry import ParsedList
from app.screening.sources import eu_2020_1998, ofac, opensanctions, uflpa, us_csl

# One parser per source id; multi-file sources take {filename: bytes}.
FilesParser = Callable[[Mapping[str, bytes]], ParsedList]


def _single(parse: Callable[[bytes], ParsedList]) -> FilesParser:
    def parse_files(files: Mapping[str, bytes]) -> ParsedList:
        if len(files) != 1:
            raise InvalidListFile(f"expected exactly one file, got {sorted(files)}")
        return parse(next(iter(files.values())))

    return parse_files


@dataclass(frozen=True, slots=True)
class SourceSpec:
    source: str
    parse_files: FilesParser  # {filename: bytes} -> ParsedList
    parse_upload: Callable[[bytes], ParsedList]  # one uploaded file (ZIP for OFAC)
    fixture_paths: tuple[str, ...]  # relative to the fixtures/lists directory
    description: str


SOURCES: dict[str, SourceSpec] = {
    "uflpa": SourceSpec(
        "uflpa", _single(uflpa.parse), uflpa.parse, ("uflpa/uflpa_entity_list.csv",),
        "UFLPA Entity List (curated CSV)",
    ),
    "ofac_sdn": SourceSpec(
        "ofac_sdn", lambda files: ofac.parse_files(files, ofac.SDN), ofac.parse,
        ("ofac_sdn/sdn.csv", "ofac_sdn/alt.csv", "ofac_sdn/add.csv", "ofac_sdn/sdn_comments.csv"),
        "OFAC SDN list, legacy CSV set",
    ),
    "ofac_cons": SourceSpec(
        "ofac_cons", lambda files: ofac.parse_files(files, ofac.CONS), ofac.parse_cons,
        ("ofac_cons/cons_prim.csv", "ofac_cons/cons_alt.csv", "ofac_cons/cons_add.csv",
         "ofac_cons/cons_comments.csv"),
        "OFAC non-SDN consolidated list, legacy CSV set",
    ),
    "us_csl": SourceSpec(
        "us_csl", _single(us_csl.parse), us_csl.parse, ("us_csl/consolidated.csv.gz",),
        "US Consolidated Screening List (one list id per CSL source)",
    ),
    "eu_2020_1998": SourceSpec(
        "eu_2020_1998", _single(eu_2020_1998.parse), eu_2020_1998.parse,
        ("eu_2020_1998/32020R1998.csv",),
        "EU Reg. 2020/1998 Annex I (OpenSanctions OJ transcription)",
    ),
    "opensanctions": SourceSpec(
        "opensanctions", _single(opensanctions.parse), opensanctions.parse,
        ("opensanctions/sample_uk_ca.ftm.jsonl",),
        "OpenSanctions FtM JSON lines (bundled: a hand-made UK/Canada SAMPLE)",
    ),
}  # fmt: skip


def read_source_files(source: str, fixtures_dir: Path) -> dict[str, bytes]:
    spec = SOURCES[source]
    return {Path(p).name: (fixtures_dir / p).read_bytes() for p in spec.fixture_paths}


def bundled_sources(fixtures_dir: Path) -> list[tuple[str, dict[str, bytes]]]:
    """Every bundled source with its file bytes, ready for `parse_source`."""
    return [(source, read_source_files(source, fixtures_dir)) for source in SOURCES]


def parse_source(source: str, files: Mapping[str, bytes]) -> ParsedList:
    if source not in SOURCES:
        raise InvalidListFile(f"unknown list source {source!r}; known: {sorted(SOURCES)}")
    return SOURCES[source].parse_files(files)


def default_fixtures_dir() -> Path:
    return Path(__file__).resolve().parents[3] / "fixtures" / "lists"


__all__ = [
    "SOURCES",
    "SourceSpec",
    "bundled_sources",
    "default_fixtures_dir",
    "parse_source",
    "read_source_files",
]
