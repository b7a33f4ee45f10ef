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
import signal
import socket
import time
from types import FrameType

import uvicorn

from app.logs import get_logger

log = get_logger("app.serve")

# A worker that dies this soon after starting is failing to start (bad settings, port
# taken): stop rather than restart it forever.
STARTUP_GRACE_SECONDS = 10.0
SHUTDOWN_TIMEOUT_SECONDS = 30.0


def _uvicorn_config(host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        proxy_headers=True,
    )


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def run_worker(host: str, port: int, log_level: str) -> None:
    """One worker process: its own SO_REUSEPORT socket, one uvicorn server."""
    config = _uvicorn_config(host, port, log_level)
    uvicorn.Server(config).run(sockets=[_listening_socket(host, port)])


def serve(host: str, port: int, workers: int, log_level: str) -> int:
    """Run until SIGTERM or SIGINT; returns the process exit code."""
    if workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        # One process, or no SO_REUSEPORT on this platform: uvicorn's own shared socket.
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            access_log=False,
            proxy_headers=True,
        )
        return 0
    return _supervise(host, port, workers, log_level)


def _supervise(host: str, port: int, workers: int, log_level: str) -> int:
    context = multiprocessing.get_context("spawn")
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def start(index: int) -> tuple[multiprocessing.process.BaseProcess, float]:
        process = context.Process(
            target=run_worker, args=(host, port, log_level), name=f"uflpa-worker-{index}"
        )
        process.start()
        return process, time.monotonic()

    processes = [start(i) for i in range(workers)]
    log.info("serving", host=host, port=port, workers=workers, sockets="SO_REUSEPORT")
    exit_code = 0
    while not stopping:
        for index, (process, started) in enumerate(processes):
            if process.is_alive():
                continue
            if time.monotonic() - started < STARTUP_GRACE_SECONDS:
                log.error("worker failed to start", worker=index, exit_code=process.exitcode)
                stopping, exit_code = True, 1
                break
            log.warning("worker exited; starting another", worker=index, code=process.exitcode)
            processes[index] = start(index)
        time.sleep(0.2)
    for process, _ in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
    deadline = time.monotonic() + SHUTDOWN_TIMEOUT_SECONDS
    for process, _ in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()
    return exit_code
