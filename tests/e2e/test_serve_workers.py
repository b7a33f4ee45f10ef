"""`uflpa serve --workers 2`: workers under a supervisor that hands each connection to the
least-busy worker, replaces a dead worker and stops them all on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from functools import partial
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


def _server_side_inode(server_port: int, client_port: int) -> str | None:
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(fields[i].rsplit(":", 1)[1], 16) for i in (1, 2))
        if local == server_port and remote == client_port and fields[3] == "01":
            return fields[9]
    return None


def _holders(inode: str, pids: set[int]) -> set[int]:
    """The processes with the socket open."""
    found = set()
    for pid in pids:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    found.add(pid)
            except OSError:
                continue
    return found


def _released(inodes: list[str], supervisor: int) -> bool:
    return not any(_holders(inode, {supervisor}) for inode in inodes)


def _keep_alive_request(sock: socket.socket, port: int) -> bytes:
    sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    return sock.recv(4096)


@pytest.mark.skipif(not hasattr(socket, "send_fds"), reason="needs SCM_RIGHTS")
def test_two_keep_alive_clients_are_served_by_different_workers(
    database_url: str, tmp_path: Path
) -> None:
    """The supervisor hands each connection to the worker with the fewest open ones, and
    keeps no copy of it."""
    env = server_env(database_url, tmp_path / "data")
    server = start_server(env, tmp_path / "server.log", workers=2)
    port = int(server.base_url.rsplit(":", 1)[1])
    try:
        wait_for(lambda: len(worker_pids(server.process.pid)) == 2)
        workers = worker_pids(server.process.pid)
        for _ in range(3):  # every pair, not just a lucky first one
            clients = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in "ab"]
            try:
                inodes = []
                for client in clients:
                    assert _keep_alive_request(client, port).startswith(b"HTTP/1.1 200")
                    inode = _server_side_inode(port, client.getsockname()[1])
                    assert inode is not None
                    inodes.append(inode)
                # The supervisor closes its copy just after handing over; the answer may
                # come back first.
                wait_for(partial(_released, inodes, server.process.pid), seconds=5)
                holders = [_holders(inode, workers) for inode in inodes]
                assert all(len(found) == 1 for found in holders), holders
                assert holders[0] != holders[1]
            finally:
                for client in clients:
                    client.close()
            time.sleep(0.3)  # the workers see the close and count it
    finally:
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=60)


@pytest.mark.skipif(not hasattr(__import__("socket"), "SO_REUSEPORT"), reason="Linux/BSD only")
def test_a_port_already_in_use_is_refused(database_url: str, tmp_path: Path) -> None:
    """A second server must not join a port that another one (a forgotten instance, an
    older version whose workers bound with SO_REUSEPORT) serves, and split the traffic."""
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
