"""Webhook delivery rate: one dispatcher sending signed events to an HTTPS receiver on
loopback, one after another, as it does with a burst of events (a batch's assessments).

Prints deliveries per second and the latency of each delivery (resolve, check, connect or
reuse, TLS, POST, answer). Loopback has no round-trip time, so this shows the CPU cost of a
delivery; over a network every new connection also costs about two round trips (TCP and
TLS 1.3 handshakes) that a kept-alive one does not.

    PYTHONPATH=. .venv/bin/python bench/bench_webhooks.py --deliveries 2000
"""

from __future__ import annotations

import argparse
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy.orm import sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, percentile

from app.services.webhooks import Claimed, Dispatcher, DispatchSettings, event_body

NAME = "hooks.bench.test"


def certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        + ["-nodes", "-days", "1", "-subj", f"/CN={NAME}", "-addext", f"subjectAltName=DNS:{NAME}"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections: set[tuple[str, int]] = set()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Handler.connections.add(self.client_address)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        return


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=2000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        cert, key = certificate(Path(directory))
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(cert, key)
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.socket = server_tls.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]

        # The benchmark's name resolves to loopback (allowed: allow_private).
        real_getaddrinfo = socket.getaddrinfo

        def getaddrinfo(host: Any, *rest: Any, **kwargs: Any) -> Any:
            return real_getaddrinfo("127.0.0.1" if host == NAME else host, *rest, **kwargs)

        socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
        dispatcher = Dispatcher(
            sessionmaker(),
            DispatchSettings(timeout_seconds=10.0, allow_private=True),
            verify=ssl.create_default_context(cafile=str(cert)),
            proxies={},
        )
        payload = {"type": "shipment.assessed", "data": {"reference": "B-1", "status": "detained"}}
        latencies: list[float] = []
        failures = 0
        started = time.perf_counter()
        for _ in range(args.deliveries):
            event_id = uuid.uuid4()
            claimed = Claimed(
                delivery_id=uuid.uuid4(),
                lease=datetime.now(UTC),
                attempts=0,
                url=f"https://{NAME}:{port}/hook",
                secret="bench-secret",
                event_id=event_id,
                event_type="shipment.assessed",
                body=event_body({"id": str(event_id), **payload}),
            )
            sent = time.perf_counter()
            status, _error = dispatcher.send(claimed)
            latencies.append(time.perf_counter() - sent)
            failures += status != 200
        elapsed = time.perf_counter() - started
        dispatcher.close()
        server.shutdown()
    latencies.sort()
    print(f"machine: {machine()}")
    print(
        f"deliveries: {args.deliveries} in {elapsed:.1f}s, {args.deliveries / elapsed:.0f}/s; "
        f"failed: {failures}; connections opened: {len(Handler.connections)}"
    )
    print(
        "latency ms: p50 {:.2f}  p99 {:.2f}  max {:.2f}".format(
            *(1000 * percentile(latencies, q) for q in (50, 99, 100))
        )
    )


if __name__ == "__main__":
    main()
