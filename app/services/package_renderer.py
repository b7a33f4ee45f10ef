"""Rebuttal-package PDFs are laid out in separate processes, a bounded number at a time.

Laying out a package is seconds to tens of seconds of CPU, mostly in Python (measured: 24 s and
370 MB more memory for a 60-input shipment). Inside a worker it held the GIL from the
requests the worker serves, so one auditor's download slowed every submission on that
worker, and each concurrent download grew the worker by hundreds of MB. A process renders
without touching the worker's GIL or memory; a bounded queue in front of it answers 503
with Retry-After once full, rather than letting downloads pile up.

A renderer process that holds more than `RECYCLE_ABOVE_BYTES` after a render is replaced
once idle (CPython rarely gives such memory back to the system), and a new one is warmed up
(WeasyPrint's import and font discovery) before it is needed.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from app.errors import RendererUnavailable, ServiceUnavailable
from app.logs import get_logger

log = get_logger("app.package_renderer")

RECYCLE_ABOVE_BYTES = 250 * 1024 * 1024
RETRY_AFTER_SECONDS = 30

Render = Callable[[Any], bytes]


# Renderers yield the CPU to the workers serving submissions when both want it, and take
# all of it when the workers are idle. Measured with 2 auditors downloading during a load
# test (bench_http --package-clients 2): intake 208/s, p99 142 ms at equal priority;
# 291-314/s, p99 104-117 ms at this one (each package then takes 15-25% longer).
RENDERER_NICENESS = 10
ORPHAN_CHECK_SECONDS = 1.0


def _start_renderer(warm_up: Callable[[], object]) -> None:
    """In each new renderer process, before its first task."""
    threading.Thread(
        target=_exit_when_orphaned, args=(os.getppid(),), name="orphan-check", daemon=True
    ).start()
    os.nice(RENDERER_NICENESS)
    warm_up()


def _exit_when_orphaned(parent: int) -> None:
    """A renderer outliving its worker (killed, out of memory, or stopped while this one
    was starting) would hold its memory for good: it ends itself instead. Nothing of its
    own is lost: a render it was doing was for a request that died with the worker."""
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(0)


def _ready() -> None:
    """A task that only makes the pool start (and warm up) its process now."""


def _resident_bytes() -> int:
    """This process's resident memory now (Linux; 0 elsewhere, so never recycled). Not
    getrusage's peak: Linux carries a peak across fork and exec, so a renderer started by
    a 450 MB worker would report 450 MB before doing anything."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _render_and_measure(render: Render, report: Any) -> tuple[bytes, int]:
    """In the renderer process: the PDF, and how much memory the process holds after it
    (bytes): CPython keeps most of what a large layout used."""
    pdf = render(report)
    return pdf, _resident_bytes()


class PackageRenderer:
    """`render(report)` in one of `processes` renderer processes, started on first use.
    At most `processes + queue` renders are admitted at once (running or waiting); one more
    is refused with 503 and Retry-After. Thread-safe."""

    def __init__(
        self,
        render: Render,
        warm_up: Callable[[], object],
        *,
        processes: int,
        queue: int,
        timeout: float,
    ) -> None:
        """`render` and `warm_up` run in the renderer processes, so they are module-level
        functions; `warm_up` runs once in each new one (imports, font discovery)."""
        self._render = render
        self._warm_up = warm_up
        self._processes = processes
        self._capacity = processes + queue
        self._timeout = timeout
        self._lock = threading.Lock()
        self._admitted = 0
        self._pool: ProcessPoolExecutor | None = None
        self._grown = False  # a renderer process holds more than RECYCLE_ABOVE_BYTES

    def render(self, report: Any) -> bytes:
        with self._lock:
            if self._admitted >= self._capacity:
                raise ServiceUnavailable(
                    f"{self._admitted} rebuttal packages are being laid out; retry shortly",
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                )
            self._admitted += 1
            pool = self._current_pool()
            try:
                future = pool.submit(_render_and_measure, self._render, report)
            except BrokenProcessPool:
                self._admitted -= 1
                self._pool = None
                raise RendererUnavailable("the renderer process stopped; retry") from None
        future.add_done_callback(self._done)
        try:
            pdf, _resident = future.result(timeout=self._timeout)
        except FutureTimeout:
            # It goes on in its process and still counts against the queue until it ends.
            raise ServiceUnavailable(
                f"the rebuttal package took more than {self._timeout:g} s to lay out; retry",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            ) from None
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    self._pool = None  # the next render starts a new one
            log.warning("package_renderer_died")
            raise RendererUnavailable("the renderer process stopped; retry") from None
        return pdf

    def _current_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self._processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_renderer,
                initargs=(self._warm_up,),
            )
            for _ in range(self._processes):
                self._pool.submit(_ready)
        return self._pool

    def _done(self, future: Future[tuple[bytes, int]]) -> None:
        """Every admitted render ends here (done, failed or timed out for its caller)."""
        grown = (
            not future.cancelled()
            and future.exception() is None
            and future.result()[1] > RECYCLE_ABOVE_BYTES
        )
        with self._lock:
            self._admitted -= 1
            self._grown = self._grown or grown
            self._recycle_if_idle()

    def _recycle_if_idle(self) -> None:
        """Called with the lock held: once nothing is being rendered, a pool whose process
        grew is shut down, and a new one started and warmed up."""
        if not self._grown or self._admitted > 0 or self._pool is None:
            return
        self._grown = False
        self._pool.shutdown(wait=False)
        self._pool = None
        self._current_pool()

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
