"""Entity-list parsing and Chinese-aware name matching (pure Python, no I/O in the matcher).

Public API
----------
Parsers (`app.screening.sources`), all-or-nothing, raise `app.errors.InvalidListFile`:
    uflpa.parse(bytes), ofac.parse_files({name: bytes}, list_id), ofac.parse(zip_bytes),
    ofac.parse_cons(zip_bytes), us_csl.parse(bytes, gz or plain), eu_2020_1998.parse(bytes),
    opensanctions.parse(bytes, datasets=None)
    SOURCES: source id -> SourceSpec(parse_files, parse_upload, fixture_paths, description)
    bundled_sources(fixtures_dir) -> [(source, {filename: bytes})]; parse_source(source, files)
    default_fixtures_dir() -> <repo>/fixtures/lists
Model (`app.screening.entry`): ListEntry (+ to_dict/from_dict), Alias, AliasKind, Schema,
    ParsedList(source, entries, counts).
Matching (`app.screening.screener`):
    Screener(entries, strong=0.90, possible=0.75)
        .screen(name, country=None, address=None, schema=None) -> list[ListMatch]
        .screen_many([str | ScreenQuery]) -> list[list[ListMatch]]
        .compare(a, b, schema=None, country_a=None, country_b=None) -> (score, band, explanation)
    compare(...) -> same, without list statistics (every core token weighs 1)
    MATCHER_VERSION (`app.screening.scorer`): bump whenever scores can change.

List ids: uflpa, ofac_sdn, ofac_cons, eu_2020_1998, the CSL sources (csl_sdn, bis_entity,
bis_unverified, bis_meu, dpl, dtc_debarred, isn, csl_ssi, csl_plc, csl_cmic, csl_capta,
csl_nsmbs, csl_fse) and OpenSanctions datasets (uk, ca, ... else os_<dataset>).
"""

from app.screening.scorer import MATCHER_VERSION

__all__ = ["MATCHER_VERSION"]
