from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path

import pytest

from app.errors import InvalidListFile
from app.screening.entry import AliasKind, ListEntry, ParsedList, Schema
from app.screening.sources import (
    SOURCES,
    bundled_sources,
    eu_2020_1998,
    ofac,
    opensanctions,
    parse_source,
    read_source_files,
    uflpa,
    us_csl,
)


def by_id(parsed: ParsedList) -> dict[str, ListEntry]:
    return {e.entry_id: e for e in parsed.entries}


# --- UFLPA -----------------------------------------------------------------------------


def test_uflpa_real_file(fixtures_dir: Path) -> None:
    parsed = uflpa.parse((fixtures_dir / "uflpa/uflpa_entity_list.csv").read_bytes())
    assert parsed.counts["entries"] == 136
    xpcc = by_id(parsed)["xinjiang-production-and-construction-corps"]
    assert xpcc.notes == ("covers subordinate and affiliated entities",)
    assert "Xinjiang Production and Construction Corps" in xpcc.names()
    assert any(a.kind == AliasKind.CHINESE and a.name == "新疆生产建设兵团" for a in xpcc.aliases)
    hoshine = next(e for e in parsed.entries if e.name.startswith("Hoshine"))
    assert hoshine.notes == ("covers subsidiaries",)
    daqo = next(e for e in parsed.entries if e.name.startswith("Xinjiang Daqo"))
    assert daqo.section == "i|v" and daqo.programs == ("UFLPA i", "UFLPA v")
    assert daqo.countries == ("cn",)


HEADER = b"name,aliases,chinese_name,country,list_section,date_added,source\n"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (HEADER + b"A Co,,,CN,i,2022-06-21\n", "row 2: expected 7 columns, got 6"),
        (HEADER + b"A Co,,,CN,i,2022-06-21,x\n,,,CN,i,2022-06-21,x\n", "row 3: missing name"),
        (HEADER + b"A Co,,,CN,i,21.6.2022,x\n", "row 2: date_added"),
        (HEADER + b"A Co,,\xff\xfe,CN,i,2022-06-21,x\n", "not valid UTF-8"),
        (b"wrong,header\n", "row 1: header"),
        (HEADER + b"A Co,,,CN,i,2022-06-21,x\nA Co,,,CN,i,2022-06-21,x\n", "duplicate"),
    ],
)
def test_uflpa_rejects_malformed_files(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidListFile, match=reason):
        uflpa.parse(body)


# --- OFAC ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sdn(fixtures_dir: Path) -> ParsedList:
    return parse_source("ofac_sdn", read_source_files("ofac_sdn", fixtures_dir))


def test_ofac_sdn_joins_aliases_addresses_and_remarks(sdn: ParsedList) -> None:
    entries = by_id(sdn)
    assert sdn.counts["entries"] == 14965
    xpcc = entries["29299"]
    assert xpcc.schema == Schema.ORGANIZATION
    assert xpcc.programs == ("GLOMAG",)
    assert xpcc.linked_to == ("CHEN, Quanguo",)
    assert xpcc.countries == ("cn",)
    xpsb = entries["29159"]
    assert "XINJIANG BUREAU OF PUBLIC SECURITY" in xpsb.names()
    gao = entries["39417"]
    assert gao.programs == ("GLOMAG", "UHRPA") and gao.schema == Schema.PERSON
    assert "XINJIANG PUBLIC SECURITY BUREAU" in gao.linked_to[0]
    bnc = entries["306"]  # alias only in remarks: a.k.a. 'BNC'.
    assert "BNC" in bnc.names() and "NATIONAL BANK OF CUBA" in bnc.names()
    assert entries["36"].remarks == ""  # the `-0- ` null
    assert entries["8214"].remarks == "US FEIN CH-217-0-431-423-3 (United States)."
    assert {e.schema for e in sdn.entries} == set(Schema)
    assert sdn.counts["orphan_rows"] > 0  # alt/add files are newer than sdn.csv


