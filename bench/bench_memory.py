"""Resident memory per worker with all bundled lists loaded.

Starts `uflpa serve --workers N` on a database (default: the local PostgreSQL database
`uflpa_bench`, reused if it exists), waits until it is ready and every worker has built its
index, optionally sends some traffic, then prints each worker's RSS.

    .venv/bin/python bench/bench_memory.py --workers 2 --requests 200
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bench_env, create_importer_key, machine, realistic_manifest, start_server


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/uflpa_bench"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--port", type=int, default=8794)
    args = parser.parse_args()
    env = bench_env(args.database_url)
    key = create_importer_key(env)
    server, base = start_server(env, args.port, args.workers)
    try:
        time.sleep(10)  # every worker has built its index by now
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as client:
            for _ in range(args.requests):
                client.post("/v1/shipments", json=realistic_manifest(f"MEM-{uuid.uuid4().hex}"))
        workers = [
            p
            for p in children(server.pid)
            if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()
        ]
        print(f"machine: {machine()}")
        print(f"workers: {args.workers}; after {args.requests} shipments")
        for pid in workers or [server.pid]:
            print(f"worker {pid}: RSS {rss_mib(pid):.0f} MiB")
        print(f"supervisor {server.pid}: RSS {rss_mib(server.pid):.0f} MiB")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
