from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.screening import Band, ListMatch
from app.screening.entry import Alias, AliasKind, ListEntry, Schema
from app.screening.normalize import name_forms
from app.screening.scorer import MATCHER_VERSION, prepare, score_pair, score_upper_bound
from app.screening.screener import Screener, ScreenQuery, compare

XPCC = ListEntry(
    "uflpa", "xpcc", Schema.ORGANIZATION,
    "Xinjiang Production and Construction Corps and its subordinate and affiliated entities",
    (Alias("XPCC"), Alias("Bingtuan"), Alias("新疆生产建设兵团", AliasKind.CHINESE)),
    countries=("cn",), addresses=("Urumqi, Xinjiang",), programs=("UFLPA i",),
    notes=("covers subordinate and affiliated entities",),
)  # fmt: skip
HOSHINE = ListEntry(
    "bis_entity", "h1", Schema.ORGANIZATION, "Hoshine Silicon Industry (Shanshan) Co., Ltd.",
    (Alias("Hesheng Silicon Industry (Shanshan) Co., Ltd."),), countries=("cn",),
    addresses=("West of Kekeya Road, Stone Industrial Park, Shanshan County, Turpan, CN",),
)  # fmt: skip
TIANSHAN = ListEntry(
    "uflpa", "tw", Schema.ORGANIZATION, "Xinjiang Tianshan Wool Textile Co., Ltd.",
    (Alias("新疆天山毛纺织股份有限公司", AliasKind.CHINESE),), countries=("cn",),
)  # fmt: skip
ZHU = ListEntry("ofac_sdn", "29219", Schema.PERSON, "ZHU, Hailun", programs=("GLOMAG",))
CHEN = ListEntry("ofac_sdn", "29220", Schema.PERSON, "CHEN, Quanguo", programs=("GLOMAG",))
VSETC = ListEntry(
    "uflpa", "v4", Schema.ORGANIZATION,
    "No. 4 Vocational Skills Education Training Center (VSETC)",
)  # fmt: skip
ENTRIES = [XPCC, HOSHINE, TIANSHAN, ZHU, CHEN, VSETC]


@pytest.fixture(scope="module")
def screener() -> Screener:
    return Screener(ENTRIES)


def top(screener: Screener, name: str, **kw: object) -> ListMatch | None:
    matches = screener.screen(name, **kw)  # type: ignore[arg-type]
    return matches[0] if matches else None


@pytest.mark.parametrize(
    ("query", "entry_id"),
    [
        ("XINJIANG PROD & CONSTR CORPS", "xpcc"),
        ("Xinjiang Production & Construction Corps", "xpcc"),
        ("Xinjang Producton and Constrution Corp", "xpcc"),
        ("新疆生产建设兵团有限公司", "xpcc"),
        ("新疆生產建設兵團", "xpcc"),
        ("Xinjiang Shengchan Jianshe Bingtuan", "xpcc"),
        ("XPCC", "xpcc"),
        ("Hoshine Silicon Industry Co., Ltd.", "h1"),
        ("HOSHINE SILICON IND (SHANSHAN) COMPANY LIMITED", "h1"),
        ("Silicon Industry Hoshine", "h1"),
        ("新疆天山毛纺织有限公司", "tw"),
        ("XINJIANG TIANSHAN WOOL TEXTILE CO LTD", "tw"),
        ("Hailun Zhu", "29219"),
        ("朱海仑", "29219"),
        ("ZHU Hailun", "29219"),
    ],
)
def test_positives_reach_strong(screener: Screener, query: str, entry_id: str) -> None:
    match = top(screener, query)
    assert match is not None and match.entry_id == entry_id
    assert match.band == Band.STRONG, match.explanation


@pytest.mark.parametrize(
    "query",
    [
        "Xinjiang Tianye Co., Ltd.",
        "Xinjiang Tianshan Cement Co., Ltd.",
        "Hetian Jade Trading",
        "Aksu Cotton Co.",
        "Xinjiang Construction Engineering Group",
        "Chen Mingguo",
        "Chen Ming",
        "Zhu Hailong",
        "Shanshan Silicon Trading Co.",
        "No. 5 Vocational Skills Education Training Center",
    ],
)
def test_hard_negatives_are_not_strong(screener: Screener, query: str) -> None:
    assert all(m.band != Band.STRONG for m in screener.screen(query)), query


