"""Country names as lists spell them -> ISO 3166 alpha-2 (lower case).

Only the names that occur in the bundled lists and in trade documents often enough to matter;
an unknown name is kept as its folded text so two spellings of it still compare equal.
"""

from __future__ import annotations

import unicodedata

_NAMES: dict[str, str] = {
    "china": "cn",
    "prc": "cn",
    "people's republic of china": "cn",
    "peoples republic of china": "cn",
    "chinese": "cn",
    "中国": "cn",
    "hong kong": "hk",
    "hong kong sar": "hk",
    "macau": "mo",
    "macao": "mo",
    "taiwan": "tw",
    "united states": "us",
    "usa": "us",
    "united states of america": "us",
    "united kingdom": "gb",
    "uk": "gb",
    "great britain": "gb",
    "russia": "ru",
    "russian federation": "ru",
    "russian": "ru",
    "iran": "ir",
    "iranian": "ir",
    "north korea": "kp",
    "korea, north": "kp",
    "dprk": "kp",
    "south korea": "kr",
    "korea, south": "kr",
    "japan": "jp",
    "germany": "de",
    "france": "fr",
    "italy": "it",
    "spain": "es",
    "netherlands": "nl",
    "belgium": "be",
    "switzerland": "ch",
    "austria": "at",
    "sweden": "se",
    "norway": "no",
    "denmark": "dk",
    "finland": "fi",
    "poland": "pl",
    "ukraine": "ua",
    "belarus": "by",
    "turkey": "tr",
    "turkiye": "tr",
    "syria": "sy",
    "syrian": "sy",
    "iraq": "iq",
    "lebanon": "lb",
    "israel": "il",
    "israeli": "il",
    "united arab emirates": "ae",
    "uae": "ae",
    "saudi arabia": "sa",
    "qatar": "qa",
    "pakistan": "pk",
    "india": "in",
    "afghanistan": "af",
    "myanmar": "mm",
    "burma": "mm",
    "vietnam": "vn",
    "viet nam": "vn",
    "thailand": "th",
    "malaysia": "my",
    "singapore": "sg",
    "indonesia": "id",
    "philippines": "ph",
    "cambodia": "kh",
    "laos": "la",
    "mongolia": "mn",
    "kazakhstan": "kz",
    "kyrgyzstan": "kg",
    "uzbekistan": "uz",
    "tajikistan": "tj",
    "cuba": "cu",
    "venezuela": "ve",
    "nicaragua": "ni",
    "mexico": "mx",
    "colombia": "co",
    "brazil": "br",
    "canada": "ca",
    "australia": "au",
    "new zealand": "nz",
    "libya": "ly",
    "sudan": "sd",
    "south sudan": "ss",
    "yemen": "ye",
    "somalia": "so",
    "eritrea": "er",
    "ethiopia": "et",
    "nigeria": "ng",
    "mali": "ml",
    "zimbabwe": "zw",
    "egypt": "eg",
    "cyprus": "cy",
    "greece": "gr",
    "serbia": "rs",
    "georgia": "ge",
    "armenia": "am",
    "azerbaijan": "az",
    "moldova": "md",
    "latvia": "lv",
    "lithuania": "lt",
    "estonia": "ee",
    "czech republic": "cz",
    "czechia": "cz",
    "slovakia": "sk",
    "hungary": "hu",
    "romania": "ro",
    "bulgaria": "bg",
    "panama": "pa",
    "marshall islands": "mh",
    "liberia": "lr",
    "british virgin islands": "vg",
    "seychelles": "sc",
}


def country_code(value: str) -> str:
    """'China' / 'CN' / 'cn' / 'People's Republic of China' -> 'cn'; unknown -> folded text."""
    text = unicodedata.normalize("NFKC", value).strip().strip(".").casefold()
    text = text.replace("\u2019", "'")
    if not text:
        return ""
    if len(text) == 2 and text.isascii() and text.isalpha():
        return text
    return _NAMES.get(text, text)


# Mainland China, Hong Kong and Macau: a listed HK holding and a mainland shipper are not a
# country conflict (Esquel Group is listed in HK, its mills are in Xinjiang and Guangdong).
COUNTRY_FAMILIES: tuple[frozenset[str], ...] = (frozenset({"cn", "hk", "mo"}),)


def same_family(a: str, b: str) -> bool:
    return any(a in fam and b in fam for fam in COUNTRY_FAMILIES)
