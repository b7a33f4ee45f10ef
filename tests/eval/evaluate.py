"""Evaluate the screener on the labelled sets; shared by the pytest gate and by hand.

labelled.csv: rule-generated positives and hand-written negatives (dev and holdout splits).
independent.csv: a hand-written held-out set (build_independent.py) in trade-document forms,
written before the scorer changes it measures and never tuned on.

PYTHONPATH=. python tests/eval/evaluate.py [--misses]
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from app.domain.screening import Band
from app.screening.entry import ListEntry, Schema
from app.screening.screener import Screener
from app.screening.sources import bundled_sources, default_fixtures_dir, parse_source

LABELLED = Path(__file__).parent / "labelled.csv"
INDEPENDENT = Path(__file__).parent / "independent.csv"


@dataclass
class Figures:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0
    missed_at_possible: list[str] = field(default_factory=list)
    false_strong: list[str] = field(default_factory=list)
    not_strong: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@lru_cache(maxsize=1)
def bundled_entries() -> tuple[ListEntry, ...]:
    entries: list[ListEntry] = []
    for source, files in bundled_sources(default_fixtures_dir()):
        entries += parse_source(source, files).entries
    return tuple(entries)


@lru_cache(maxsize=1)
def bundled_screener() -> Screener:
    return Screener(bundled_entries())


def rows(path: Path = LABELLED) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def evaluate(screener: Screener, split: str | None = None, path: Path = LABELLED) -> Figures:
    figures = Figures()
    for row in rows(path):
        if split and row["split"] != split:
            continue
        schema = Schema(row["schema"]) if row["schema"] else None
        matches = screener.screen(row["query"], schema=schema)
        strong = [m for m in matches if m.band == Band.STRONG]
        if row["label"] == "pos":
            target = (row["expected_list"], row["expected_name"])
            if any((m.list, m.name) == target for m in strong):
                figures.tp += 1
            else:
                figures.fn += 1
                best = matches[0].score if matches else 0.0
                figures.not_strong.append(f"{row['query']} -> {row['expected_name']} ({best:.2f})")
            if not any((m.list, m.name) == target for m in matches):
                figures.missed_at_possible.append(
                    f"{row['variant']}: {row['query']} -> {row['expected_list']}:"
                    f"{row['expected_name']}"
                )
        elif strong:
            figures.fp += 1
            figures.false_strong.append(
                f"{row['query']} -> {strong[0].list}:{strong[0].matched_alias} "
                f"({strong[0].score:.2f})"
            )
        else:
            figures.tn += 1
    return figures


def main() -> None:
    screener = bundled_screener()
    runs: list[tuple[str, str | None, Path]] = [
        ("dev", "dev", LABELLED),
        ("holdout", "holdout", LABELLED),
        ("all", None, LABELLED),
        ("indep", None, INDEPENDENT),
    ]
    for label, split, path in runs:
        f = evaluate(screener, split, path)
        print(
            f"{label:8} P={f.precision:.3f} R={f.recall:.3f} F1={f.f1:.3f} "
            f"tp={f.tp} fn={f.fn} fp={f.fp} tn={f.tn} "
            f"missed@possible={len(f.missed_at_possible)}"
        )
        if "--misses" in sys.argv and label in ("dev", "indep"):
            for line in f.missed_at_possible:
                print("  MISS", line)
            for line in f.false_strong:
                print("  FP  ", line)
            for line in f.not_strong:
                print("  WEAK", line)


if __name__ == "__main__":
    main()
