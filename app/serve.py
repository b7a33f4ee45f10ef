"""`uflpa serve`: one uvicorn process, or N worker processes under a small supervisor.

With N workers each process opens its own listening socket on the same port with
SO_REUSEPORT, and the kernel spreads new connections across them. uvicorn's own
multi-worker mode shares one socket, and whichever worker wakes first accepts a whole
burst of connections: with long-lived keep-alive clients (broker systems, a reverse
proxy's upstream pool) one worker ended up with most of the load while the other idled.

SO_REUSEPORT only groups sockets of the same user, so another user cannot join the port.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import threading
import time
from collections import deque
from types import FrameType
from typing import Any

import uvicorn

from app.logs import get_logger

log = get_logger("app.serve")

# Workers dying this often are in a crash loop (bad settings, the port taken by another
# program): stop rather than restart them forever.
CRASH_LOOP_RESTARTS = 5
CRASH_LOOP_WINDOW_SECONDS = 60.0
SHUTDOWN_TIMEOUT_SECONDS = 30.0
ORPHAN_CHECK_SECONDS = 1.0


def _uvicorn_options(host: str, port: int, log_level: str) -> dict[str, Any]:
    return {
        "app": "app.main:create_app",
        "factory": True,
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": False,
        "proxy_headers": True,
    }


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _port_taken(host: str, port: int) -> bool:
    """Whether something already listens on the port. SO_REUSEPORT would otherwise let a
    second `uflpa serve` (a forgotten one, an old version) join the port silently and take
    a share of the traffic. A probe bound without SO_REUSEPORT fails exactly when a
    listener exists; SO_REUSEADDR keeps connections in TIME_WAIT from failing it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _stop_when_orphaned(supervisor: int) -> None:
    """A worker whose supervisor died (SIGKILL, OOM) would keep serving the port
    unsupervised, and block a restarted service from it: stop, gracefully, instead."""
    while os.getppid() == supervisor:
        time.sleep(ORPHAN_CHECK_SECONDS)
    log.warning("supervisor gone; stopping", worker=os.getpid())
    os.kill(os.getpid(), signal.SIGTERM)


def run_worker(host: str, port: int, log_level: str) -> None:
    """One worker process: its own SO_REUSEPORT socket, one uvicorn server."""
    threading.Thread(
        target=_stop_when_orphaned, args=(os.getppid(),), name="orphan-check", daemon=True
    ).start()
    config = uvicorn.Config(**_uvicorn_options(host, port, log_level))
    uvicorn.Server(config).run(sockets=[_listening_socket(host, port)])


def serve(host: str, port: int, workers: int, log_level: str) -> int:
    """Run until SIGTERM or SIGINT; returns the process exit code."""
    if workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        # One process, or no SO_REUSEPORT on this platform: uvicorn's own shared socket.
        uvicorn.run(**_uvicorn_options(host, port, log_level), workers=workers)
        return 0
    return _supervise(host, port, workers, log_level)


def _supervise(host: str, port: int, workers: int, log_level: str) -> int:
    if _port_taken(host, port):
        log.error("address already in use", host=host, port=port)
        return 1
    context = multiprocessing.get_context("spawn")
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def start(index: int) -> multiprocessing.process.BaseProcess:
        process = context.Process(
            target=run_worker, args=(host, port, log_level), name=f"uflpa-worker-{index}"
        )
        process.start()
        return process

    processes = [start(i) for i in range(workers)]
    log.info("serving", host=host, port=port, workers=workers, sockets="SO_REUSEPORT")
    restarts: deque[float] = deque(maxlen=CRASH_LOOP_RESTARTS)
    exit_code = 0
    while not stopping:
        for index, process in enumerate(processes):
            if process.is_alive():
                continue
            now = time.monotonic()
            if (
                len(restarts) == CRASH_LOOP_RESTARTS
                and now - restarts[0] < CRASH_LOOP_WINDOW_SECONDS
            ):
                log.error("workers keep exiting; stopping", worker=index, code=process.exitcode)
                stopping, exit_code = True, 1
                break
            log.warning("worker exited; starting another", worker=index, code=process.exitcode)
            restarts.append(now)
            processes[index] = start(index)
        time.sleep(0.2)
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
    deadline = time.monotonic() + SHUTDOWN_TIMEOUT_SECONDS
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()
    return exit_code
