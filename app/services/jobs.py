"""Background jobs (re-screens) behind one small interface, backed by the `jobs` table.

* enqueue(): adds a job row in the caller's transaction (a list import and its re-screen
  job commit together, so an import never loses its re-screen).
* JobRunner.run_pending(): claims and runs queued jobs until none is left; run() loops.
  It runs inside the service (a thread started in the lifespan), in `uflpa worker`, and
  inline in the CLI.

Once-only, also across service instances sharing one database: jobs of one *group* (all
re-screens form one group, since two re-screens writing assessments for the same shipment
would race) never run at the same time.
* PostgreSQL: the runner holds a session-level advisory lock for the group while it works.
  Whoever holds it is the only runner of that group, so a job found `running` while we hold
  the lock was orphaned by a dead process (its lock went with its connection) and is
  resumed at once.
* SQLite (single host): the claim runs in a BEGIN IMMEDIATE transaction, which serialises
  claims across processes; a group with a `running` job whose heartbeat is fresh is left
  alone, and a running job whose heartbeat is older than `stale_seconds` is resumed.
Handlers must be idempotent (re-screens are: they only store what changed).

On PostgreSQL the service and `uflpa worker` run jobs through procrastinate instead
(app/services/job_backends.py): enqueue() also defers a procrastinate job in the same
transaction, with the job's group as procrastinate's `lock`, and its worker calls
JobRunner.run_job(). The `jobs` table stays the record of progress and results.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import utcnow
from app.db.models import Job
from app.errors import NotFound
from app.logs import get_logger

log = get_logger("app.jobs")

QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"

RESCREEN_LIST_UPDATE = "rescreen_list_update"
RESCREEN_ALL = "rescreen_all"
# kind -> group; jobs of one group never run concurrently.
GROUPS: dict[str, str] = {RESCREEN_LIST_UPDATE: "rescreen", RESCREEN_ALL: "rescreen"}
ADVISORY_NAMESPACE = 0x4A4F42  # "JOB": first key of the two-int advisory lock
PROGRESS_EVERY = 1.0  # seconds between progress writes

# procrastinate (PostgreSQL): the queue and the one task that runs a `jobs` row.
PROCRASTINATE_QUEUE = "uflpa"
PROCRASTINATE_TASK = "uflpa.run_job"
# procrastinate's own SQL defer function (schema of procrastinate 3.x, migration 0005). Called
# on the caller's connection so the job commits or rolls back with the caller's transaction;
# `lock` = the group: procrastinate never runs two jobs holding the same lock at once.
_DEFER_SQL = text(
    "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, :lock, NULL,"
    " CAST(:args AS jsonb), NULL)::procrastinate_job_to_defer_v1])"
)


def enqueue(session: Session, kind: str, params: Mapping[str, Any], created_by: str) -> Job:
    """Add a queued job to the caller's transaction (the caller commits)."""
    if kind not in GROUPS:
        raise ValueError(f"unknown job kind {kind!r}")
    job = Job(
        id=uuid.uuid4(),
        kind=kind,
        state=QUEUED,
        params=dict(params),
        progress_done=0,
        attempts=0,
        created_by=created_by,
        created_at=utcnow(),
    )
    session.add(job)
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            _DEFER_SQL,
            {
                "queue": PROCRASTINATE_QUEUE,
                "task": PROCRASTINATE_TASK,
                "lock": GROUPS[kind],
                "args": json.dumps({"job_id": str(job.id)}),
            },
        )
    return job


def get_job(session: Session, job_id: uuid.UUID) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    return job


def describe(job: Job) -> dict[str, Any]:
    return {
        "id": str(job.id),
        "kind": job.kind,
        "state": job.state,
        "params": job.params,
        "progress": {"done": job.progress_done, "total": job.progress_total},
        "attempts": job.attempts,
        "created_by": job.created_by,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "result": job.result,
        "error": job.error,
    }


class JobInterrupted(Exception):
    """The runner is stopping: the job goes back to the queue and resumes later."""