def test_ofac_loads_from_one_zip_and_cons(fixtures_dir: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in read_source_files("ofac_cons", fixtures_dir).items():
            archive.writestr(f"cons/{name}", data)
    parsed = ofac.parse_cons(buffer.getvalue())
    assert parsed.counts["entries"] == 442
    assert all(e.list_id == "ofac_cons" for e in parsed.entries)
    with pytest.raises(InvalidListFile, match="not a ZIP"):
        ofac.parse(b"plain bytes")


def test_ofac_rejects_bad_rows() -> None:
    good = b'1,"A CO",-0- ,"SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n\x1a'
    assert ofac.parse_files({"sdn.csv": good}).counts["entries"] == 1
    with pytest.raises(InvalidListFile, match=r"sdn.csv: row 2: expected 12 columns, got 3"):
        ofac.parse_files({"sdn.csv": good[:-1] + b'2,"B",x\r\n'})
    with pytest.raises(InvalidListFile, match="row 1: missing name"):
        ofac.parse_files({"sdn.csv": good.replace(b'"A CO"', b"-0- ")})
    with pytest.raises(InvalidListFile, match="no primary file"):
        ofac.parse_files({"alt.csv": b'1,2,"aka","X",-0- \r\n'})
    with pytest.raises(InvalidListFile, match="empty"):
        ofac.parse_files({"sdn.csv": b"\x1a"})


# --- US CSL ----------------------------------------------------------------------------


def test_us_csl_splits_sources_into_list_ids(fixtures_dir: Path) -> None:
    data = (fixtures_dir / "us_csl/consolidated.csv.gz").read_bytes()
    parsed = us_csl.parse(data)
    assert parsed.counts["entries"] == 14160
    assert parsed.counts["list:bis_entity"] == 2001
    assert parsed.counts["list:csl_sdn"] == 10026
    assert set(parsed.by_list()) == set(us_csl.SOURCE_IDS.values())
    xpcc = next(
        e for e in parsed.entries if e.name == "Xinjiang Production and Construction Corps (XPCC)"
    )
    assert xpcc.list_id == "bis_entity"
    assert [a.name for a in xpcc.aliases] == ["XPCC", "Xinjiang Corps", "Bingtuan"]
    assert xpcc.countries == ("cn",)
    assert us_csl.parse(gzip.decompress(data)).counts == parsed.counts  # plain CSV too


def test_us_csl_rejects_bad_rows(fixtures_dir: Path) -> None:
    text = gzip.decompress((fixtures_dir / "us_csl/consolidated.csv.gz").read_bytes())
    header, first = text.split(b"\n")[:2]
    with pytest.raises(InvalidListFile, match="row 2: expected 29 columns"):
        us_csl.parse(header + b"\n" + b"a,b,c\n")
    with pytest.raises(InvalidListFile, match="corrupt gzip"):
        us_csl.parse(b"\x1f\x8b" + b"broken")
    assert us_csl.list_id_for("New List (NL) - Somewhere") == "csl_nl"


# --- EU 2020/1998 ----------------------------------------------------------------------


def test_eu_annexes_and_chinese_aliases(fixtures_dir: Path) -> None:
    parsed = eu_2020_1998.parse((fixtures_dir / "eu_2020_1998/32020R1998.csv").read_bytes())
    assert parsed.counts["entries"] == 177
    entries = by_id(parsed)
    zhu = entries["I.A-5"]
    assert zhu.schema == Schema.PERSON and zhu.name == "ZHU Hailun"
    assert zhu.aliases[0].name == "朱海仑" and zhu.aliases[0].kind == AliasKind.CHINESE
    assert zhu.listed_on == "2021-03-22" and zhu.countries == ("cn",)
    psb = entries["I.B-1"]
    assert psb.schema == Schema.ORGANIZATION and psb.section == "I.B"
    wagner = entries["I.B-5"]
    assert {"PMC Wagner", "Vagner Group"} <= set(wagner.names())
    meroe = entries["I.B-10"]
    assert "Al-Sarraj Mining Company Ltd" in meroe.names()


# --- OpenSanctions ---------------------------------------------------------------------


def test_opensanctions_sample_uk_and_canada(fixtures_dir: Path) -> None:
    data = (fixtures_dir / "opensanctions/sample_uk_ca.ftm.jsonl").read_bytes()
    parsed = opensanctions.parse(data)
    assert parsed.counts["list:uk"] == 5 and parsed.counts["list:ca"] == 5
    assert parsed.counts["skipped_non_matchable"] == 1
    zhu = next(e for e in parsed.entries if e.list_id == "uk" and e.name == "Zhu Hailun")
    assert zhu.aliases[0].kind == AliasKind.CHINESE
    only_ca = opensanctions.parse(data, datasets={"ca_dfatd_sema_sanctions"})
    assert {e.list_id for e in only_ca.entries} == {"ca"}
    with pytest.raises(InvalidListFile, match="line 2: not JSON"):
        opensanctions.parse(data.split(b"\n")[0] + b"\n{broken\n")
    nameless = json.dumps({"id": "x", "schema": "Person", "datasets": ["a"], "properties": {}})
    with pytest.raises(InvalidListFile, match="has no name"):
        opensanctions.parse(nameless.encode())


# --- Common ----------------------------------------------------------------------------


def test_every_bundled_source_parses_and_round_trips(fixtures_dir: Path) -> None:
    sources = bundled_sources(fixtures_dir)
    assert [s for s, _ in sources] == list(SOURCES)
    for source, files in sources:
        parsed = parse_source(source, files)
        assert parsed.entries
        for entry in parsed.entries[:200]:
            payload = json.loads(json.dumps(entry.to_dict(), ensure_ascii=False))
            assert ListEntry.from_dict(payload) == entry
    with pytest.raises(InvalidListFile, match="unknown list source"):
        parse_source("nope", {})
