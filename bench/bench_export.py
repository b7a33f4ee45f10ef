"""Benchmark: streaming the decision-log export over HTTP, rows per second and server memory.

Inserts N hash-chained decisions (bulk, chain computed here exactly as record_decision does),
starts the service with uvicorn in a subprocess, streams GET /v1/decisions/export and
samples the server's resident memory while it streams. Constant memory shows as the same
RSS at 10% of the rows as at the end.

Run: PYTHONPATH=. python bench/bench_export.py [--rows 200000] [--format ndjson|csv]
     [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_export]
A PostgreSQL database named in --database-url is dropped and re-created.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from app.db import migrate
from app.db.models import Decision, Importer, Shipment
from app.db.session import make_engine, make_sessionmaker
from app.services import keys
from app.services.decision_log import GENESIS_HASH, decision_hash
from app.services.principal import Role

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 5000
SECTORS = (["cotton", "apparel"], ["polysilicon"], [], ["tomatoes"], ["aluminum"])
COUNTRIES = ("CN", "VN", "MY", "TH", "IN", None)


def _reset_postgres(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def populate(url: str, rows: int) -> str:
    """Insert `rows` decisions over rows/4 shipments; return an auditor key."""
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        _, auditor = keys.create_key(session, Role.AUDITOR, [])
    importers = [{"id": uuid.uuid4(), "name": f"Bench Importer {i}"} for i in range(20)]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    shipment_count = max(1, rows // 4)
    shipments = []
    for i in range(shipment_count):
        shipments.append(
            {
                "id": uuid.uuid4(),
                "importer_id": importers[i % len(importers)]["id"],
                "reference": f"BENCH-{i:08d}",
                "body_sha256": "0" * 64,
                "manifest": {},
                "status": "detained" if i % 3 == 0 else "admitted",
                "country_of_origin": COUNTRIES[i % len(COUNTRIES)],
                "declared_value": Decimal(1000 + i % 5000),
                "currency": "USD",
                "created_at": start,
                "updated_at": start,
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(Importer.__table__), importers)
        for at in range(0, len(shipments), CHUNK):
            conn.execute(insert(Shipment.__table__), shipments[at : at + CHUNK])
    prev = GENESIS_HASH
    batch: list[dict[str, Any]] = []
    began = time.perf_counter()
    for seq in range(1, rows + 1):
        ship = shipments[(seq - 1) % shipment_count]
        kind = "assessment" if seq <= shipment_count else ("determination", "rescreen")[seq % 2]
        detained = ship["status"] == "detained"
        outcome = (
            ("detain" if detained else "admit")
            if kind != "determination"
            else ("released" if seq % 4 else "excluded")
        )
        record = SimpleNamespace(
            seq=seq,
            shipment_id=ship["id"],
            importer_id=ship["importer_id"],
            assessment_id=None,
            kind=kind,
            outcome=outcome,
            risk_score=None if kind == "determination" else (90 if detained else 20),
            grounds=["xuar_nexus"] if detained and kind != "determination" else [],
            findings_sha256="f" * 64,
            rules_version="sha256:bench",
            lists_version={"uflpa": "sha256:bench"},
            matcher_version="bench",
            country_of_origin=ship["country_of_origin"],
            sectors=SECTORS[seq % len(SECTORS)],
            declared_value=ship["declared_value"],
            actor_key_id="bench",
            actor_role="admin",
            recorded_at=start + timedelta(minutes=seq),
            prev_hash=prev,
        )
        record.hash = decision_hash(record)  # type: ignore[arg-type]
        prev = record.hash
        batch.append(vars(record))
        if len(batch) == CHUNK:
            with engine.begin() as conn:
                conn.execute(insert(Decision.__table__), batch)
            batch = []
    if batch:
        with engine.begin() as conn:
            conn.execute(insert(Decision.__table__), batch)
    print(f"inserted {rows} decisions in {time.perf_counter() - began:.1f} s")
    engine.dispose()
    return auditor


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def measure(url: str, data_dir: Path, auditor: str, rows: int, fmt: str) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "UFLPA_DATABASE_URL": url,
        "UFLPA_DATA_DIR": str(data_dir),
        "UFLPA_LOAD_BUNDLED_LISTS": "false",
        "UFLPA_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
        + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        idle = _rss_kib(server.pid)
        peak = {"rss": idle}
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.05):
                peak["rss"] = max(peak["rss"], _rss_kib(server.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        got = 0
        size = 0
        rss_at_10 = 0
        began = time.perf_counter()
        headers = {"Authorization": f"Bearer {auditor}"}
        with httpx.stream(
            "GET",
            f"{base}/v1/decisions/export",
            params={"format": fmt},
            headers=headers,
            timeout=None,
        ) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if not line:
                    continue
                got += 1
                size += len(line) + 1
                if not rss_at_10 and got >= rows // 10:
                    rss_at_10 = _rss_kib(server.pid)
        elapsed = time.perf_counter() - began
        stop.set()
        sampler.join()
        data_rows = got - 1 if fmt == "csv" else got  # csv has a header line
        print(f"backend            {make_url(url).get_backend_name()}")
        print(f"format             {fmt}")
        print(f"rows exported      {data_rows} (expected {rows})")
        print(f"bytes              {size / 1e6:.1f} MB")
        print(f"time               {elapsed:.2f} s")
        print(f"rows/second        {data_rows / elapsed:,.0f}")
        print(f"server RSS idle    {idle / 1024:.1f} MiB")
        print(f"server RSS @10%    {rss_at_10 / 1024:.1f} MiB")
        print(f"server RSS peak    {peak['rss'] / 1024:.1f} MiB (sampled every 50 ms)")
        print(f"server VmHWM       {_rss_kib(server.pid, 'VmHWM') / 1024:.1f} MiB")
        for path in ("/v1/stats", "/v1/decisions/verify"):
            began = time.perf_counter()
            answer = httpx.get(f"{base}{path}", headers=headers, timeout=None)
            answer.raise_for_status()
            print(f"GET {path:<18} {time.perf_counter() - began:.2f} s")
        machine = f"{platform.machine()} {os.cpu_count()} cpu, {platform.python_version()}"
        print(f"machine            {machine}")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--format", choices=["ndjson", "csv"], default="ndjson")
    parser.add_argument("--database-url", help="default: a new SQLite file in a temp dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        url = args.database_url or f"sqlite:///{data_dir / 'bench.db'}"
        if url.startswith("postgresql"):
            _reset_postgres(url)
        auditor = populate(url, args.rows)
        measure(url, data_dir, auditor, args.rows, args.format)


if __name__ == "__main__":
    main()
