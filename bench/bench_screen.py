"""Screening speed and index recall against all bundled lists, one core.

    PYTHONPATH=. python bench/bench_screen.py [--queries 5000] [--exhaustive-sample 40]

Queries are (a) synthetic shipment parties built from Chinese place names, pinyin brand
syllables, industry words and legal forms (seeded, mostly not listed) and (b) the positives
of tests/eval/labelled.csv (list names in trade-document forms). Every query string is
distinct, so normalisation caches do not flatter the figures.
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import platform
import random
import statistics
import time
from pathlib import Path

from app.screening.entry import ListEntry
from app.screening.screener import Screener
from app.screening.sources import bundled_sources, default_fixtures_dir, parse_source

PLACES = [
    "Xinjiang",
    "Urumqi",
    "Aksu",
    "Kashgar",
    "Hotan",
    "Shihezi",
    "Changji",
    "Turpan",
    "Shanghai",
    "Ningbo",
    "Qingdao",
    "Shenzhen",
    "Guangzhou",
    "Hangzhou",
    "Suzhou",
    "Wuxi",
    "Xiamen",
    "Dongguan",
    "Foshan",
    "Tianjin",
    "Dalian",
    "Jinan",
    "Zhengzhou",
    "Hefei",
]
SYLLABLES = [
    "hua",
    "xin",
    "tian",
    "long",
    "feng",
    "sheng",
    "jin",
    "hong",
    "mei",
    "da",
    "yuan",
    "tai",
    "fu",
    "kang",
    "rui",
    "bao",
    "heng",
    "jia",
    "ming",
    "yong",
    "chang",
    "hai",
    "shun",
    "xing",
    "guo",
    "li",
    "an",
    "de",
    "wei",
    "hao",
    "zhong",
    "sen",
    "teng",
]
INDUSTRY = [
    "Textile",
    "Garment",
    "Cotton",
    "Trading",
    "Import & Export",
    "Technology",
    "New Energy",
    "Silicon Materials",
    "Food",
    "Tomato Products",
    "Hair Products",
    "Apparel",
    "Electronics",
    "Machinery",
    "Logistics",
    "Knitting",
    "Shoes",
    "Solar",
]
LEGAL = [
    "Co., Ltd.",
    "CO LTD",
    "Company Limited",
    "Limited",
    "Industrial Co., Ltd.",
    "Group Co., Ltd.",
    "Corp.",
    "",
]
WESTERN = [
    "Atlas",
    "Northwind",
    "Harbor",
    "Summit",
    "Pioneer",
    "Evergreen",
    "Crescent",
    "Orion",
    "Vertex",
    "Keystone",
    "Meridian",
    "Bluewater",
    "Redwood",
    "Silverline",
]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def synthetic_queries(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out: set[str] = set()
    while len(out) < n:
        if rng.random() < 0.8:
            brand = "".join(rng.sample(SYLLABLES, 2)).capitalize()
            name = f"{rng.choice(PLACES)} {brand} {rng.choice(INDUSTRY)} {rng.choice(LEGAL)}"
        else:
            name = f"{rng.choice(WESTERN)} {rng.choice(WESTERN)} {rng.choice(INDUSTRY)} Inc."
        out.add(name.strip())
    return sorted(out)


def eval_positives() -> list[str]:
    path = Path(__file__).resolve().parents[1] / "tests" / "eval" / "labelled.csv"
    with path.open(encoding="utf-8") as fh:
        return [r["query"] for r in csv.DictReader(fh) if r["label"] == "pos"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--exhaustive-sample", type=int, default=30)
    args = parser.parse_args()

    print(
        f"machine: {platform.platform()} | {cpu_model()} | {os.cpu_count()} logical CPUs | "
        f"Python {platform.python_version()} | one process, one thread"
    )
    started = time.perf_counter()
    entries: list[ListEntry] = []
    for source, files in bundled_sources(default_fixtures_dir()):
        entries += parse_source(source, files).entries
    parsed = time.perf_counter()
    screener = Screener(entries)
    built = time.perf_counter()
    # As the service does after loading lists (app/services/bootstrap.py): the index is
    # long-lived, so the cyclic collector should not walk its millions of objects.
    gc.collect()
    gc.freeze()
    print(
        f"entries: {len(entries)}  names+aliases indexed: {screener.names_indexed}  "
        f"name forms: {len(screener.index.forms)} ({len(screener.index.groups)} distinct)"
    )
    print(f"parse all bundled lists: {parsed - started:.2f}s  build index: {built - parsed:.2f}s")

    positives = eval_positives()
    synthetic = synthetic_queries(max(0, args.queries - len(positives)) + 200)
    warmup, synthetic = synthetic[:200], synthetic[200:]
    load = f"{os.getloadavg()[0]:.2f}"
    for name in warmup:  # load pypinyin/OpenCC tables and warm the interpreter
        screener.screen(name)
    queries = synthetic + positives
    random.Random(3).shuffle(queries)

    timings: list[float] = []
    cpu_by_kind: dict[str, float] = {"synthetic": 0.0, "listed-variant": 0.0}
    by_kind: dict[str, list[float]] = {"synthetic": [], "listed-variant": []}
    listed = set(positives)
    flagged = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    for name in queries:
        q0 = time.perf_counter()
        p0 = time.process_time()
        flagged += bool(screener.screen(name))
        spent = time.perf_counter() - q0
        kind = "listed-variant" if name in listed else "synthetic"
        cpu_by_kind[kind] += time.process_time() - p0
        timings.append(spent)
        by_kind[kind].append(spent)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    timings.sort()
    p50 = statistics.median(timings) * 1000
    p99 = timings[int(len(timings) * 0.99) - 1] * 1000
    print(f"load average before/after: {load} / {os.getloadavg()[0]:.2f} (machine is shared)")
    print(
        f"screened {len(queries)} names in {elapsed:.2f}s wall ({cpu:.2f}s CPU): "
        f"{len(queries) / elapsed:,.0f} names/s wall, {len(queries) / cpu:,.0f} names/s CPU "
        f"(bench mix, {len(positives) / len(queries):.0%} listed); p50 {p50:.2f} ms, "
        f"p99 {p99:.2f} ms, max {timings[-1] * 1000:.1f} ms; {flagged} with a match >= possible"
    )
    for kind, spent in by_kind.items():
        spent.sort()
        print(
            f"  {kind:15} {len(spent):5} names: {len(spent) / sum(spent):,.0f} names/s wall, "
            f"{len(spent) / cpu_by_kind[kind]:,.0f} names/s CPU, "
            f"p50 {statistics.median(spent) * 1000:.2f} ms, "
            f"p99 {spent[int(len(spent) * 0.99) - 1] * 1000:.2f} ms"
        )
    # Real manifests: well over 99% of parties are on no list. Per-name cost of each class,
    # weighted 99:1 (from the CPU time measured above, so other users' load does not enter).
    per_unlisted = cpu_by_kind["synthetic"] / len(by_kind["synthetic"])
    per_listed = cpu_by_kind["listed-variant"] / len(by_kind["listed-variant"])
    mix = 1 / (0.99 * per_unlisted + 0.01 * per_listed)
    print(f"  realistic mix (99% unlisted, 1% listed variants): {mix:,.0f} names/s CPU")

    rng = random.Random(11)
    half = args.exhaustive_sample // 2
    sample = rng.sample(positives, half) + rng.sample(synthetic, args.exhaustive_sample - half)
    lost: list[str] = []
    found_index = found_full = 0
    t0 = time.perf_counter()
    for name in sample:
        via_index = {(m.list, m.entry_id, m.band) for m in screener.screen(name)}
        full = {(m.list, m.entry_id, m.band) for m in screener.screen(name, exhaustive=True)}
        found_index += len(via_index)
        found_full += len(full)
        lost += [f"{name!r} -> {key}" for key in sorted(full - via_index)]
    print(
        f"exhaustive scan of every name form with the same scorer on {len(sample)} queries "
        f"({time.perf_counter() - t0:.1f}s): matches via index {found_index}, "
        f"exhaustive {found_full}, lost by the index {len(lost)}"
    )
    for line in lost[:20]:
        print("  LOST", line)


if __name__ == "__main__":
    main()
