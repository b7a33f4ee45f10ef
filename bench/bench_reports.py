"""Benchmark: time to build the reports of one shipment (checks, map, package PDF, ZIP).

Run: PYTHONPATH=. python bench/bench_reports.py [repetitions]
Prints the median wall time of each step for the test cotton shipment (2 lines, 8 inputs,
12 exhibits) and the large one (5 lines x 4 tiers x 3 inputs = 60 inputs), PDF page counts
and sizes, and the machine. Needs Graphviz, WeasyPrint (Pango) and fonts-noto-cjk.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from app.reports.checks import run_checks
from app.reports.model import ExhibitFacts, ShipmentReport
from app.reports.package_pdf import package_html, package_maps, render_pdf
from app.reports.package_zip import package_zip_bytes
from app.reports.supply_map import render, supply_map_dot
from bench.common import machine
from tests.reports.builders import cotton_report, large_report


def timed(repetitions: int, step: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repetitions):
        start = time.perf_counter()
        result = step()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    repetitions = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    print(f"machine: {machine()}; median of {repetitions}")
    render_pdf("<p>warm-up</p>")  # WeasyPrint import and font discovery happen once per process
    for name, report in (("cotton", cotton_report()), ("large 5x4x3", large_report())):
        bench_one(name, report, repetitions)


def bench_one(name: str, report: ShipmentReport, repetitions: int) -> None:
    nodes = 1 + len(report.manifest.lines) + sum(1 for _ in _inputs(report))
    t_checks, _ = timed(repetitions, lambda: run_checks(report))
    t_dot, source = timed(repetitions, lambda: supply_map_dot(report))
    t_svg, _ = timed(repetitions, lambda: render(source, "svg"))
    t_maps, maps = timed(repetitions, lambda: package_maps(report))
    t_html, html = timed(repetitions, lambda: package_html(report, maps))
    t_pdf, pdf = timed(repetitions, lambda: render_pdf(html))
    exhibits, store = _with_stored_files(report.exhibits)
    t_zip, archive = timed(
        repetitions,
        lambda: package_zip_bytes(
            pdf, report.shipment.reference, exhibits, lambda h: io.BytesIO(store[h])
        ),
    )
    from pypdf import PdfReader

    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    print(
        f"{name}: {nodes} nodes, {len(report.findings)} findings, "
        f"{len(report.exhibits)} exhibits | checks {t_checks * 1000:.1f} ms | "
        f"DOT {t_dot * 1000:.1f} ms | SVG (dot) {t_svg * 1000:.0f} ms | "
        f"{len(maps)} map(s) {t_maps:.2f} s | HTML {t_html * 1000:.0f} ms | "
        f"PDF {t_pdf:.2f} s, {pages} pages, {len(pdf) / 1024:.0f} KiB | "
        f"ZIP (PDF + {len(store)} exhibit files of 256 KiB) {t_zip * 1000:.0f} ms, "
        f"{len(archive) / 1024:.0f} KiB"
    )


def _with_stored_files(
    exhibits: Sequence[ExhibitFacts],
) -> tuple[list[ExhibitFacts], dict[str, bytes]]:
    """The exhibits with a 256 KiB file each, stored under its real SHA-256."""
    store: dict[str, bytes] = {}
    out = []
    for exhibit in exhibits:
        content = random.Random(exhibit.number).randbytes(256 * 1024)
        digest = hashlib.sha256(content).hexdigest()
        store[digest] = content
        file = dataclasses.replace(exhibit.files[0], sha256=digest, size=len(content))
        out.append(dataclasses.replace(exhibit, files=(file,), translation=None))
    return out, store


def _inputs(report: Any) -> Any:
    from app.domain.manifest import iter_inputs

    return iter_inputs(report.manifest)


if __name__ == "__main__":
    main()
