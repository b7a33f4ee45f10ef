"""Background work: once-only job runs, resume after a crash, concurrent delivery claims."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text, update
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import utcnow
from app.db.models import Importer, Job, OutboxEvent, Webhook, WebhookDelivery
from app.services import jobs, webhooks


@pytest.fixture(autouse=True)
def no_leftover_jobs(sessions: sessionmaker[Session]) -> Iterator[None]:
    yield
    with sessions() as session:
        session.execute(
            update(Job).where(Job.state.in_(["queued", "running"])).values(state="failed")
        )
        session.commit()


def queue(sessions: sessionmaker[Session], kind: str = jobs.RESCREEN_ALL) -> uuid.UUID:
    with sessions() as session:
        job = jobs.enqueue(session, kind, {"n": 1}, "test")
        session.commit()
        return job.id


def state(sessions: sessionmaker[Session], job_id: uuid.UUID) -> Job:
    with sessions() as session:
        return jobs.get_job(session, job_id)


def test_a_job_runs_once_and_records_its_result(sessions: sessionmaker[Session]) -> None:
    calls: list[dict[str, Any]] = []

    def handler(context: jobs.JobContext) -> dict[str, Any]:
        calls.append(context.params)
        context.progress(3, 3, force=True)
        return {"ok": True}

    job_id = queue(sessions)
    runner = jobs.JobRunner(sessions, {jobs.RESCREEN_ALL: handler})
    assert runner.run_pending() == [job_id]
    assert runner.run_pending() == []
    assert calls == [{"n": 1}]
    job = state(sessions, job_id)
    assert job.state == "succeeded" and job.result == {"ok": True}
    assert (job.progress_done, job.progress_total) == (3, 3)
    assert job.started_at is not None and job.finished_at is not None and job.attempts == 1


def test_a_failing_job_is_marked_failed(sessions: sessionmaker[Session]) -> None:
    def handler(_context: jobs.JobContext) -> dict[str, Any]:
        raise RuntimeError("boom")

    job_id = queue(sessions)
    jobs.JobRunner(sessions, {jobs.RESCREEN_ALL: handler}).run_pending()
    job = state(sessions, job_id)
    assert job.state == "failed" and job.error is not None and "boom" in job.error


def test_two_runners_never_run_one_group_at_once(sessions: sessionmaker[Session]) -> None:
    """Two runners (two 'instances') race for two queued re-screens: never concurrent."""
    running = 0
    overlap = False
    started = threading.Event()
    release = threading.Event()
    guard = threading.Lock()

    def handler(_context: jobs.JobContext) -> dict[str, Any]:
        nonlocal running, overlap
        with guard:
            running += 1
            overlap = overlap or running > 1
        started.set()
        release.wait(5)
        with guard:
            running -= 1
        return {}

    first_id = queue(sessions, jobs.RESCREEN_LIST_UPDATE)
    second_id = queue(sessions, jobs.RESCREEN_ALL)  # same group: "rescreen"
    a = jobs.JobRunner(sessions, {jobs.RESCREEN_LIST_UPDATE: handler, jobs.RESCREEN_ALL: handler})
    b = jobs.JobRunner(sessions, {jobs.RESCREEN_LIST_UPDATE: handler, jobs.RESCREEN_ALL: handler})
    ran_a: list[uuid.UUID] = []
    thread = threading.Thread(target=lambda: ran_a.extend(a.run_pending()))
    thread.start()
    assert started.wait(5)
    assert b.run_pending() == []  # the group is busy
    release.set()
    thread.join(10)
    assert not overlap
    assert ran_a == [first_id, second_id]


def test_other_instance_holding_the_group_blocks_this_one(
    sessions: sessionmaker[Session], engine: Engine
) -> None:
    """PostgreSQL: another instance holds the advisory lock. SQLite: another process's
    running job has a fresh heartbeat. Either way this runner leaves the queue alone."""
    ran: list[str] = []
    job_id = queue(sessions)
    runner = jobs.JobRunner(sessions, {jobs.RESCREEN_ALL: lambda _c: ran.append("x") or {}})
    if engine.dialect.name == "postgresql":
        with engine.connect() as other:
            other.execute(
                text("SELECT pg_advisory_lock(:ns, :key)"),
                {"ns": jobs.ADVISORY_NAMESPACE, "key": jobs._group_key("rescreen")},
            )
            assert runner.run_pending() == []
            other.rollback()
            other.execute(text("SELECT pg_advisory_unlock_all()"))
    else:
        busy = queue(sessions, jobs.RESCREEN_LIST_UPDATE)
        with sessions() as session:
            session.execute(
                update(Job)
                .where(Job.id == busy)
                .values(state="running", heartbeat_at=utcnow(), claimed_by="other-process")
            )
            session.commit()
        assert runner.run_pending() == []
        with sessions() as session:
            session.execute(update(Job).where(Job.id == busy).values(state="failed"))
            session.commit()
    assert ran == []
    assert runner.run_pending() == [job_id]


def test_an_interrupted_job_is_resumed(sessions: sessionmaker[Session], engine: Engine) -> None:
    """A job left `running` by a process that died is taken up again (PostgreSQL: at once,
    its lock died with it; SQLite: once its heartbeat is stale)."""
    job_id = queue(sessions)
    stale = utcnow() - timedelta(seconds=120)
    with sessions() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(state="running", attempts=1, heartbeat_at=stale, claimed_by="dead:1")
        )
        session.commit()
    runner = jobs.JobRunner(
        sessions,
        {jobs.RESCREEN_ALL: lambda _c: {"resumed": True}},
        jobs.RunnerSettings(stale_seconds=60),
    )
    assert runner.run_pending() == [job_id]
    job = state(sessions, job_id)
    assert job.state == "succeeded" and job.attempts == 2 and job.result == {"resumed": True}


def test_stopping_runner_puts_the_job_back(sessions: sessionmaker[Session]) -> None:
    stop = threading.Event()

    def handler(context: jobs.JobContext) -> dict[str, Any]:
        stop.set()  # the service is shutting down mid-job
        context.progress(1, 10)
        return {"finished": True}

    job_id = queue(sessions)
    runner = jobs.JobRunner(sessions, {jobs.RESCREEN_ALL: handler})
    runner._stopping = stop
    runner.run_pending()
    assert state(sessions, job_id).state == "queued"
    fresh = jobs.JobRunner(sessions, {jobs.RESCREEN_ALL: lambda _c: {"finished": True}})
    assert fresh.run_pending() == [job_id]
    assert state(sessions, job_id).state == "succeeded"


def test_concurrent_dispatchers_claim_each_delivery_once(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        importer = Importer(name=f"Hook Importer {uuid.uuid4().hex[:6]}")
        session.add(importer)
        hook = Webhook(
            url="http://127.0.0.1:9/none",
            events=["shipment.assessed"],
            secret="x" * 20,
            covers_all_importers=False,
            active=True,
        )
        session.add(hook)
        session.flush()
        for _ in range(40):
            event = OutboxEvent(type="shipment.assessed", importer_id=importer.id, payload={})
            session.add(event)
            session.flush()
            session.add(
                WebhookDelivery(event_id=event.id, webhook_id=hook.id, status="pending", attempts=0)
            )
        session.commit()
    settings = webhooks.DispatchSettings(batch_size=7, allow_private=True)
    dispatchers = [webhooks.Dispatcher(sessions, settings) for _ in range(4)]
    claimed: list[list[uuid.UUID]] = [[] for _ in dispatchers]

    def drain(i: int) -> None:
        while batch := dispatchers[i].claim():
            claimed[i].extend(c.delivery_id for c in batch)

    threads = [threading.Thread(target=drain, args=(i,)) for i in range(len(dispatchers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    every = [d for batch in claimed for d in batch]
    assert len(every) == 40 and len(set(every)) == 40
    for d in dispatchers:
        d.close()
