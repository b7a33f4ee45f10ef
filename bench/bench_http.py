"""End-to-end POST /v1/shipments against a real server, from a separate process over loopback.

Starts `uflpa serve --workers N` on the given database (default: local PostgreSQL database
`uflpa_bench`, recreated), creates a key, warms up, then sends realistic 5-line, 3-tier,
8-party manifests at a fixed concurrency for a fixed duration and prints throughput and
latency percentiles.

    .venv/bin/python bench/bench_http.py --workers 2 --concurrency 16 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    bench_env,
    create_importer_key,
    machine,
    percentile,
    realistic_manifest,
    start_server,
)


def fresh_postgres(server_url: str, name: str) -> str:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drive(
    base: str, key: str, concurrency: int, seconds: float, warmup: int
) -> tuple[list[float], int, float]:
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=30
    ) as client:
        for _ in range(warmup):
            r = await client.post(
                "/v1/shipments", json=realistic_manifest(f"WARM-{uuid.uuid4().hex}")
            )
            r.raise_for_status()
        latencies: list[float] = []
        errors = 0
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                body = realistic_manifest(f"B-{uuid.uuid4().hex}")
                started = time.perf_counter()
                response = await client.post("/v1/shipments", json=body)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 201:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return sorted(latencies), errors, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--database-url", default=None, help="default: fresh PostgreSQL database uflpa_bench"
    )
    parser.add_argument("--pg-server", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--port", type=int, default=8790)
    args = parser.parse_args()

    url = args.database_url or fresh_postgres(args.pg_server, "uflpa_bench")
    env = bench_env(url)
    key = create_importer_key(env)
    server, base = start_server(env, args.port, args.workers)
    try:
        time.sleep(2)  # let every worker finish building its index
        latencies, errors, elapsed = asyncio.run(
            drive(base, key, args.concurrency, args.seconds, warmup=20)
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    n = len(latencies)
    print(f"machine: {machine()}")
    print(
        f"database: {make_url(url).render_as_string(hide_password=True)}; workers={args.workers}; concurrency={args.concurrency}"
    )
    print(f"requests: {n} in {elapsed:.1f}s, errors: {errors}")
    print(f"throughput: {n / elapsed:.0f} shipments/s")
    print(
        "latency ms: p50 {:.1f}  p95 {:.1f}  p99 {:.1f}  max {:.1f}".format(
            *(1000 * percentile(latencies, q) for q in (50, 95, 99, 100))
        )
    )


if __name__ == "__main__":
    main()
