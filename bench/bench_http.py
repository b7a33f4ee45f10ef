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
import json
import resource
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    bench_env,
    cpu_seconds,
    create_importer_key,
    machine,
    percentile,
    process_tree,
    processes_named,
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


class Connection:
    """A bare HTTP/1.1 keep-alive connection: far cheaper per request than a full client,
    so the load generator leaves the CPU to the server it measures."""

    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port = host, port
        self.head = (
            f"POST /v1/shipments HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        ).encode()

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, body: bytes) -> int:
        self.writer.write(self.head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status

    async def reopen(self) -> None:
        self.close()
        await self.open()

    def close(self) -> None:
        self.writer.close()


async def drive(
    base: str,
    key: str,
    concurrency: int,
    seconds: float,
    warmup: int,
    package: tuple[str, int, Counter[int], list[float]] | None = None,
) -> tuple[list[float], Counter[int | str], float]:
    url = httpx.URL(base)
    host, port = url.host, url.port or 80
    connections = [Connection(host, port, key) for _ in range(concurrency)]
    for connection in connections:
        await connection.open()
    for n in range(warmup):
        body = json.dumps(realistic_manifest(f"WARM-{uuid.uuid4().hex}")).encode()
        status = await connections[n % concurrency].post(body)
        if status != 201:
            raise SystemExit(f"warm-up request answered {status}")
    latencies: list[float] = []
    errors: Counter[int | str] = Counter()
    deadline = time.perf_counter() + seconds

    async def worker(connection: Connection) -> None:
        while time.perf_counter() < deadline:
            body = json.dumps(realistic_manifest(f"B-{uuid.uuid4().hex}")).encode()
            started = time.perf_counter()
            try:
                status = await connection.post(body)
            except (ConnectionError, asyncio.IncompleteReadError):
                # The server closed the connection (a restarted worker, a keep-alive
                # timeout): counted, and the client carries on with a new one.
                errors["connection lost"] += 1
                await connection.reopen()
                continue
            if status == 201:
                latencies.append(time.perf_counter() - started)
            else:
                errors[status] += 1

    downloads = []
    if package is not None:
        url, clients, outcomes, package_latencies = package
        downloads = [
            download_packages(url, key, deadline, outcomes, package_latencies)
            for _ in range(clients)
        ]
    started = time.perf_counter()
    downloading = [asyncio.create_task(download) for download in downloads]
    await asyncio.gather(*(worker(c) for c in connections))
    elapsed = time.perf_counter() - started
    await asyncio.gather(*downloading)  # the last ones end after the intake run
    for connection in connections:
        connection.close()
    return sorted(latencies), errors, elapsed


MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def package_url(base: str, key: str) -> str:
    """A detained shipment (the bench manifest) with an applicability rebuttal citing one
    uploaded exhibit: the URL of its rebuttal package."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        shipment = client.post("/v1/shipments", json=realistic_manifest("PKG-BENCH"))
        shipment.raise_for_status()
        document = client.post(
            "/v1/documents", files={"file": ("invoice.pdf", MINIMAL_PDF, "application/pdf")}
        )
        document.raise_for_status()
        shipment_id = shipment.json()["id"]
        evidence = {
            "type": "G-06",
            "title": "Invoices",
            "covers": ["lines[0].inputs[0]"],
            "document_ids": [document.json()["id"]],
        }
        rebuttal = client.post(
            f"/v1/shipments/{shipment_id}/rebuttals",
            json={"kind": "applicability", "narrative": "See Exhibit 1.", "evidence": [evidence]},
        )
        rebuttal.raise_for_status()
    return f"{base}/v1/shipments/{shipment_id}/rebuttals/{rebuttal.json()['id']}/package"


async def download_packages(
    url: str, key: str, deadline: float, outcomes: Counter[int], latencies: list[float]
) -> None:
    """One auditor downloading the package again and again until `deadline`."""
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=600) as client:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await client.get(url)
            outcomes[response.status_code] += 1
            if response.status_code == 200:
                latencies.append(time.perf_counter() - started)
            else:
                await asyncio.sleep(1)


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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
    parser.add_argument(
        "--package-clients",
        type=int,
        default=0,
        help="auditors downloading a rebuttal package (PDF) over and over during the run",
    )
    args = parser.parse_args()

    url = args.database_url or fresh_postgres(args.pg_server, "uflpa_bench")
    env = bench_env(url)
    key = create_importer_key(env)
    server, base = start_server(env, args.port, args.workers)
    try:
        time.sleep(2)  # let every worker finish building its index
        server_pids = process_tree(server.pid)
        postgres_before = {pid: cpu_seconds([pid]) for pid in processes_named("postgres")}
        cpu_before = (cpu_seconds(server_pids), sum(postgres_before.values()), own_cpu())
        per_process_before = [cpu_seconds([pid]) for pid in server_pids]
        package_outcomes: Counter[int] = Counter()
        package_latencies: list[float] = []
        package = None
        if args.package_clients:
            package = (
                package_url(base, key),
                args.package_clients,
                package_outcomes,
                package_latencies,
            )
        latencies, errors, elapsed = asyncio.run(
            drive(base, key, args.concurrency, args.seconds, warmup=20, package=package)
        )
        # Backends started during the run (pool growth) count whole: all their time is in it.
        postgres_after = cpu_seconds(processes_named("postgres"))
        cpu_after = (cpu_seconds(server_pids), postgres_after, own_cpu())
        per_process = [
            cpu_seconds([pid]) - b for pid, b in zip(server_pids, per_process_before, strict=True)
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)
    n = len(latencies)  # created shipments only: an error answer is no shipment
    print(f"machine: {machine()}")
    print(
        f"database: {make_url(url).render_as_string(hide_password=True)}; workers={args.workers}; concurrency={args.concurrency}"
    )
    refused = ", ".join(f"{count} x {status}" for status, count in sorted(errors.items(), key=str))
    print(f"created: {n} in {elapsed:.1f}s; other answers: {refused or 'none'}")
    print(f"throughput: {n / elapsed:.0f} shipments/s (201 Created only)")
    server_cpu, postgres_cpu, client_cpu = (
        b - a for a, b in zip(cpu_before, cpu_after, strict=True)
    )
    print(
        "CPU ms per request: server {:.1f}  postgres {:.1f}  load generator {:.1f}".format(
            *(
                1000 * cpu / max(n + errors.total(), 1)
                for cpu in (server_cpu, postgres_cpu, client_cpu)
            )
        )
    )
    busy = ", ".join(f"{100 * cpu / elapsed:.0f}%" for cpu in per_process if cpu > 0.05 * elapsed)
    print(f"server processes busy: {busy}")
    print(
        "latency ms: p50 {:.1f}  p95 {:.1f}  p99 {:.1f}  max {:.1f}".format(
            *(1000 * percentile(latencies, q) for q in (50, 95, 99, 100))
        )
    )
    if args.package_clients:
        package_latencies.sort()
        answers = ", ".join(f"{n} x {status}" for status, n in sorted(package_outcomes.items()))
        print(
            f"package downloads by {args.package_clients} clients: {answers or 'none'}; "
            f"p50 {percentile(package_latencies, 50):.1f} s"
        )


if __name__ == "__main__":
    main()