class JobContext:
    """Handed to a handler: its job's params and a throttled progress reporter, which is
    also where a stopping runner interrupts the handler."""

    def __init__(
        self, sessions: sessionmaker[Session], job: Job, stopping: threading.Event
    ) -> None:
        self._sessions = sessions
        self._stopping = stopping
        self.job_id = job.id
        self.params: dict[str, Any] = dict(job.params)
        self._last = 0.0

    def progress(self, done: int, total: int | None = None, *, force: bool = False) -> None:
        if self._stopping.is_set():
            raise JobInterrupted()
        now = time.monotonic()
        if not force and now - self._last < PROGRESS_EVERY:
            return
        self._last = now
        values: dict[str, Any] = {"progress_done": done}
        if total is not None:
            values["progress_total"] = total
        with self._sessions() as session:
            session.execute(update(Job).where(Job.id == self.job_id).values(**values))
            session.commit()


Handler = Callable[[JobContext], dict[str, Any]]


@dataclass(frozen=True)
class RunnerSettings:
    stale_seconds: float = 60.0


_LOCAL_GROUP_LOCKS: dict[str, threading.Lock] = {}
_LOCAL_GROUP_LOCKS_GUARD = threading.Lock()


def _local_lock(group: str) -> threading.Lock:
    with _LOCAL_GROUP_LOCKS_GUARD:
        return _LOCAL_GROUP_LOCKS.setdefault(group, threading.Lock())


def _group_key(group: str) -> int:
    return zlib.crc32(group.encode()) & 0x7FFFFFFF


