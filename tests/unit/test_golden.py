"""Golden assessments: fixtures/manifests/<name>.json -> <name>.expected.json.

Each manifest is in the API JSON shape (HTS codes may be dotted; they are normalised to digits
here exactly as the API does). An optional <name>.hits.json ([{path, match}]) feeds entity-list
matches. Regenerate after an intended change with UPDATE_GOLDEN=1, then review the diff: the
expected files are the reviewed answers, not whatever the code printed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from app.domain.engine import assess
from app.domain.manifest_codec import manifest_from_dict
from app.domain.rules import RuleSet
from app.domain.screening import Band, ListMatch, ScreeningResult
from app.ruleset import load_ruleset

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "manifests"
MANIFESTS = sorted(
    p for p in FIXTURES.glob("*.json") if not p.name.endswith((".expected.json", ".hits.json"))
)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_ruleset(ROOT / "rules")


def normalise_hts(data: Any) -> Any:
    """Strip dots and spaces from every hts_code, as the API schema does."""
    if isinstance(data, dict):
        return {
            key: value.replace(".", "").replace(" ", "")
            if key == "hts_code" and isinstance(value, str)
            else normalise_hts(value)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [normalise_hts(value) for value in data]
    return data


def screening_for(manifest_path: Path) -> ScreeningResult:
    hits_path = manifest_path.with_name(manifest_path.stem + ".hits.json")
    if not hits_path.exists():
        return ScreeningResult()
    matches: dict[str, list[ListMatch]] = {}
    for hit in json.loads(hits_path.read_text(encoding="utf-8")):
        m = hit["match"]
        matches.setdefault(hit["path"], []).append(
            ListMatch(
                list=m["list"],
                entry_id=m["entry_id"],
                name=m["name"],
                matched_alias=m["matched_alias"],
                score=float(m["score"]),
                band=Band(m["band"]),
                explanation=m.get("explanation", {}),
                programs=tuple(m.get("programs", ())),
            )
        )
    lists = sorted({m.list for ms in matches.values() for m in ms})
    return ScreeningResult(
        matches={path: tuple(ms) for path, ms in matches.items()},
        lists_version={name: "golden" for name in lists},
        matcher_version="golden",
    )


def test_there_are_goldens() -> None:
    assert len(MANIFESTS) >= 14


@pytest.mark.parametrize("manifest_path", MANIFESTS, ids=lambda p: p.stem)
def test_golden(manifest_path: Path, rules: RuleSet) -> None:
    data = normalise_hts(json.loads(manifest_path.read_text(encoding="utf-8")))
    result = assess(manifest_from_dict(data), rules, screening_for(manifest_path)).to_dict()
    result["rules_version"] = "(current)"  # the rules hash changes with every rule edit
    expected_path = manifest_path.with_name(manifest_path.stem + ".expected.json")
    if os.environ.get("UPDATE_GOLDEN") == "1":
        text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
        expected_path.write_text(text, encoding="utf-8")
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    assert result == expected
