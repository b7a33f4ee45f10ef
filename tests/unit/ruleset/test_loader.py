"""The loader accepts the real rules and refuses broken ones, naming file, key and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import InvalidRules
from app.ruleset import RULE_FILES, load_ruleset, load_ruleset_from_documents

RULES_DIR = Path(__file__).resolve().parents[3] / "rules"


def _docs() -> dict[str, str]:
    return {name: (RULES_DIR / name).read_text(encoding="utf-8") for name in RULE_FILES}


def _broken(name: str, old: str, new: str) -> dict[str, str]:
    docs = _docs()
    assert old in docs[name], f"fixture text {old!r} not in {name}"
    docs[name] = docs[name].replace(old, new, 1)
    return docs


def test_real_rules_load() -> None:
    rules = load_ruleset(RULES_DIR)
    assert rules.version.startswith("sha256:") and len(rules.version) == 7 + 64
    assert len(rules.public["regions"]["places"]) == 126
    assert sum(s.high_priority for s in rules.sectors.sectors) == 12
    assert set(rules.documents) == set(RULE_FILES)
    public = rules.to_public_dict()
    assert public["version"] == rules.version and set(public["rules"]) == {
        "regions",
        "sectors",
        "evidence",
        "scoring",
    }


def test_rebuilt_from_documents_has_the_same_version() -> None:
    assert load_ruleset_from_documents(_docs()).version == load_ruleset(RULES_DIR).version


def test_version_ignores_comments_and_layout_but_not_values() -> None:
    base = load_ruleset_from_documents(_docs()).version
    relaid = _broken("scoring.yaml", "detain_threshold: 80", "# a comment\ndetain_threshold:   80")
    assert load_ruleset_from_documents(relaid).version == base
    changed = _broken("scoring.yaml", "detain_threshold: 80", "detain_threshold: 81")
    assert load_ruleset_from_documents(changed).version != base


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"),
    [
        # broken YAML
        ("scoring.yaml", "detain_threshold: 80", "detain_threshold: [80", "invalid YAML"),
        # wrong type
        ("scoring.yaml", "detain_threshold: 80", "detain_threshold: high", "detain_threshold"),
        # unknown key
        (
            "sectors.yaml",
            "    high_priority: true\n",
            "    high_priority: true\n    colour: red\n",
            "sectors[0].colour: Extra inputs are not permitted",
        ),
        # bad regex
        ("regions.yaml", 'regex: "(?<![0-9])8[34]', 'regex: "(?<![0-9]8[34]', "postcode.regex"),
        # duplicate id
        ("evidence.yaml", "{id: G-02,", "{id: G-01,", "duplicate id 'G-01'"),
        # duplicate YAML key
        (
            "scoring.yaml",
            "detain_threshold: 80",
            "detain_threshold: 80\ndetain_threshold: 70",
            "duplicate key 'detain_threshold'",
        ),
        # Chinese list with Latin text
        (
            "regions.yaml",
            'chinese: ["克拉玛依市"',
            'chinese: ["Karamay"',
            "places[1].chinese: Value error, 'Karamay'",
        ),
        # HTS prefix not digits
        (
            "sectors.yaml",
            '{prefix: "61", certainty: certain}',
            '{prefix: "61.09", certainty: certain}',
            "sectors[0].hts[0].prefix",
        ),
        # unknown certainty
        (
            "sectors.yaml",
            '{prefix: "62", certainty: certain}',
            '{prefix: "62", certainty: sure}',
            "sectors[0].hts[1].certainty",
        ),
        # checklist id that evidence.yaml does not define
        (
            "sectors.yaml",
            "checklist: [CT-01, CT-02, CT-03, CT-04, CT-05, CT-06",
            "checklist: [CT-99, CT-02, CT-03, CT-04, CT-05, CT-06",
            "sectors[0].checklist[0]",
        ),
        # a finding code without a weight
        ("scoring.yaml", "  ORIGIN_TRANSSHIPMENT:", "  ORIGIN_ELSEWHERE:", "ORIGIN_TRANSSHIPMENT"),
        # thresholds out of order
        ("scoring.yaml", "possible: 0.75", "possible: 0.95", "match.possible"),
        # duplicate HTS prefix across sectors
        (
            "sectors.yaml",
            '{prefix: "72", certainty: certain}',
            '{prefix: "74", certainty: certain}',
            "duplicate prefix '74'",
        ),
        # XPCC pattern without the number group
        (
            "regions.yaml",
            '"第(?P<n>[一二三四五六七八九十]{1,3})师(?!范)"',
            '"第[一二三]师"',
            "xpcc.patterns[0]",
        ),
    ],
)
def test_broken_rules_are_refused_with_file_and_key(
    name: str, old: str, new: str, expected: str
) -> None:
    with pytest.raises(InvalidRules) as error:
        load_ruleset_from_documents(_broken(name, old, new))
    message = error.value.detail
    assert message.startswith(f"rules/{name}: "), message
    assert expected in message, message


def test_missing_file_is_refused() -> None:
    docs = _docs()
    del docs["sectors.yaml"]
    with pytest.raises(InvalidRules, match="missing rule file.*sectors.yaml"):
        load_ruleset_from_documents(docs)


def test_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidRules, match="cannot read"):
        load_ruleset(tmp_path)
