"""Xinjiang detection on addresses, names and declared regions: spellings, scripts, traps."""

from __future__ import annotations

import pytest

from app.domain.engine import scan_line, scan_party
from app.domain.manifest import Line, Party
from app.domain.regions import HitKind
from app.domain.rules import RuleSet

# (name, address, country) that MUST be detected as a Xinjiang nexus
POSITIVES = [
    ("Acme", "Ürümqi", None),
    ("Acme", "Urumqi, China", "CN"),
    ("Acme", "Wulumuqi Shi", None),
    ("Acme", "乌鲁木齐市天山区解放北路", None),
    ("Acme", "新疆烏魯木齊市", None),
    ("Acme", "Urumchi", None),
    ("Acme", "ئۈرۈمچى", None),
    ("Acme", "Kashgar", None),
    ("Acme", "Kashi, Xinjiang", None),
    ("Acme", "Kashi City", "CN"),
    ("Acme", "喀什地区", None),
    ("Acme", "Qeshqer", None),
    ("Acme", "Hotan", None),
    ("Acme", "Hetian", None),
    ("Acme", "Khotan", None),
    ("Acme", "和田市", None),
    ("Acme", "Industrial Park Road 8, 844000", "CN"),
    ("Acme", "Room 5, Building 2, 830011", "CN"),
    ("Acme", "第一师阿拉尔市", None),
    ("Acme", "兵团第八师石河子市一四三团", None),
    ("XPCC Cotton Trading", "", None),
    ("Acme", "Aksu, Xinjiang", None),
    ("Acme", "Aksu Prefecture", "CN"),
    ("Acme", "Aksu", "CN"),
    ("Acme", "阿克蘇地區", None),
    ("Acme", "Korla, Bayingolin", None),
    ("Acme", "Bazhou, Xinjiang", "CN"),
    ("Acme", "新疆巴州焉耆县", "CN"),
    ("Acme", "Kuqa", None),
    ("Kuche Zongheng Textile Co.", "", "CN"),
    ("Shihezi Huafu Cotton Co.", "", "CN"),
    ("Huyanghe Huafu Textile", "", "CN"),
    ("Shaya Yinhua Cotton", "", "CN"),
    ("Acme", "Turfan", None),
    ("Acme", "Qumul", None),
    ("Acme", "Hami", "CN"),
    ("Acme", "Changji", "CN"),
    ("Acme", "Yining (Ghulja)", None),
    ("Acme", "Horgos, Ili", "CN"),
    ("Acme", "霍尔果斯市", None),
    ("Acme", "Altay", "CN"),
    ("Acme", "Altay Prefecture", None),
    ("Acme", "Beitun City, Xinjiang", None),
    ("Acme", "伊吾县", None),
    ("Acme", "Yiwu County, Hami", None),
    ("Acme", "XUAR", None),
    ("Acme", "Sinkiang", None),
    ("Acme", "East Turkestan", None),
    ("Acme", "CN-XJ", None),
    ("Acme", "Xinjiang Uygur Autonomous Region", None),
    ("Acme", "新疆維吾爾自治區", None),
    ("Acme", "Division 8, Regiment 150", "CN"),
    ("Acme", "农八师", None),
    ("Acme", "Production and Construction Corps", None),
    ("Acme", "Bingtuan", None),
    ("Acme", "Karamay", None),
    ("Acme", "Dushanzi District, Karamay", None),
    ("Acme", "Shanshan County, Turpan", None),
    ("Acme", "鄯善县", None),
    ("Acme", "Yarkand", None),
    ("Acme", "Bole, Bortala", "CN"),
    ("Acme", "Wujiaqu", None),
    ("Acme", "Kokdala", None),
    ("Acme", "Tumxuk", None),
    ("Acme", "Qinghe, Altay, Xinjiang", "CN"),
]