def test_number_mismatch_and_acronym_cap(screener: Screener) -> None:
    same = top(screener, "No 4 Vocational Skills Education Training Centre")
    assert same is not None and same.band == Band.STRONG
    score, _, explanation = compare("No. 4 Training Center", "No. 5 Training Center")
    assert explanation["penalties"]["number_mismatch"] < 0 and score < 0.75
    acronym = top(screener, "XPCC")
    assert acronym is not None and acronym.matched_alias == "XPCC"  # published alias, uncapped


def test_country_and_address_qualifiers(screener: Screener) -> None:
    base = top(screener, "Hoshine Silicon Industry Co., Ltd.")
    agree = top(screener, "Hoshine Silicon Industry Co., Ltd.", country="China",
                address="Stone Industrial Park, Kekeya Road, Shanshan")  # fmt: skip
    conflict = top(screener, "Hoshine Silicon Industry Co., Ltd.", country="MY")
    hong_kong = top(screener, "Hoshine Silicon Industry Co., Ltd.", country="HK")
    assert base and agree and conflict and hong_kong
    assert agree.explanation["qualifiers"]["country"]["outcome"] == "agree"
    assert agree.explanation["qualifiers"]["address"]["shared_words"]
    assert conflict.score < base.score < agree.score or base.score == 1.0
    assert conflict.explanation["qualifiers"]["country"]["adjustment"] < 0
    assert hong_kong.explanation["qualifiers"]["country"]["outcome"] == "same_region"


def test_match_shape_and_explanation(screener: Screener) -> None:
    matches = screener.screen("新疆生产建设兵团有限公司")
    assert [m.entry_id for m in matches][:1] == ["xpcc"]
    assert len({(m.list, m.entry_id) for m in matches}) == len(matches)  # one per entry
    assert matches == sorted(matches, key=lambda m: -m.score)
    e = matches[0].explanation
    assert set(e) >= {
        "matcher_version", "query", "matched_alias", "aligned", "unmatched_query",
        "unmatched_candidate", "legal_forms_ignored", "pinyin_used", "penalties",
        "name_score", "qualifiers", "score", "entry",
    }  # fmt: skip
    assert e["matcher_version"] == MATCHER_VERSION
    assert e["pinyin_used"] is True
    assert e["legal_forms_ignored"]["query"] == ["有限公司"]
    assert e["entry"]["notes"] == ["covers subordinate and affiliated entities"]
    assert matches[0].programs == ("UFLPA i",)
    assert matches[0].to_dict()["band"] == "strong"


def test_schema_filter_and_screen_many(screener: Screener) -> None:
    assert screener.screen("Zhu Hailun", schema=Schema.ORGANIZATION) == []
    results = screener.screen_many(
        ["Zhu Hailun", ScreenQuery("Chen Quanguo", schema=Schema.PERSON)]
    )
    assert [r[0].entry_id for r in results] == ["29219", "29220"]


def test_thresholds_are_parameters() -> None:
    lenient = Screener(ENTRIES, strong=0.95, possible=0.3)
    assert any(m.entry_id == "tw" for m in lenient.screen("Xinjiang Tianshan Cement Co."))
    with pytest.raises(ValueError):
        Screener(ENTRIES, strong=0.5, possible=0.8)


def test_index_finds_what_an_exhaustive_scan_finds(screener: Screener) -> None:
    queries = [
        "Xinjang Producton Corps",
        "Hesheng Silicon",
        "Zhu Hai Lun",
        "Tianshan Wool",
        "Vocational Skills Center No 4",
        "xin jiang sheng chan jian she bing tuan",
    ]
    for q in queries:
        fast = {(m.entry_id, m.band) for m in screener.screen(q)}
        full = {(m.entry_id, m.band) for m in screener.screen(q, exhaustive=True)}
        assert fast == full, q


def test_compare_is_symmetric_enough_and_explains() -> None:
    score, band, explanation = compare("Huafu Fashion Co., Ltd.", "Huafu Fashion Company")
    assert score == 1.0 and band == Band.STRONG
    assert explanation["aligned"][0]["query_norm"] == "huafu"
    s1, _, _ = compare("Xi Jinping", "Jinping Xi", schema=Schema.PERSON)
    s2, _, _ = compare("习近平", "Xi Jinping")
    assert s1 == 1.0 and s2 >= 0.9
    s3, band3, _ = compare("ABC Trading Co., Ltd.", "ABD Trading Co., Ltd.")
    assert band3 is None and s3 < 0.75
    s4, _, e4 = compare("Hoshine Silicon", "Hoshine Silicon", country_a="CN", country_b="US")
    assert e4["qualifiers"]["country"]["outcome"] == "conflict" and s4 < 1.0


