"""Benchmark: shipments per second through POST /v1/shipments/batch.

Run: PYTHONPATH=. python bench/bench_batch.py [--batches 5] [--size 1000] [--database-url URL]
     [--no-lists] [--url http://host:port --key KEY]
     PYTHONPATH=. python bench/bench_batch.py --serve --workers 2 --clients 2 [--csv]

`--serve`: start `uflpa serve --workers N` on a fresh PostgreSQL database (as bench_http does)
and send batches from `--clients` concurrent clients over loopback; throughput is all
shipments created over the wall-clock time of the whole run.

Default: the app in-process (TestClient over ASGI: request parsing, validation, assessment,
storage and response encoding, without a network hop) on a fresh SQLite file with the
bundled lists loaded. `--database-url` points it at PostgreSQL (use a throw-away database);
`--url`/`--key` drive a running service instead. Each manifest is the design example shape
(one line, two input tiers, four parties) with a distinct reference and supplier name.
Prints per-batch and overall shipments/second.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app.db.session import make_engine, make_sessionmaker
from app.logs import configure_logging
from app.services import keys
from app.services.principal import Role
from app.settings import Settings

IMPORTER = "Bench Importer"
SUPPLIERS = [
    ("Jiangsu Sunrise Spinning Co.", "88 Renmin Road, Wuxi, Jiangsu 214000", "CN"),
    ("Saigon Yarn JSC", "12 Tan Thuan, District 7, Ho Chi Minh City", "VN"),
    ("Aksu Huafu Textiles Co., Ltd.", "Aksu, Xinjiang", "CN"),
    ("Delta Cotton LLC", "Greenwood, Mississippi 38930", "US"),
]


def manifest(i: int, run: str) -> dict[str, Any]:
    name, address, country = SUPPLIERS[i % len(SUPPLIERS)]
    return {
        "reference": f"B{run}-{i:07d}",
        "importer": IMPORTER,
        "entry_date": "2026-11-20",
        "country_of_origin": "VN",
        "country_of_export": "VN",
        "parties": [
            {"role": "manufacturer", "name": f"Saigon Garment {i % 500} Co., Ltd.",
             "address": "District 7, Ho Chi Minh City", "country": "VN"},
            {"role": "seller", "name": "Pacific Trading Ltd.", "country": "HK"},
        ],
        "lines": [
            {
                "line_number": 1, "hts_code": "6109.10.0012", "description": "Cotton T-shirts",
                "quantity": 1200, "unit": "PCS", "value": 8400.0, "currency": "USD",
                "country_of_origin": "VN",
                "inputs": [
                    {"material": "cotton yarn", "hts_code": "5205.12", "country_of_origin": country,
                     "supplier": {"name": f"{name} {i % 2000}", "address": address,
                                  "country": country},
                     "inputs": [{"material": "raw cotton", "hts_code": "5201.00",
                                 "country_of_origin": "US"}]},
                ],
            }
        ],
    }  # fmt: skip


def run(post: Any, batches: int, size: int) -> None:
    run_id = f"{int(time.time()) % 100000:05d}"
    total = 0
    elapsed = 0.0
    for b in range(batches):
        body = {"shipments": [manifest(b * size + i, run_id) for i in range(size)]}
        started = time.perf_counter()
        response = post(body)
        took = time.perf_counter() - started
        if response.status_code != 200:
            print(f"batch {b}: HTTP {response.status_code} {response.text[:300]}")
            return
        summary = response.json()["summary"]
        total += summary["created"]
        elapsed += took
        print(f"batch {b + 1}/{batches}: {summary} in {took:.2f} s -> {size / took:,.0f}/s")
    print(f"OVERALL: {total:,} shipments in {elapsed:.2f} s = {total / elapsed:,.0f} shipments/s")


CSV_SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "csv" / "sample_shipments.csv"
CSV_IMPORTER = "Acme Apparel Inc"


def csv_file(first: int, size: int, run: str) -> bytes:
    """`size` shipments: the sample file's first shipment (4 rows: parties, a line and two
    input tiers) under distinct references."""
    header, *rows = CSV_SAMPLE.read_text(encoding="utf-8").splitlines()
    sample = [row for row in rows if row.startswith("ENTRY-2026-000123,")]
    out = [header]
    for i in range(first, first + size):
        reference = f"C{run}-{i:07d}"
        out.extend(reference + row[len("ENTRY-2026-000123") :] for row in sample)
    return ("\n".join(out) + "\n").encode()


def serve_and_drive(args: argparse.Namespace) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import psycopg
    from bench_http import fresh_postgres
    from common import (
        bench_env,
        cpu_seconds,
        create_importer_key,
        machine,
        process_tree,
        processes_named,
        start_server,
    )
    from sqlalchemy.engine import make_url

    def postgres_dsn(sqlalchemy_url: str) -> str:
        return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(False)

    url = fresh_postgres(args.pg_server, "uflpa_bench_batch")
    env = bench_env(url)
    key = create_importer_key(env, CSV_IMPORTER if args.csv else IMPORTER)
    server, base = start_server(env, 8791, args.workers)
    run_id = f"{int(time.time()) % 100000:05d}"
    headers = {"Authorization": f"Bearer {key}"}

    # Bodies are built before the clock starts: the load generator's own CPU would
    # otherwise compete with the server it measures on this 2-core machine.
    bodies: dict[int, list[bytes]] = {}
    for c in range(args.clients):
        bodies[c] = []
        for b in range(args.batches):
            first = (c * args.batches + b) * args.size
            if args.csv:
                bodies[c].append(csv_file(first, args.size, run_id))
            else:
                shipments = [manifest(first + i, run_id) for i in range(args.size)]
                bodies[c].append(json.dumps({"shipments": shipments}).encode())

    def client(c: int) -> tuple[int, list[float]]:
        created, took = 0, []
        with httpx.Client(base_url=base, timeout=600, headers=headers) as http:
            for data in bodies[c]:
                started = time.perf_counter()
                if args.csv:
                    files = {"file": ("shipments.csv", data, "text/csv")}
                    response = http.post("/v1/shipments/import", files=files)
                else:
                    response = http.post(
                        "/v1/shipments/batch",
                        content=data,
                        headers={"Content-Type": "application/json"},
                    )
                took.append(time.perf_counter() - started)
                response.raise_for_status()
                # orjson: the answer holds every shipment (about 36 MB for 1,000), and the
                # standard library's parser took CPU from the server it measures.
                created += orjson.loads(response.content)["summary"]["created"]
        return created, took

    try:
        time.sleep(2)  # let every worker finish building its index
        with psycopg.connect(postgres_dsn(url), autocommit=True) as conn:
            conn.execute("CHECKPOINT")  # the dropped database's pages: not this run's cost
        server_pids = process_tree(server.pid)
        cpu_before = (
            cpu_seconds(server_pids),
            cpu_seconds(processes_named("postgres")),
            resource.getrusage(resource.RUSAGE_SELF),
        )
        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            outcomes = list(pool.map(client, range(args.clients)))
        elapsed = time.perf_counter() - started
        cpu_after = (
            cpu_seconds(server_pids),
            cpu_seconds(processes_named("postgres")),
            resource.getrusage(resource.RUSAGE_SELF),
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    created = sum(n for n, _ in outcomes)
    batch_times = sorted(t for _, times in outcomes for t in times)
    print(f"machine: {machine()}")
    what = "CSV import" if args.csv else "JSON batch"
    print(f"PostgreSQL, workers={args.workers}, clients={args.clients}, {what} of {args.size}")
    print(f"created {created:,} shipments in {elapsed:.1f}s: {created / elapsed:,.0f} shipments/s")
    print(
        f"batch latency s: p50 {batch_times[len(batch_times) // 2]:.2f}  max {batch_times[-1]:.2f}"
    )
    server_cpu = cpu_after[0] - cpu_before[0]
    postgres_cpu = cpu_after[1] - cpu_before[1]
    client_cpu = sum(
        getattr(cpu_after[2], f) - getattr(cpu_before[2], f) for f in ("ru_utime", "ru_stime")
    )
    print(
        f"CPU ms per shipment: server {1000 * server_cpu / max(created, 1):.2f}"
        f"  postgres {1000 * postgres_cpu / max(created, 1):.2f}"
        f"  load generator {1000 * client_cpu / max(created, 1):.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--database-url")
    parser.add_argument("--no-lists", action="store_true", help="rules only (no list index)")
    parser.add_argument("--url", help="a running service, e.g. http://127.0.0.1:8000")
    parser.add_argument("--key", help="API key for --url (importer key for 'Bench Importer')")
    parser.add_argument("--serve", action="store_true", help="start a server on PostgreSQL")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--csv", action="store_true", help="--serve: CSV imports, not JSON")
    parser.add_argument("--pg-server", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    if args.serve:
        serve_and_drive(args)
        return 0
    print(f"python {sys.version.split()[0]} on {platform.machine()}, {os.cpu_count()} CPUs")
    if args.url:
        with httpx.Client(base_url=args.url, timeout=600) as client:
            headers = {"Authorization": f"Bearer {args.key}"}
            run(lambda body: client.post("/v1/shipments/batch", json=body, headers=headers),
                args.batches, args.size)  # fmt: skip
        return 0

    from fastapi.testclient import TestClient

    from app.db import migrate
    from app.main import create_app

    configure_logging("WARNING", False)
    tmp = tempfile.mkdtemp(prefix="bench_batch_")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    settings = Settings(
        database_url=url,
        data_dir=Path(tmp),
        log_level="WARNING",
        load_bundled_lists=not args.no_lists,
        lists_poll_seconds=3600,
    )
    migrate.upgrade(url)
    print(f"database {url.split('://')[0]}, lists {'off' if args.no_lists else 'bundled'}")
    with TestClient(create_app(settings)) as client:
        engine = make_engine(url)
        with make_sessionmaker(engine)() as session:
            _, key = keys.create_key(session, Role.IMPORTER, [IMPORTER])
        engine.dispose()
        headers = {"Authorization": f"Bearer {key}"}
        run(lambda body: client.post("/v1/shipments/batch", json=body, headers=headers),
            args.batches, args.size)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
