"""Where background jobs run, chosen by database dialect behind one small interface.

* SQLite (the embedded default, one host): InProcessBackend, the `jobs`-table runner in a
  thread of this process (app/services/jobs.py).
* PostgreSQL (possibly several instances sharing one database): ProcrastinateBackend, a
  procrastinate worker. jobs.enqueue() defers a procrastinate job in the caller's
  transaction with the job's group as procrastinate's `lock`, so jobs of one group never run
  at once across every worker. A job whose worker died (kill -9) is found stalled (its
  worker stopped sending heartbeats) and retried; handlers are idempotent.

Either way the `jobs` table is the record of progress and results (GET /v1/jobs/{id}).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.logs import get_logger
from app.services import jobs

if TYPE_CHECKING:
    import procrastinate

log = get_logger("app.job_backends")


class JobBackend(Protocol):
    instance: str

    def start(self) -> None:
        """Run jobs in the background until stop()."""

    def stop(self, timeout: float) -> None: ...

    def wake(self) -> None:
        """Look for work now (a job was just queued)."""

    def run_pending(self) -> list[uuid.UUID]:
        """Run the jobs this process may take now, in the foreground; their ids."""


class InProcessBackend:
    def __init__(self, runner: jobs.JobRunner, poll_seconds: float) -> None:
        self.runner = runner
        self.instance = runner.instance
        self._poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.runner.run,
            args=(self._stop, self._poll_seconds),
            name="uflpa-jobs",
            daemon=True,
        )
        self._thread.start()

    def stop(self, timeout: float) -> None:
        self._stop.set()
        self.runner.wake()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        self.runner.wake()

    def run_pending(self) -> list[uuid.UUID]:
        return self.runner.run_pending()


def procrastinate_conninfo(database_url: str) -> str:
    """libpq conninfo from the SQLAlchemy URL (postgresql+psycopg://... -> postgresql://...)."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class ProcrastinateBackend:
    def __init__(
        self,
        runner: jobs.JobRunner,
        database_url: str,
        poll_seconds: float,
        stale_seconds: float,
    ) -> None:
        self.runner = runner
        self.instance = runner.instance
        self._conninfo = procrastinate_conninfo(database_url)
        self._poll_seconds = poll_seconds
        self._stale_seconds = stale_seconds
        self._ran: list[uuid.UUID] = []
        self._ran_guard = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = threading.Event()

    def _make_app(self) -> procrastinate.App:
        import procrastinate  # imported when a worker starts, not when the service loads

        app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=self._conninfo))
        runner = self.runner

        @app.task(name=jobs.PROCRASTINATE_TASK, queue=jobs.PROCRASTINATE_QUEUE)
        def run_job(job_id: str) -> None:
            the_id = uuid.UUID(job_id)
            if runner.run_job(the_id):
                with self._ran_guard:
                    self._ran.append(the_id)

        return app

    async def _retry_stalled(self, app: procrastinate.App) -> None:
        """Put jobs of workers that stopped sending heartbeats (killed) back in the queue."""
        manager = app.job_manager
        for job in await manager.get_stalled_jobs(seconds_since_heartbeat=self._stale_seconds):
            log.warning("job_stalled_retried", procrastinate_id=job.id, task=job.task_name)
            await manager.retry_job(job)

    async def _reap_stalled(self, app: procrastinate.App) -> None:
        while True:
            await asyncio.sleep(max(1.0, self._stale_seconds / 2))
            try:
                await self._retry_stalled(app)
            except Exception as exc:  # keep reaping; the next round tries again
                log.warning("job_stalled_check_failed", error=type(exc).__name__)

    async def _work(self, wait: bool) -> None:
        app = self._make_app()
        async with app.open_async():
            await self._retry_stalled(app)
            reaper = asyncio.create_task(self._reap_stalled(app)) if wait else None
            self._started.set()
            try:
                await app.run_worker_async(
                    queues=[jobs.PROCRASTINATE_QUEUE],
                    name=self.instance,
                    wait=wait,
                    concurrency=1,
                    install_signal_handlers=False,
                    listen_notify=True,
                    fetch_job_polling_interval=self._poll_seconds,
                    update_heartbeat_interval=max(0.5, self._stale_seconds / 4),
                    stalled_worker_timeout=self._stale_seconds,
                )
            finally:
                if reaper is not None:
                    reaper.cancel()

    def start(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._task = loop.create_task(self._work(wait=True))
        task = self._task

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(task)
            except asyncio.CancelledError:
                pass
            except Exception as exc:
                log.error("job_worker_failed", exc_info=exc)
            finally:
                loop.close()

        self._thread = threading.Thread(target=serve, name="uflpa-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Cancel the worker: procrastinate lets a running job finish first; a job cut off
        by the process ending is retried once its worker is found stalled."""
        if self._loop is not None and self._task is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._task.cancel)
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """Nothing to do: deferring a job sends a NOTIFY that wakes the workers."""

    def run_pending(self) -> list[uuid.UUID]:
        with self._ran_guard:
            self._ran = []
        asyncio.run(self._work(wait=False))
        with self._ran_guard:
            return list(self._ran)


def make_backend(
    sessions: sessionmaker[Session],
    handlers: Mapping[str, jobs.Handler],
    database_url: str,
    poll_seconds: float,
    stale_seconds: float,
) -> JobBackend:
    runner = jobs.JobRunner(sessions, handlers, jobs.RunnerSettings(stale_seconds=stale_seconds))
    if make_url(database_url).get_backend_name() == "postgresql":
        return ProcrastinateBackend(runner, database_url, poll_seconds, stale_seconds)
    return InProcessBackend(runner, poll_seconds)
