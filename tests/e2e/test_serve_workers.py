"""`uflpa serve --workers 2`: SO_REUSEPORT workers under a supervisor that replaces a dead
worker and stops them all on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from app.settings import PROJECT_ROOT
from tests.api.conftest import example_manifest
from tests.e2e.servers import create_key, server_env, start_server

IMPORTER = "Acme Apparel Inc"


def worker_pids(supervisor: int) -> set[int]:
    """The supervisor's worker processes (multiprocessing spawn children)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as fh:
                parent = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                command = fh.read()
        except (OSError, IndexError, ValueError):
            continue
        if parent == supervisor and b"spawn_main" in command:
            found.add(int(entry))
    return found


def wait_for(condition, seconds: float = 90) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


def submit_on_new_connections(base_url: str, key: str, n: int) -> list[int]:
    statuses = []
    for _ in range(n):
        with httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as client:  # a connection each, so the kernel spreads them over the workers
            reference = f"W-{uuid.uuid4().hex[:10]}"
            statuses.append(
                client.post("/v1/shipments", json=example_manifest(reference=reference)).status_code
            )
    return statuses


@pytest.mark.skipif(not hasattr(__import__("socket"), "SO_REUSEPORT"), reason="Linux/BSD only")
def test_workers_are_replaced_when_killed_and_stopped_on_sigterm(
    database_url: str, tmp_path: Path
) -> None:
    env = server_env(database_url, tmp_path / "data")
    key = create_key(env, "importer", IMPORTER)
    server = start_server(env, tmp_path / "server.log", workers=2)
    try:
        wait_for(lambda: len(worker_pids(server.process.pid)) == 2)
        first = worker_pids(server.process.pid)
        assert set(submit_on_new_connections(server.base_url, key, 10)) == {201}

        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        wait_for(
            lambda: (
                len(worker_pids(server.process.pid)) == 2
                and victim not in worker_pids(server.process.pid)
            )
        )
        wait_for(lambda: httpx.get(f"{server.base_url}/readyz", timeout=2).status_code == 200)
        assert set(submit_on_new_connections(server.base_url, key, 10)) == {201}
        assert server.process.poll() is None
        workers = worker_pids(server.process.pid)
    finally:
        server.process.send_signal(signal.SIGTERM)
        code = server.process.wait(timeout=60)
    assert code == 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()


@pytest.mark.skipif(not hasattr(__import__("socket"), "SO_REUSEPORT"), reason="Linux/BSD only")
def test_a_port_already_in_use_is_refused(database_url: str, tmp_path: Path) -> None:
    """Workers bind with SO_REUSEPORT, which would let a second server join a port that
    another one (a forgotten instance) serves and silently split the traffic with it."""
    env = server_env(database_url, tmp_path / "data")
    with socket.socket() as other:  # as another `uflpa serve` worker's socket would be
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        started = subprocess.run(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "2"],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert started.returncode == 1
    assert "address already in use" in started.stderr + started.stdout


@pytest.mark.skipif(not hasattr(__import__("socket"), "SO_REUSEPORT"), reason="Linux/BSD only")
def test_workers_stop_when_the_supervisor_is_killed(database_url: str, tmp_path: Path) -> None:
    """Orphaned workers would keep the port, unsupervised, and a restarted service would
    find it taken."""
    env = server_env(database_url, tmp_path / "data")
    server = start_server(env, tmp_path / "server.log", workers=2)
    try:
        wait_for(lambda: len(worker_pids(server.process.pid)) == 2)
        workers = worker_pids(server.process.pid)
    finally:
        server.process.kill()  # SIGKILL: the supervisor cannot pass anything on
        server.process.wait(timeout=30)

    def gone(pid: int) -> bool:
        stat = Path(f"/proc/{pid}/stat")
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            return True

    wait_for(lambda: all(gone(pid) for pid in workers), seconds=30)
