"""PostgreSQL job backend: procrastinate workers run `jobs` rows, one per group at a time,
and a job whose worker died is retried."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Job
from app.db.session import make_engine, make_sessionmaker
from app.services import jobs
from app.services.job_backends import ProcrastinateBackend, make_backend


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[Engine]:
    if not database_url.startswith("postgresql"):
        pytest.skip("procrastinate runs jobs on PostgreSQL only")
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


def queue(sessions: sessionmaker[Session], kind: str) -> uuid.UUID:
    with sessions() as session:
        job = jobs.enqueue(session, kind, {"n": 1}, "test")
        session.commit()
        return job.id


def row(sessions: sessionmaker[Session], job_id: uuid.UUID) -> Job:
    with sessions() as session:
        return jobs.get_job(session, job_id)


def queue_status(engine: Engine, job_id: uuid.UUID) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT status::text FROM procrastinate_jobs WHERE args->>'job_id' = :id"),
                {"id": str(job_id)},
            ).scalars()
        )


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def backend(
    sessions: sessionmaker[Session], database_url: str, handlers: dict[str, jobs.Handler]
) -> ProcrastinateBackend:
    made = make_backend(sessions, handlers, database_url, poll_seconds=0.2, stale_seconds=2.0)
    assert isinstance(made, ProcrastinateBackend)
    return made


def test_an_enqueued_job_rolls_back_with_its_transaction(
    sessions: sessionmaker[Session], engine: Engine
) -> None:
    with sessions() as session:
        job = jobs.enqueue(session, jobs.RESCREEN_ALL, {"n": 1}, "test")
        session.rollback()
    assert queue_status(engine, job.id) == []


def test_two_workers_never_run_two_rescreens_at_once(
    sessions: sessionmaker[Session], engine: Engine, database_url: str
) -> None:
    running = 0
    overlap = False
    guard = threading.Lock()

    def handler(context: jobs.JobContext) -> dict[str, Any]:
        nonlocal running, overlap
        with guard:
            running += 1
            overlap = overlap or running > 1
        time.sleep(0.4)  # long enough that an unlocked second worker would start meanwhile
        context.progress(1, 1, force=True)
        with guard:
            running -= 1
        return {"ok": True}

    handlers = {jobs.RESCREEN_LIST_UPDATE: handler, jobs.RESCREEN_ALL: handler}
    ids = [
        queue(sessions, jobs.RESCREEN_LIST_UPDATE),
        queue(sessions, jobs.RESCREEN_ALL),
        queue(sessions, jobs.RESCREEN_LIST_UPDATE),
        queue(sessions, jobs.RESCREEN_ALL),
    ]
    a = backend(sessions, database_url, handlers)
    b = backend(sessions, database_url, handlers)
    a.start()
    b.start()
    try:
        assert wait_until(lambda: all(row(sessions, i).state == "succeeded" for i in ids))
    finally:
        a.stop(10)
        b.stop(10)
    assert not overlap
    for job_id in ids:
        job = row(sessions, job_id)
        assert job.attempts == 1 and job.result == {"ok": True}
        assert (job.progress_done, job.progress_total) == (1, 1)
        assert job.claimed_by in (a.instance, b.instance)
        assert queue_status(engine, job_id) == ["succeeded"]


def test_a_job_of_a_killed_worker_is_retried(
    sessions: sessionmaker[Session], engine: Engine, database_url: str
) -> None:
    """kill -9 mid-job: its procrastinate job stays 'doing' under a worker whose heartbeat
    stopped, and our row stays 'running'. The next worker retries and resumes it."""
    calls: list[uuid.UUID] = []

    def handler(context: jobs.JobContext) -> dict[str, Any]:
        calls.append(context.job_id)
        return {"resumed": True}

    job_id = queue(sessions, jobs.RESCREEN_ALL)
    with engine.begin() as conn:
        dead = conn.execute(
            text(
                "INSERT INTO procrastinate_workers (last_heartbeat)"
                " VALUES (NOW() - INTERVAL '1 hour') RETURNING id"
            )
        ).scalar_one()
        conn.execute(
            text(
                "UPDATE procrastinate_jobs SET status = 'doing', worker_id = :w"
                " WHERE args->>'job_id' = :id"
            ),
            {"w": dead, "id": str(job_id)},
        )
        conn.execute(
            text(
                "UPDATE jobs SET state = 'running', attempts = 1, claimed_by = 'dead' WHERE id = :id"
            ),
            {"id": job_id},
        )
    worker = backend(sessions, database_url, {jobs.RESCREEN_ALL: handler})
    assert worker.run_pending() == [job_id]
    assert calls == [job_id]
    job = row(sessions, job_id)
    assert job.state == "succeeded" and job.attempts == 2 and job.result == {"resumed": True}
    assert queue_status(engine, job_id) == ["succeeded"]
    assert worker.run_pending() == []  # nothing left, and a finished job is not run again