def test_generic_words_that_swap_roles_are_not_strong() -> None:
    listed = "Xinjiang Production and Construction Corps"
    score, band, explanation = compare("Xinjiang Construction Products Co.", listed)
    assert band != Band.STRONG and explanation["penalties"]["generic_role_swap"] < 0
    # A distinctive token moving (place after the brand) stays a small tie-breaker.
    moved, moved_band, moved_explanation = compare(
        "Daqo New Energy (Xinjiang) Co Ltd", "Xinjiang Daqo New Energy Co., Ltd."
    )
    assert moved_band == Band.STRONG and "generic_role_swap" not in moved_explanation["penalties"]


@pytest.mark.parametrize(
    ("query", "listed"),
    [
        ("Xinjiang Daqing Energy", "Xinjiang Daqin Energy Co., Ltd."),  # one letter, short token
        ("Yixing Science & Technology Co Ltd", "Yixin Science and Technology Co. Ltd."),
        ("Suzhou Kedi Technology", "Suzhou Keda Technology Co., Ltd."),
    ],
)
def test_short_distinctive_token_one_letter_off_is_possible_not_strong(
    query: str, listed: str
) -> None:
    score, band, explanation = compare(query, listed)
    assert band == Band.POSSIBLE, (score, explanation)
    assert "distinctive_not_exact" in explanation["penalties"]


@pytest.mark.parametrize(
    ("query", "listed"),
    [
        ("Sichuan Jingweda Technology Group", "Sichuan Jingweida Technology Group Co., Ltd."),
        ("Hosihne Silicon Industry", "Hoshine Silicon Industry Co., Ltd."),  # keying swap
        ("Xinjiang Tengxaing Magnesium Products", "Xinjiang Tengxiang Magnesium Products Co."),
    ],
)
def test_typos_in_long_tokens_and_letter_swaps_stay_strong(query: str, listed: str) -> None:
    score, band, explanation = compare(query, listed)
    assert band == Band.STRONG, (score, explanation)


def test_syllable_by_syllable_pinyin_keeps_a_and_lv() -> None:
    score, band, _ = compare("A Ke Su Hua Fu Se Fang", "阿克苏华孚色纺有限公司")
    assert band == Band.STRONG and score >= 0.95
    lv, lv_band, _ = compare("Hong Yuan Lv Se Neng Yuan", "弘元绿色能源股份有限公司")
    assert lv_band == Band.STRONG, lv


_WORDS = [
    "xin", "jiang", "xinjiang", "hua", "fu", "huafu", "zhong", "tai", "zhongtai", "daqo",
    "daqin", "daqing", "new", "energy", "cotton", "textile", "co", "ltd", "group", "a", "ke",
    "su", "aksu", "hoshine", "silicon", "industry", "public", "security", "bureau", "no", "4",
    "5", "ji", "tuan", "(shanshan)", "tech", "technology", "prod", "production", "corps",
    "新疆", "华孚", "大全", "纺织", "有限公司",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(_WORDS), min_size=1, max_size=7),
    st.lists(st.sampled_from(_WORDS), min_size=1, max_size=7),
    st.booleans(),
)
def test_score_upper_bound_is_never_below_the_score(
    query_words: list[str], listed_words: list[str], person: bool
) -> None:
    # The index skips candidates whose bound is below the possible band: the bound must hold.
    schema = Schema.PERSON if person else None
    for qf in name_forms(" ".join(query_words), schema):
        for cf in name_forms(" ".join(listed_words), schema, acronyms=True):
            q, c = prepare(qf), prepare(cf)
            assert score_upper_bound(q, c) >= score_pair(q, c, person=person).score - 1e-9


def test_identical_names_on_two_lists_are_both_returned() -> None:
    sdn = ListEntry("ofac_sdn", "1", Schema.ORGANIZATION, "Xinjiang Public Security Bureau")
    csl = ListEntry("csl_sdn", "c1", Schema.ORGANIZATION, "XINJIANG PUBLIC SECURITY BUREAU")
    screener = Screener([sdn, csl])
    assert len(screener.index.groups) * 2 == len(screener.index.forms)  # each form scored once
    found = {(m.list, m.entry_id) for m in screener.screen("Xinjiang Public Security Bureau")}
    assert found == {("ofac_sdn", "1"), ("csl_sdn", "c1")}