# (name, address, country) that must NOT be detected as a Xinjiang nexus
NEGATIVES = [
    ("Acme", "Aksu, Kazakhstan", None),
    ("Acme", "Aksu, Pavlodar Region", "KZ"),
    ("Acme", "Altai, Russia", None),
    ("Acme", "Gorno-Altaysk, Altai Republic", "RU"),
    ("Acme", "Altai", "MN"),
    ("Acme", "Aral", "KZ"),
    ("Acme", "Yiwu, Zhejiang", "CN"),
    ("Acme", "浙江省义乌市", "CN"),
    ("Acme", "Xinjiang Road, Qingdao, Shandong", "CN"),
    ("Acme", "青岛市新疆路8号", "CN"),
    ("Acme", "上海市乌鲁木齐中路100号", "CN"),
    ("Acme", "Urumqi Road, Shanghai", "CN"),
    ("Acme", "Hamilton", "NZ"),
    ("Hamilton Cotton Ltd", "Hamilton, Ontario", "CA"),
    ("Acme", "Kashiwa, Chiba, Japan", None),
    ("Acme", "Changjiang Road, Nanjing", "CN"),
    ("Changjiang Textile", "Wuhan", "CN"),
    ("Acme", "Khorgos", "KZ"),
    ("Acme", "Khorgos Gateway, Almaty Region", None),
    ("Acme", "Beitun District, Taichung", "TW"),
    ("Acme", "台中市北屯區", None),
    ("Acme", "河北省霸州市", "CN"),
    ("Acme", "Bazhou, Hebei", "CN"),
    ("Acme", "100 Main St, Springfield 830000", "US"),
    ("Acme", "Ranchi 834001", "IN"),
    ("Acme", "Baicheng, Jilin", "CN"),
    ("Acme", "吉林省白城市", "CN"),
    ("Acme", "Xinhe County, Xingtai, Hebei", "CN"),
    ("Acme", "河北省清河县", "CN"),
    ("Acme", "Shawan District, Leshan, Sichuan", "CN"),
    ("Acme", "四川省乐山市沙湾区", "CN"),
    ("Acme", "Kunyu Mountain, Yantai, Shandong", "CN"),
    ("Acme", "Xinxing County, Guangdong", "CN"),
    ("Acme", "Baiyang Lake, Baoding, Hebei", "CN"),
    ("Acme", "北京第一师范学院", "CN"),
    ("Acme", "Taipei 迪化街", "TW"),
    ("Acme", "Manas, Kyrgyzstan", None),
    ("Ningbo Shanshan Co.", "Ningbo, Zhejiang", "CN"),
    ("Acme", "Marketing Division 3, Chicago", "US"),
    ("Yili Dairy Group", "Hohhot, Inner Mongolia", "CN"),
    ("Acme", "集团总部", "CN"),
    ("Acme", "Bay County, Florida", "US"),
    ("Acme", "Aksu City, Pavlodar Region, Kazakhstan", None),
    ("Acme", "Aqsu", "KZ"),
    ("Acme", "Altai City, Govi-Altai, Mongolia", None),
    ("Acme", "Tarbagatai District, East Kazakhstan", None),
    ("Acme", "Tashkurgan, Balkh, Afghanistan", None),
]


