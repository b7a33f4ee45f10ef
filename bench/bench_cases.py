"""Benchmark: document upload/download throughput and rebuttal latency, in process (SQLite).

Run: PYTHONPATH=. python bench/bench_cases.py [rebuttals] [upload_mb]
Prints upload and download MB/s for one file, POST /rebuttals latency (re-assessment, review,
decision record, commit) p50/p99 over a detained example shipment, and the machine.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from app.db import migrate
from app.main import create_app
from app.services import keys
from app.services.principal import Role
from app.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, percentile

ROOT = Path(__file__).resolve().parents[1]


def main(rebuttals: int, upload_mb: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            load_bundled_lists=False,
            log_level="WARNING",
            lists_poll_seconds=3600,
        )
        migrate.upgrade(settings.resolved_database_url)
        with TestClient(create_app(settings)) as client:
            with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
                _, key = keys.create_key(session, Role.IMPORTER, ["Acme Apparel Inc"])
            headers = {"Authorization": f"Bearer {key}"}

            data = b"%PDF-1.7\n" + b"0" * (upload_mb * 1024 * 1024)
            started = time.perf_counter()
            up = client.post(
                "/v1/documents",
                files={"file": ("big.pdf", data, "application/pdf")},
                headers=headers,
            )
            upload_s = time.perf_counter() - started
            assert up.status_code == 201, up.text
            doc = up.json()
            started = time.perf_counter()
            down = client.get(f"/v1/documents/{doc['id']}/content", headers=headers)
            download_s = time.perf_counter() - started
            assert hashlib.sha256(down.content).hexdigest() == doc["sha256"]

            manifest = json.loads((ROOT / "fixtures/manifests/example_design.json").read_text())
            manifest["entry_date"] = time.strftime("%Y-%m-%d", time.gmtime())
            shipment = client.post("/v1/shipments", json=manifest, headers=headers).json()
            body = {
                "kind": "exception",
                "narrative": "bench",
                "evidence": [
                    {
                        "type": "CT-02",
                        "title": "Ginning records",
                        "covers": ["lines[0].inputs[0].inputs[0]"],
                        "document_ids": [doc["id"]],
                    }
                ],
            }
            latencies = []
            for _ in range(rebuttals):
                started = time.perf_counter()
                response = client.post(
                    f"/v1/shipments/{shipment['id']}/rebuttals", json=body, headers=headers
                )
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 201, response.text
    latencies.sort()
    mb = len(data) / 1024 / 1024
    print(f"machine: {machine()}")
    print(
        f"upload {mb:.0f} MB: {upload_s:.2f} s = {mb / upload_s:.0f} MB/s (multipart, sniff, hash)"
    )
    print(f"download {mb:.0f} MB: {download_s:.2f} s = {mb / download_s:.0f} MB/s")
    print(
        f"POST /rebuttals x{len(latencies)}: p50 {percentile(latencies, 50) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 99) * 1000:.1f} ms (no lists loaded, SQLite)"
    )


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 50,
        int(sys.argv[2]) if len(sys.argv) > 2 else 20,
    )
