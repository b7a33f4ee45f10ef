"""`uflpa serve`: one uvicorn process, or N worker processes under a small supervisor.

With N workers the supervisor owns the listening socket and hands each accepted connection
to the ready worker with the fewest open connections (`app.handoff`). Two other ways were
measured and dropped: uvicorn's own multi-worker mode shares one socket, and whichever
worker woke first accepted a whole burst of keep-alive connections (71% and 22% busy);
a socket per worker with SO_REUSEPORT spreads connections by a hash, which put two batch
clients on one worker in about half of all runs while the other idled.
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

from app.handoff import Dispatcher, HandoffServer, SharedInt, WorkerSlot, channel_pair
from app.logs import get_logger

log = get_logger("app.serve")

# Workers dying this often are in a crash loop (bad settings, the port taken by another
# program): stop rather than restart them forever.
CRASH_LOOP_RESTARTS = 5
CRASH_LOOP_WINDOW_SECONDS = 60.0
SHUTDOWN_TIMEOUT_SECONDS = 30.0
ORPHAN_CHECK_SECONDS = 1.0
LISTEN_BACKLOG = 2048


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


def _listening_socket(host: str, port: int) -> socket.socket | None:
    """The supervisor's socket, or None if something already listens on the port. No
    SO_REUSEPORT: a second `uflpa serve` (a forgotten one, an old version) must not join
    the port and take a share of the traffic. SO_REUSEADDR keeps connections in TIME_WAIT
    from blocking a restart."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        return None
    sock.listen(LISTEN_BACKLOG)
    return sock


def _stop_when_orphaned(supervisor: int) -> None:
    """A worker whose supervisor died (SIGKILL, OOM) would keep serving the port
    unsupervised, and block a restarted service from it: stop, gracefully, instead."""
    while os.getppid() == supervisor:
        time.sleep(ORPHAN_CHECK_SECONDS)
    log.warning("supervisor gone; stopping", worker=os.getpid())
    os.kill(os.getpid(), signal.SIGTERM)


def run_worker(
    channel: socket.socket,
    closed: SharedInt,
    ready: SharedInt,
    host: str,
    port: int,
    log_level: str,
) -> None:
    """One worker process: uvicorn serving the connections the supervisor hands over."""
    threading.Thread(
        target=_stop_when_orphaned, args=(os.getppid(),), name="orphan-check", daemon=True
    ).start()
    config = uvicorn.Config(**_uvicorn_options(host, port, log_level))
    HandoffServer(config, channel, closed, ready).run()


def serve(host: str, port: int, workers: int, log_level: str) -> int:
    """Run until SIGTERM or SIGINT; returns the process exit code."""
    if workers <= 1 or not hasattr(socket, "send_fds"):
        # One process, or no SCM_RIGHTS on this platform: uvicorn's own shared socket.
        uvicorn.run(**_uvicorn_options(host, port, log_level), workers=workers)
        return 0
    return _supervise(host, port, workers, log_level)


class _Workers:
    """The worker processes, started with their hand-off channels."""

    def __init__(self, host: str, port: int, log_level: str) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._args = (host, port, log_level)
        self.processes: list[multiprocessing.process.BaseProcess] = []

    def start(self, index: int) -> WorkerSlot:
        supervisor_end, worker_end = channel_pair()
        closed = self._context.Value("q", 0, lock=False)
        ready = self._context.Value("b", 0, lock=False)
        process = self._context.Process(
            target=run_worker,
            args=(worker_end, closed, ready, *self._args),
            name=f"uflpa-worker-{index}",
        )
        process.start()
        worker_end.close()  # the child has its own copy
        if index < len(self.processes):
            self.processes[index] = process
        else:
            self.processes.append(process)
        return WorkerSlot(channel=supervisor_end, closed=closed, ready=ready)


def _supervise(host: str, port: int, workers: int, log_level: str) -> int:
    listener = _listening_socket(host, port)
    if listener is None:
        log.error("address already in use", host=host, port=port)
        return 1
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    pool = _Workers(host, port, log_level)
    dispatcher = Dispatcher(listener, [pool.start(i) for i in range(workers)])
    dispatcher.start()
    log.info("serving", host=host, port=port, workers=workers, sockets="handoff")
    restarts: deque[float] = deque(maxlen=CRASH_LOOP_RESTARTS)
    exit_code = 0
    while not stopping:
        for index, process in enumerate(pool.processes):
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
            dispatcher.replace(index, pool.start(index))
        time.sleep(0.2)
    dispatcher.stop()  # no new connections; the workers finish the ones they have
    for process in pool.processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
    deadline = time.monotonic() + SHUTDOWN_TIMEOUT_SECONDS
    for process in pool.processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()
    return exit_code