# More addresses, (address, country), as written in real manifests.
MORE_POSITIVES = [
    ("No. 1 Beijing Road, Urumqi, Xinjiang 830000", "CN"),
    ("Room 1203, Tower A, Tianshan District, Urumqi", None),
    ("Changji Hui Autonomous Prefecture, Xinjiang", None),
    ("Korla Economic and Technological Development Zone", "CN"),
    ("Kashgar, China", None),
    ("Artux", "CN"),
    ("Atush City", "CN"),
    ("Yarkant County, Kashgar", None),
    ("Shache County", "CN"),
    ("Aral City, Xinjiang", None),
    ("Alar, 1st Division", "CN"),
    ("Wusu City, Tacheng Prefecture", None),
    ("Kuytun", None),
    ("Hami, Xinjiang 839000", None),
    ("Yili Kazak Autonomous Prefecture", None),
    ("伊犁哈萨克自治州霍城县", None),
    ("新疆维吾尔自治区昌吉回族自治州玛纳斯县", None),
    ("石河子市北四路", None),
    ("阿拉尔市", None),
    ("新疆阿克苏地区阿瓦提县", None),
    ("Awati County, Aksu", "CN"),
    ("Turpan Shanshan", "CN"),
    ("Fukang, Changji, Xinjiang", None),
    ("Zhundong, Changji", "CN"),
    ("Midong District, Urumqi", None),
    ("Toutunhe", None),
    ("Ili", "CN"),
    ("Bortala", None),
    ("Jinghe County, Bortala", None),
    ("Hotan Lop County", None),
    ("Lop County", None),
    ("Karakax", None),
    ("Yutian County, Hotan", None),
    ("Minfeng County, Hotan Prefecture", None),
    ("8th Division, Shihezi", None),
    ("Regiment 143, Shihezi", None),
    ("XUAR, PRC", None),
    ("Xinjiang, China", None),
    ("Urumqi Midong Chemical Industrial Park", None),
    ("Korla, 841000", "CN"),
    ("Bayingolin Mongol Autonomous Prefecture", None),
    ("Ruoqiang County", None),
    ("Qiemo", None),
    ("Yanqi County, Bazhou", "CN"),
    ("Tekes County, Ili", "CN"),
    ("Zhaosu", None),
    ("Altay City", "CN"),
    ("阿勒泰市", None),
    ("Burqin", None),
    ("Habahe County, Altay", None),
    ("Fuyun County, Altay, Xinjiang", None),
    ("Tacheng", None),
    ("Emin County, Tacheng", None),
    ("Aksu City", "CN"),
    ("Kuqa", None),
    ("Kucha", None),
    ("Xayar County", None),
    ("Baicheng County, Aksu", "CN"),
    ("拜城县", None),
    ("Wensu County, Aksu Prefecture", None),
    ("Kizilsu", None),
    ("Kashi Prefecture", "CN"),
    ("Maralbexi (Bachu) County", None),
    ("Peyziwat", None),
    ("Makit County, Kashgar", None),
    ("Turfan Depression", None),
    ("Dihua", "CN"),
    ("Xinjiang Uyghur Autonomous Region, Kashgar", None),
    ("Urumqi Economic & Technological Development Zone", None),
    ("Ghulja", None),
    ("Khorgas, Yili, Xinjiang", None),
    ("Beitun, Altay", "CN"),
    ("Wujiaqu City", None),
    ("Tumushuke", None),
    ("第十三师新星市", None),
    ("Huyanghe City, 7th Division", None),
    ("Kunyu City, Hotan", "CN"),
    ("Xinxing City, Hami", "CN"),
    ("Baiyang City, Tacheng", "CN"),
    ("Shuanghe City, Bortala", "CN"),
    ("Kokdala City, Ili", None),
    ("Tiemenguan City", None),
    ("Urumqi 830011", "CN"),
    ("Qumul", None),
    ("Sinkiang Province", None),
    ("Karamay, 834000", "CN"),
]