class JobRunner:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        handlers: Mapping[str, Handler],
        settings: RunnerSettings | None = None,
    ) -> None:
        self._sessions = sessions
        self._handlers = dict(handlers)
        self._settings = settings or RunnerSettings()
        self.instance = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._wake = threading.Event()
        self._stopping = threading.Event()

    def wake(self) -> None:
        """Ask a looping runner to look for work now rather than at its next poll."""
        self._wake.set()

    def run_pending(self) -> list[uuid.UUID]:
        """Run queued (and orphaned) jobs until there are none this runner may take.
        Returns the ids of the jobs it ran."""
        ran: list[uuid.UUID] = []
        for group in sorted(set(GROUPS.values())):
            # A stopping runner takes nothing new (an interrupted job went back to the queue).
            while not self._stopping.is_set() and (job_id := self._run_one(group)) is not None:
                ran.append(job_id)
        return ran

    def run(self, stop: threading.Event, poll_seconds: float) -> None:
        self._stopping = stop
        while not stop.is_set():
            try:
                self.run_pending()
            except Exception as exc:  # keep the loop alive; the job row says what failed
                log.warning("job_runner_failed", error=type(exc).__name__)
            self._wake.wait(poll_seconds)
            self._wake.clear()

    def run_job(self, job_id: uuid.UUID) -> bool:
        """Run this one job now; the caller (procrastinate's worker, which holds the job
        group's lock) guarantees no other run of its group is under way. A job already
        finished is left alone (a retried queue entry); one found running was orphaned
        by a dead worker and is resumed. Returns whether the handler ran."""
        now = utcnow()
        with self._sessions() as session:
            job = session.get(Job, job_id, with_for_update=True)
            if job is None or job.state in (SUCCEEDED, FAILED) or job.kind not in self._handlers:
                session.rollback()
                return False
            self._mark_running(job, now)
            session.commit()
        self._execute(job)
        return True

    # -- one job ------------------------------------------------------------------------

    def _run_one(self, group: str) -> uuid.UUID | None:
        kinds = sorted(k for k, g in GROUPS.items() if g == group and k in self._handlers)
        if not kinds:
            return None
        local = _local_lock(group)
        if not local.acquire(blocking=False):
            return None
        try:
            with self._sessions() as probe:
                postgres = probe.get_bind().dialect.name == "postgresql"
            if postgres:
                return self._run_one_postgres(group, kinds)
            job = self._claim(kinds, orphans_after=self._settings.stale_seconds)
            if job is None:
                return None
            self._execute(job)
            return job.id
        finally:
            local.release()

    def _run_one_postgres(self, group: str, kinds: list[str]) -> uuid.UUID | None:
        engine = self._sessions.kw["bind"]
        lock_conn: Connection = engine.connect()
        try:
            held = lock_conn.execute(
                text("SELECT pg_try_advisory_lock(:ns, :key)"),
                {"ns": ADVISORY_NAMESPACE, "key": _group_key(group)},
            ).scalar()
            lock_conn.commit()
            if not held:
                return None  # another instance runs this group now
            try:
                # Holding the group lock: any job still marked running is an orphan.
                job = self._claim(kinds, orphans_after=0.0)
                if job is None:
                    return None
                self._execute(job)
                return job.id
            finally:
                lock_conn.execute(
                    text("SELECT pg_advisory_unlock(:ns, :key)"),
                    {"ns": ADVISORY_NAMESPACE, "key": _group_key(group)},
                )
                lock_conn.commit()
        finally:
            lock_conn.close()

    def _claim(self, kinds: list[str], orphans_after: float) -> Job | None:
        now = utcnow()
        stale_before = now - timedelta(seconds=orphans_after)
        group_kinds = sorted({k for k, g in GROUPS.items() if g in {GROUPS[k2] for k2 in kinds}})
        with self._sessions() as session:
            running = list(
                session.scalars(select(Job).where(Job.kind.in_(group_kinds), Job.state == RUNNING))
            )
            live = [
                j for j in running if j.heartbeat_at is not None and j.heartbeat_at > stale_before
            ]
            if live:
                session.rollback()
                return None  # the group is busy elsewhere (SQLite: fresh heartbeat)
            query = (
                select(Job)
                .where(
                    Job.kind.in_(kinds),
                    or_(Job.state == QUEUED, Job.state == RUNNING),
                )
                .order_by(Job.created_at, Job.id)
                .limit(1)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            job = session.scalar(query)
            if job is None:
                session.rollback()
                return None
            self._mark_running(job, now)
            session.commit()
            return job

    def _heartbeat(self, job_id: uuid.UUID, done: threading.Event) -> None:
        every = max(0.5, self._settings.stale_seconds / 4)
        while not done.wait(every):
            try:
                with self._sessions() as session:
                    session.execute(
                        update(Job)
                        .where(Job.id == job_id, Job.claimed_by == self.instance)
                        .values(heartbeat_at=utcnow())
                    )
                    session.commit()
            except Exception as exc:  # a missed beat only risks an idempotent resume
                log.warning("job_heartbeat_failed", job_id=str(job_id), error=type(exc).__name__)

    def _mark_running(self, job: Job, now: datetime) -> None:
        """Claim `job` for this instance (one found running was orphaned: resume it)."""
        if job.state == RUNNING:
            log.warning("job_resumed", job_id=str(job.id), previous=job.claimed_by)
        job.state = RUNNING
        job.claimed_by = self.instance
        job.attempts += 1
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        job.error = None

    def _execute(self, job: Job) -> None:
        handler = self._handlers[job.kind]
        context = JobContext(self._sessions, job, self._stopping)
        log.info("job_started", job_id=str(job.id), kind=job.kind, attempt=job.attempts)
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(job.id, done), daemon=True)
        beat.start()
        try:
            result = handler(context)
        except JobInterrupted:
            log.info("job_interrupted", job_id=str(job.id), kind=job.kind)
            self._requeue(job.id)
            return
        except Exception as exc:
            log.error("job_failed", job_id=str(job.id), kind=job.kind, exc_info=exc)
            self._finish(job.id, FAILED, None, f"{type(exc).__name__}: {exc}"[:2000])
            return
        finally:
            done.set()
            beat.join()
        self._finish(job.id, SUCCEEDED, result, None)
        log.info("job_finished", job_id=str(job.id), kind=job.kind)

    def _requeue(self, job_id: uuid.UUID) -> None:
        with self._sessions() as session:
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.claimed_by == self.instance)
                .values(state=QUEUED, claimed_by=None)
            )
            session.commit()

    def _finish(
        self, job_id: uuid.UUID, state: str, result: dict[str, Any] | None, error: str | None
    ) -> None:
        now = utcnow()
        with self._sessions() as session:
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.claimed_by == self.instance)
                .values(state=state, result=result, error=error, finished_at=now, heartbeat_at=now)
            )
            session.commit()
