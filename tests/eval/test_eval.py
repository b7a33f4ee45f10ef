"""Quality gate on the labelled set: precision/recall at the strong band, no listed positive
missed at strong-or-possible. The held-out split is asserted on its own as well."""

from __future__ import annotations

import pytest

from tests.eval.evaluate import Figures, bundled_screener, evaluate, rows

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def figures() -> dict[str, Figures]:
    screener = bundled_screener()
    return {split: evaluate(screener, split) for split in ("dev", "holdout")} | {
        "all": evaluate(screener)
    }


def test_labelled_set_is_substantial_and_split() -> None:
    data = rows()
    positives = [r for r in data if r["label"] == "pos"]
    negatives = [r for r in data if r["label"] == "neg"]
    assert len(positives) >= 300 and len(negatives) >= 100
    assert sum(r["split"] == "holdout" for r in data) >= len(data) // 5
    variants = {r["variant"] for r in positives}
    assert {"typo", "trade_abbreviation", "chinese_traditional", "pinyin_syllables"} <= variants


@pytest.mark.parametrize("split", ["all", "holdout"])
def test_f1_at_strong_band(figures: dict[str, Figures], split: str) -> None:
    f = figures[split]
    assert f.f1 >= 0.95, (f.precision, f.recall, f.false_strong[:10], f.not_strong[:10])
    assert f.precision >= 0.95, f.false_strong


def test_no_listed_positive_is_missed_at_possible(figures: dict[str, Figures]) -> None:
    assert figures["all"].missed_at_possible == []