MORE_NEGATIVES = [
    ("1 Changjiang Road, Nanjing, Jiangsu 210000", "CN"),
    ("Yiwu International Trade City, Zhejiang", "CN"),
    ("Yiwu, China", "CN"),
    ("Hangzhou, Zhejiang 310000", "CN"),
    ("Hamilton, Bermuda", "BM"),
    ("Hamilton Road, Hong Kong", "HK"),
    ("Altai Krai, Barnaul", None),
    ("Aksu, Antalya, Turkey", "TR"),
    ("Aksu District, Antalya", "TR"),
    ("Kashiwa-shi, Chiba-ken", "JP"),
    ("Aral, Kyzylorda Region", "KZ"),
    ("Aral Sea", None),
    ("Khorgos, Almaty Region, Kazakhstan", None),
    ("Manas, Bhutan", "BT"),
    ("Ili River, Almaty", "KZ"),
    ("Bazhou City, Langfang, Hebei", "CN"),
    ("巴中市巴州区", "CN"),
    ("Baicheng, Jilin Province", "CN"),
    ("Qinghe District, Beijing", "CN"),
    ("Xinhe County, Hebei", "CN"),
    ("Shawan Town, Panyu, Guangzhou", "CN"),
    ("Kunyu Mountain", "CN"),
    ("Xinxing, Yunfu, Guangdong", "CN"),
    ("Baiyang Road, Shanghai", "CN"),
    ("Tianshan Road, Changning District, Shanghai", "CN"),
    ("天山路, 上海", "CN"),
    ("乌鲁木齐北路, 上海市静安区", "CN"),
    ("新疆路, 郑州", "CN"),
    ("Hotan Road, Shanghai", "CN"),
    ("Kashgar Road, Shanghai", "CN"),
    ("Ili Road, Shanghai", "CN"),
    ("Urumqi North Road, Jing'an, Shanghai", "CN"),
    ("Division 3, Acme Corp, Dallas", "US"),
    ("3rd Regiment Road, Ottawa", "CA"),
    ("Jinghe Road, Xi'an, Shaanxi", "CN"),
    ("泾河新城, 陕西", "CN"),
    ("Yizhou District, Hechi, Guangxi", "CN"),
    ("宜州区", "CN"),
    ("Wenquan Town, Chongqing", "CN"),
    ("Shanshan Group, Ningbo", "CN"),
    ("Yuli Township, Hualien", "TW"),
    ("Emin Road, Kampala", "UG"),
    ("Bole, Addis Ababa", "ET"),
    ("Mori, Hokkaido", "JP"),
    ("Usu, Hokkaido", "JP"),
    ("Tekes, Almaty Region", "KZ"),
    ("Beitun Dist., Taichung City 406", "TW"),
    ("406台中市北屯區", "TW"),
    ("Kulja Road, Almaty", "KZ"),
    ("830000 Ranchi, Jharkhand", "IN"),
    ("PO Box 841000", "US"),
    ("Ningbo Shanshan Co., Ltd.", "CN"),
    ("Xinyuan Road, Qingdao", "CN"),
    ("Yumin Street, Taipei", "TW"),
    ("Cele, Slovenia", "SI"),
    ("Niya, Kenya", "KE"),
    ("Akto Sports, Kuala Lumpur", "MY"),
    ("Hami Bay", "OM"),
    ("Tashkurgan, Afghanistan", "AF"),
    ("Yarkand Street, London", "GB"),
    ("Shule Road, Beijing", "CN"),
    ("Kashi Vishwanath, Varanasi", "IN"),
    ("Altay Mahallesi, Ankara", "TR"),
    ("Hotan Street", "US"),
]


def _xinjiang(party: Party, rules: RuleSet) -> bool:
    return bool(scan_party(party, rules).nexus)


@pytest.mark.parametrize(("name", "address", "country"), POSITIVES)
def test_xinjiang_spellings_and_scripts_fire(
    name: str, address: str, country: str | None, rules: RuleSet
) -> None:
    assert _xinjiang(Party(name=name, address=address, country=country), rules)


@pytest.mark.parametrize(("name", "address", "country"), NEGATIVES)
def test_look_alikes_do_not_fire(
    name: str, address: str, country: str | None, rules: RuleSet
) -> None:
    assert not _xinjiang(Party(name=name, address=address, country=country), rules)


@pytest.mark.parametrize(("address", "country"), MORE_POSITIVES)
def test_more_xinjiang_addresses_fire(address: str, country: str | None, rules: RuleSet) -> None:
    assert _xinjiang(Party(name="Acme", address=address, country=country), rules)


@pytest.mark.parametrize(("address", "country"), MORE_NEGATIVES)
def test_more_look_alike_addresses_do_not_fire(
    address: str, country: str | None, rules: RuleSet
) -> None:
    assert not _xinjiang(Party(name="Acme", address=address, country=country), rules)


def test_every_place_in_the_rules_fires_in_chinese(rules: RuleSet) -> None:
    """Each place's official Chinese name, alone in a CN address, is a nexus."""
    for place in rules.public["regions"]["places"]:
        for chinese in place["chinese"]:
            party = Party(name="Acme", address=chinese, country="CN")
            assert _xinjiang(party, rules), (place["id"], chinese)


def test_every_unambiguous_latin_name_fires_without_context(rules: RuleSet) -> None:
    for place in rules.public["regions"]["places"]:
        for name in place["names"]:
            assert _xinjiang(Party(name="Acme", address=name), rules), (place["id"], name)


def test_ambiguous_name_without_context_is_a_question_not_a_nexus(rules: RuleSet) -> None:
    scan = scan_party(Party(name="Acme", address="Aksu"), rules)
    assert not scan.nexus
    assert [h.label for h in scan.ambiguous] == ["Aksu Prefecture", "Aksu City"]


