"""Quality gate on the labelled sets: precision/recall at the strong band, no listed positive
missed at strong-or-possible. The held-out split is asserted on its own as well, and so is the
independent hand-written set (independent.csv, trade-document forms, never tuned on for
precision)."""

from __future__ import annotations

import pytest

from tests.eval.evaluate import INDEPENDENT, Figures, bundled_screener, evaluate, rows

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def figures() -> dict[str, Figures]:
    screener = bundled_screener()
    return {split: evaluate(screener, split) for split in ("dev", "holdout")} | {
        "all": evaluate(screener),
        "independent": evaluate(screener, path=INDEPENDENT),
    }


def test_labelled_set_is_substantial_and_split() -> None:
    data = rows()
    positives = [r for r in data if r["label"] == "pos"]
    negatives = [r for r in data if r["label"] == "neg"]
    assert len(positives) >= 300 and len(negatives) >= 100
    assert sum(r["split"] == "holdout" for r in data) >= len(data) // 5
    variants = {r["variant"] for r in positives}
    assert {"typo", "trade_abbreviation", "chinese_traditional", "pinyin_syllables"} <= variants


def test_independent_set_is_substantial() -> None:
    data = rows(INDEPENDENT)
    assert len(data) >= 200
    assert sum(r["label"] == "pos" for r in data) >= 150
    assert sum(r["label"] == "neg" for r in data) >= 60
    variants = {r["variant"] for r in data if r["label"] == "pos"}
    assert {"truncated", "traditional", "fullwidth_paren", "mixed_script"} <= variants


@pytest.mark.parametrize("split", ["all", "holdout", "independent"])
def test_f1_at_strong_band(figures: dict[str, Figures], split: str) -> None:
    f = figures[split]
    assert f.f1 >= 0.95, (f.precision, f.recall, f.false_strong[:10], f.not_strong[:10])
    assert f.precision >= 0.95, f.false_strong


def test_no_false_strong_on_hard_negatives(figures: dict[str, Figures]) -> None:
    # A false strong match is a wrongly detained shipment.
    assert figures["all"].false_strong == []
    assert figures["independent"].false_strong == []


def test_no_listed_positive_is_missed_at_possible(figures: dict[str, Figures]) -> None:
    assert figures["all"].missed_at_possible == []


def test_independent_positives_missed_at_possible(figures: dict[str, Figures]) -> None:
    # One known miss: the acronym inside a longer name ("XPCC Public Security Bureau") finds
    # the BIS row for that bureau but not the EU row, which spells XPCC out.
    missed = figures["independent"].missed_at_possible
    assert len(missed) <= 1, missed
