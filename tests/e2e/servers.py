"""Start and stop real `uflpa serve` processes for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.settings import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill_hard(self) -> None:
        """kill -9: no shutdown handlers, no flush, as in a power cut or OOM kill."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def server_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "UFLPA_DATABASE_URL": database_url,
        "UFLPA_DATA_DIR": str(data_dir),
        "UFLPA_LOG_LEVEL": "WARNING",
        "UFLPA_LOAD_BUNDLED_LISTS": "false",
        **extra,
    }


def start_server(
    env: dict[str, str], log: Path, workers: int = 1, timeout: float = 120
) -> ServerProcess:
    port = free_port()
    handle = log.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", str(workers)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so kill_hard reaches every worker
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}; see {log}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return ServerProcess(process, base, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server not ready in {timeout}s; see {log}")


def create_key(env: dict[str, str], role: str, *importers: str) -> str:
    args = [sys.executable, "-m", "app.cli", "keys", "create", "--role", role]
    for importer in importers:
        args += ["--importer", importer]
    out = subprocess.run(
        args, cwd=PROJECT_ROOT, env=env, check=True, capture_output=True, text=True
    )
    return out.stdout.strip().splitlines()[-1]
