"""The service's background work: the webhook dispatcher and the job runner.

`Background` starts both as daemon threads (inside the service's lifespan, or in
`uflpa worker`) and stops them. The re-screen job handlers live here because they need the
AssessorRegistry: a re-screen must run with the full current assessor, which includes the
list version that triggered it.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.logs import get_logger
from app.services import jobs, rescreen
from app.services.bootstrap import AssessorRegistry
from app.services.job_backends import JobBackend, make_backend
from app.services.webhooks import Dispatcher, DispatchSettings
from app.settings import Settings

log = get_logger("app.background")


def dispatch_settings(settings: Settings) -> DispatchSettings:
    return DispatchSettings(
        timeout_seconds=settings.webhook_timeout_seconds,
        max_attempts=settings.webhook_max_attempts,
        backoff_base_seconds=settings.webhook_backoff_base_seconds,
        backoff_max_seconds=settings.webhook_backoff_max_seconds,
        lease_seconds=settings.webhook_lease_seconds,
        allow_private=settings.webhook_allow_private_networks,
    )


def rescreen_handlers(
    registry: AssessorRegistry, sessions: sessionmaker[Session]
) -> dict[str, jobs.Handler]:
    def list_update(context: jobs.JobContext) -> dict[str, Any]:
        registry.refresh()  # make sure the version being re-screened is in the index
        previous = context.params.get("previous_version_id")
        with sessions() as session:
            report = rescreen.rescreen_list_update(
                session,
                registry.current,
                uuid.UUID(context.params["version_id"]),
                None if previous is None else uuid.UUID(previous),
                progress=context.progress,
            )
        context.progress(report.candidates, report.candidates, force=True)
        return report.to_dict()

    def everything(context: jobs.JobContext) -> dict[str, Any]:
        registry.refresh()
        with sessions() as session:
            report = rescreen.rescreen_all(session, registry.current, progress=context.progress)
        context.progress(report.candidates, report.candidates, force=True)
        return report.to_dict()

    return {jobs.RESCREEN_LIST_UPDATE: list_update, jobs.RESCREEN_ALL: everything}


def make_job_backend(
    registry: AssessorRegistry, sessions: sessionmaker[Session], settings: Settings
) -> JobBackend:
    """In-process runner on SQLite, procrastinate worker on PostgreSQL."""
    return make_backend(
        sessions,
        rescreen_handlers(registry, sessions),
        settings.resolved_database_url,
        poll_seconds=settings.jobs_poll_seconds,
        stale_seconds=settings.job_stale_seconds,
    )


class Background:
    def __init__(
        self, registry: AssessorRegistry, sessions: sessionmaker[Session], settings: Settings
    ) -> None:
        self.settings = settings
        self.dispatcher = Dispatcher(sessions, dispatch_settings(settings))
        self.jobs = make_job_backend(registry, sessions, settings)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._threads = [
            threading.Thread(
                target=self.dispatcher.run,
                args=(self._stop, self.settings.webhook_poll_seconds),
                name="uflpa-webhooks",
                daemon=True,
            ),
        ]
        for thread in self._threads:
            thread.start()
        self.jobs.start()
        log.info("background_started", instance=self.jobs.instance)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop polling. A delivery or job still in flight finishes or, if the process ends
        first, is taken up again later (lease expiry / orphaned job): nothing is lost."""
        self._stop.set()
        self.jobs.stop(timeout)
        for thread in self._threads:
            thread.join(timeout)
        self.dispatcher.close()
