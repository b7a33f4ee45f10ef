"""Benchmark: CPU time of one in-process assessment (domain path only, no HTTP, no DB).

Run: PYTHONPATH=. python bench/bench_assess.py [iterations]
Prints per-assessment mean/p50/p99, assessments per second, and the machine.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

from app.domain.engine import assess
from app.domain.manifest import iter_inputs, iter_parties
from app.domain.manifest_codec import manifest_from_dict
from app.domain.screening import Band, ListMatch, ScreeningResult
from app.ruleset import load_ruleset

ROOT = Path(__file__).resolve().parent.parent


def _supplier(i: int) -> dict[str, object]:
    addresses = [
        ("Aksu Huafu Textiles Co., Ltd.", "Aksu, Xinjiang", "CN"),
        ("Saigon Yarn JSC", "12 Tan Thuan, District 7, Ho Chi Minh City", "VN"),
        ("Jiangsu Sunrise Spinning Co.", "88 Renmin Road, Wuxi, Jiangsu 214000", "CN"),
        ("Pacific Trading Ltd.", "Kowloon Bay, Hong Kong", "HK"),
        ("Delta Cotton LLC", "Greenwood, Mississippi 38930", "US"),
    ]
    name, address, country = addresses[i % len(addresses)]
    # a distinct name per call, so the engine's per-manifest party cache does not flatter us
    _supplier.calls += 1  # type: ignore[attr-defined]
    return {"name": f"{name} #{_supplier.calls}", "address": address, "country": country}  # type: ignore[attr-defined]


_supplier.calls = 0  # type: ignore[attr-defined]


def five_line_three_tier_manifest() -> dict[str, object]:
    hts = ["6109.10.0012", "8541.43.0010", "2002.90.8020", "3918.10.3100", "7601.10.6000"]
    lines = []
    for li in range(5):
        raw = {
            "material": "raw material",
            "hts_code": "5201.00",
            "country_of_origin": "US",
            "supplier": _supplier(li + 2),
        }
        mid = {
            "material": "intermediate",
            "hts_code": "5205.12",
            "country_of_origin": "CN",
            "supplier": _supplier(li + 1),
            "inputs": [raw],
        }
        lines.append(
            {
                "line_number": li + 1,
                "hts_code": hts[li],
                "description": f"finished good {li}",
                "quantity": 100,
                "unit": "PCS",
                "value": 1000.0,
                "currency": "USD",
                "country_of_origin": "VN",
                "manufacturer": _supplier(li),
                "inputs": [mid, {"material": "packaging", "hts_code": "4819.10"}],
            }
        )
    return {
        "reference": "BENCH-1",
        "importer": "Bench Importer Inc",
        "country_of_origin": "VN",
        "country_of_export": "VN",
        "parties": [_supplier(1) | {"role": "seller"}, _supplier(3) | {"role": "manufacturer"}],
        "lines": lines,
    }


def _normalise_hts(data: object) -> object:
    if isinstance(data, dict):
        return {
            k: (
                "".join(c for c in v if c.isdigit())
                if k == "hts_code" and isinstance(v, str)
                else _normalise_hts(v)
            )
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [_normalise_hts(v) for v in data]
    return data


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    rules = load_ruleset(ROOT / "rules")
    manifest = manifest_from_dict(_normalise_hts(five_line_three_tier_manifest()))  # type: ignore[arg-type]
    screening = ScreeningResult(
        matches={
            "lines[0].manufacturer": (
                ListMatch(
                    "uflpa",
                    "U-1",
                    "Aksu Huafu Textiles Co., Ltd.",
                    "Aksu Huafu Textiles",
                    0.97,
                    Band.STRONG,
                ),
            )
        },
        lists_version={"uflpa": "bench"},
        matcher_version="bench",
    )
    for _ in range(500):  # warm-up
        assess(manifest, rules, screening)
    samples = []
    for _ in range(iterations):
        start = time.process_time_ns()
        assess(manifest, rules, screening)
        samples.append(time.process_time_ns() - start)
    # process_time has coarse resolution on some kernels: also time the whole batch
    batch_start = time.process_time_ns()
    for _ in range(iterations):
        assess(manifest, rules, screening)
    batch_ns = time.process_time_ns() - batch_start
    samples.sort()
    mean_us = batch_ns / iterations / 1000
    inputs = sum(1 for _ in iter_inputs(manifest))
    parties = sum(1 for _ in iter_parties(manifest))
    print(
        f"manifest: {len(manifest.lines)} lines, 3 tiers, {inputs} inputs, {parties} parties, "
        "1 screening hit"
    )
    print(f"iterations: {iterations}")
    print(f"mean: {mean_us:.1f} us CPU per assessment (batch)")
    print(
        f"p50:  {statistics.median(samples) / 1000:.1f} us   "
        f"p99: {samples[int(len(samples) * 0.99) - 1] / 1000:.1f} us (per-call samples)"
    )
    print(f"throughput: {1e6 / mean_us:,.0f} assessments/second on one core")
    print(
        f"machine: {platform.platform()}; Python {platform.python_version()}; "
        f"CPU {platform.processor() or platform.machine()}; {os.cpu_count()} logical CPUs; "
        f"{_cpu_model()}"
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU model"


if __name__ == "__main__":
    main()
