from __future__ import annotations

import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from app.screening.entry import Schema
from app.screening.normalize import CORE, GENERIC_KIND, LEGAL, PLACE, fold, name_forms
from app.screening.screener import compare


def texts(name: str, schema: Schema | None = None) -> list[str]:
    return [t.text for t in name_forms(name, schema)[0].tokens if t.kind != "stop"]


def test_fold_handles_width_case_diacritics_and_traditional_chinese() -> None:
    assert fold("ＡＢＣ Çompañía") == "abc compania"
    assert fold("和田浩林髮飾有限公司") == "和田浩林发饰有限公司"


def test_legal_forms_are_dropped_and_reported() -> None:
    variants = [
        "Hoshine Silicon Industry Co., Ltd.",
        "HOSHINE SILICON INDUSTRY CO LTD",
        "Hoshine Silicon Industry Company Limited",
        "Hoshine Silicon Industry Limited",
        "Hoshine Silicon Industry",
    ]
    assert len({tuple(texts(v)) for v in variants}) == 1
    form = name_forms("Hoshine Silicon Industry Company Limited")[0]
    assert form.legal == ("Company", "Limited") or [x.lower() for x in form.legal] == [
        "company",
        "limited",
    ]


def test_trade_abbreviations_fold_to_the_same_token() -> None:
    assert texts("XINJIANG PROD & CONSTR CORPS") == texts(
        "Xinjiang Production and Construction Corps"
    )
    assert texts("GUANGZHOU HAIGE COMM GRP") == texts("Guangzhou Haige Communication Group")
    assert texts("CNOOC ENERGY TECH & SRVCES LTD") == texts(
        "CNOOC Energy Technology & Services Limited"
    )


def test_kinds_generic_place_core() -> None:
    form = name_forms("Xinjiang Tianye Cotton Textile Co., Ltd.")[0]
    kinds = {t.text: t.kind for t in form.tokens}
    assert kinds == {
        "xinjiang": PLACE,
        "tianye": CORE,
        "cotton": GENERIC_KIND,
        "textile": GENERIC_KIND,
    }
    assert "Hotan" != "Hetian" and texts("Hotan Haolin") == texts("Hetian Haolin")


def test_chinese_segmentation_pinyin_and_legal_suffixes() -> None:
    form = name_forms("新疆生产建设兵团有限公司")[0]
    assert [t.text for t in form.tokens] == ["xinjiang", "shengchan", "jianshe", "bingtuan"]
    assert form.legal == ("有限公司",) and form.pinyin
    paren = name_forms("合盛硅业(鄯善)有限公司")[0]
    assert [(t.text, t.paren) for t in paren.tokens] == [
        ("hesheng", False),
        ("guiye", False),
        ("shanshan", True),
    ]


def test_person_names_in_either_order_and_script() -> None:
    expected = sorted(["zhu", "hailun"])
    for name in ("ZHU, Hailun", "Hailun Zhu", "Zhu Hailun", "朱海仑"):
        assert sorted(texts(name, Schema.PERSON)) == expected
    # unknown schema: a short Chinese name is also read as surname + given name
    assert any(
        f.variant == "person" and [t.text for t in f.tokens] == ["zhu", "hailun"]
        for f in name_forms("朱海仑")
    )


def test_coverage_phrases_and_acronyms() -> None:
    listed = (
        "Xinjiang Production and Construction Corps and its subordinate and affiliated entities"
    )
    assert texts(listed) == texts("Xinjiang Production and Construction Corps")
    acronyms = {
        f.tokens[0].text for f in name_forms(listed, None, acronyms=True) if f.variant == "acronym"
    }
    assert "xpcc" in acronyms
    assert not any(f.variant == "acronym" for f in name_forms(listed))  # queries: never


def test_separated_pinyin_legal_syllables_merge() -> None:
    form = name_forms("Xin Jiang Zhong Tai Ji Tuan You Xian Gong Si")[0]
    assert "jituan" not in [t.text for t in form.tokens]
    assert [x.lower() for x in form.legal] == ["ji tuan", "you xian gong si"]
    assert [t.text for t in form.tokens] == ["xin", "jiang", "zhong", "tai"]


def test_nothing_heavy_is_built_at_import() -> None:
    code = (
        "import sys, app.screening.screener, app.screening.sources;"
        "print('opencc' in sys.modules, 'pypinyin' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_legal_kind_constant_is_used() -> None:
    assert all(t.kind != LEGAL for t in name_forms("ACME Holdings Group Ltd")[0].tokens)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_any_text_normalises_and_scores_within_bounds(a: str, b: str) -> None:
    for form in name_forms(a):
        assert all(t.text for t in form.tokens)
    score, band, explanation = compare(a, b)
    assert 0.0 <= score <= 1.0
    assert explanation["matcher_version"]
    if a.strip() and name_forms(a) and any(t.kind != "stop" for t in name_forms(a)[0].tokens):
        assert compare(a, a)[0] >= 0.9


def test_pinyin_syllables_that_are_stop_words() -> None:
    assert [(t.text, t.kind) for t in name_forms("A Ke Su")[0].tokens] == [
        ("a", CORE),
        ("ke", CORE),
        ("su", CORE),
    ]
    # Connectives between words that are not single syllables stay stop words.
    kinds = [t.kind for t in name_forms("Banco de la Nacion")[0].tokens]
    assert kinds == [CORE, "stop", "stop", CORE]


def test_pinyin_names_are_not_corrected_to_other_pinyin_vocabulary() -> None:
    assert texts("Yixing Science") == ["yixing", "science"]  # not the place Yining
    assert texts("Xinjang Cotton") == ["xinjiang", "cotton"]  # a slip, not a name
    assert texts("新疆有色金属工业(集团)有限责任公司") == ["xinjiang", "yousejinshu", "gongye"]


def test_names_cut_at_the_field_width() -> None:
    form = name_forms("HUBEI JINGTIAN COTTON INDUSTRY GROU")[0]
    assert [t.text for t in form.tokens] == ["hubei", "jingtian", "cotton", "industry"]
    assert "grou" in [x.lower() for x in form.legal]
    cut = name_forms("XINJIANG GCL NEW ENERGY MATERIAL TE")[0].tokens[-1]
    assert (cut.text, cut.kind) == ("te", GENERIC_KIND)
    # Short names are not cut; pinyin written syllable by syllable is not a cut word.
    assert name_forms("Hubei Grou")[0].tokens[-1].kind == CORE
    assert texts("Jiang Su Mei Ke Tai Yang Neng Ke Ji")[-2:] == ["ke", "ji"]


def test_chinese_and_latin_run_together_give_a_form_per_script() -> None:
    forms = name_forms("XINJIANG DAQO NEW ENERGY CO.,LTD新疆大全新能源股份有限公司")
    token_sets = [[t.text for t in f.tokens] for f in forms]
    assert ["xinjiang", "daqo", "new", "energy"] in token_sets
    assert ["xinjiang", "daquan", "xinnengyuan"] in token_sets