def test_conflict_suppresses_even_the_question(rules: RuleSet) -> None:
    scan = scan_party(Party(name="Acme", address="Aksu", country="KZ"), rules)
    assert not scan.nexus and not scan.ambiguous


def test_postcode_without_country_needs_a_chinese_address(rules: RuleSet) -> None:
    assert not _xinjiang(Party(name="Acme", address="Suite 4, 844000"), rules)
    assert _xinjiang(Party(name="Acme", address="工业园区 844000"), rules)
    assert _xinjiang(Party(name="Acme", postcode="843000", country="CN"), rules)


def test_uscc_registered_in_xinjiang(rules: RuleSet) -> None:
    xinjiang = Party(name="Acme", identifiers=(("uscc", "91652901MA77XXXX1A"),))
    zhejiang = Party(name="Acme", identifiers=(("uscc", "91330782MA28XXXX1B"),))
    hits = scan_party(xinjiang, rules).nexus
    assert [h.kind for h in hits] == [HitKind.REGISTRATION]
    assert hits[0].code == "652901"
    assert not _xinjiang(zhejiang, rules)


def test_declared_region_codes(rules: RuleSet) -> None:
    assert _xinjiang(Party(name="Acme", region="XJ", country="CN"), rules)
    assert _xinjiang(Party(name="Acme", region="CN-65"), rules)
    assert not _xinjiang(Party(name="Acme", region="ZJ", country="CN"), rules)


@pytest.mark.parametrize(
    ("address", "units"),
    [
        ("第八师石河子市", ["XPCC division 8"]),
        ("第十四师昆玉市", ["XPCC division 14"]),
        ("一五〇团", ["XPCC regiment 150"]),
        ("150团", ["XPCC regiment 150"]),
        ("农一师", ["XPCC division 1"]),
        ("第十五师", []),  # there is no 15th division
    ],
)
def test_xpcc_unit_numbers(address: str, units: list[str], rules: RuleSet) -> None:
    scan = scan_party(Party(name="Acme", address=address, country="CN"), rules)
    assert [h.label for h in scan.xpcc_units] == units


def test_xpcc_city_alone_is_not_an_xpcc_unit(rules: RuleSet) -> None:
    scan = scan_party(Party(name="Acme", address="Shihezi", country="CN"), rules)
    assert scan.nexus and not scan.xpcc_units


@pytest.mark.parametrize(
    ("address", "fires"),
    [
        ("Aksu, China", True),
        ("Aksu, P.R. China", True),
        ("Suite 4, 844000, China", True),
        ("阿克苏 844000", True),
        ("Aksu", False),
        ("Suite 4, 844000", False),
        ("Aksu, Pavlodar Region, Kazakhstan", False),
        ("Taipei, Taiwan, Republic of China", False),
    ],
)
def test_china_named_in_the_address_stands_in_for_the_country(
    address: str, fires: bool, rules: RuleSet
) -> None:
    assert _xinjiang(Party(name="Acme", address=address), rules) is fires


@pytest.mark.parametrize(
    ("description", "fires"),
    [
        ("Xinjiang long-staple cotton T-shirts", True),
        ("Cotton T-shirts made from Aksu, Xinjiang cotton", True),
        ("Cotton T-shirts, no Xinjiang cotton", False),
        ("Xinjiang-free cotton T-shirts", False),
        ("T-shirts of non-XUAR cotton", False),
        ("Cotton free of Xinjiang content", False),
        ("纯棉T恤 不含新疆棉", False),
        ("新疆长绒棉T恤", True),
    ],
)
def test_an_absence_claim_in_a_description_is_not_a_nexus(
    description: str, fires: bool, rules: RuleSet
) -> None:
    line = Line(line_number=1, hts_code="6109100012", description=description)
    assert bool(scan_line(line, rules).nexus) is fires


def test_negation_words_do_not_apply_to_addresses(rules: RuleSet) -> None:
    # "No. 8, Xinjiang ..." in an address is a house number, not a denial
    assert _xinjiang(Party(name="Acme", address="No 8 Kashgar Xinjiang"), rules)
