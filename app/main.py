"""Composition root: create_app(settings) builds everything; nothing happens at import."""

from __future__ import annotations

import gc
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy import Engine

from app.api.deps import reject_unknown_query_params
from app.api.middleware import Metrics, RequestContextMiddleware
from app.api.problems import install_problem_handlers
from app.api.ratelimit import KeyRateLimiter
from app.api.routes import (
    batch,
    cases,
    dashboard,
    decisions,
    documents,
    health,
    jobs,
    lists,
    reports,
    screening,
    shipments,
    webhooks,
)
from app.api.schemas.problem import COMMON_PROBLEMS
from app.db.session import make_engine, make_sessionmaker
from app.logs import configure_logging, get_logger
from app.services.assessor import Assessor
from app.services.background import Background
from app.services.bootstrap import AssessorRegistry
from app.services.group_writer import GroupWriter
from app.services.principal_cache import PrincipalCache
from app.services.replay import Replayer, ScreenerCache
from app.services.reports import package_renderer
from app.services.storage import FileSystemStore
from app.settings import Settings

log = get_logger("app.main")


def _watch_lists(registry: AssessorRegistry, stop: threading.Event, every: float) -> None:
    """Pick up list versions imported by another worker or host."""
    while not stop.wait(every):
        try:
            registry.refresh()
        except Exception as exc:  # keep serving with the current index; retry next round
            log.warning("lists_refresh_failed", error=type(exc).__name__)


# Allocations net of frees between two young-generation collections (CPython's default is
# 700). A submission holds thousands of containers at once (the manifest, the assessment,
# its rows), so at 700 the collector ran once or twice per submission, scanning them while
# they were still in use, and promoted them to older generations, whose collections took
# 1 to 20 ms: 8% of a worker's CPU under load (measured with gc.callbacks). Almost all of
# it is freed by reference counting; the little that forms cycles is collected when this
# count is reached, every few tens of thousands of submissions.
GC_YOUNG_THRESHOLD = 50_000


def _collect_garbage_less_often() -> None:
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def _group_writer_engine(settings: Settings, shared: Engine) -> Engine:
    """The group writer's own connection (PostgreSQL). psycopg forgets a connection's
    prepared statements on every ROLLBACK, and every read-only session ends with one when
    it returns its connection to the pool: in the shared pool the writer's statements were
    planned afresh on two executions in three (about a tenth of PostgreSQL's time per
    submission). Its failure path writes one shipment at a time, in the same thread, so
    one connection is all it uses. No ping before each group (a round trip per group): the
    writer retries a group once when its connection turns out to be lost. SQLite has no
    statement planning to save and one file to share: the writer keeps the shared engine."""
    if settings.is_sqlite:
        return shared
    return make_engine(settings.resolved_database_url, pool_size=1, max_overflow=0, pre_ping=False)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        if settings.is_sqlite:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(
            settings.resolved_database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        sessionmaker = make_sessionmaker(engine)
        app.state.engine = engine
        app.state.sessionmaker = sessionmaker
        metrics: Metrics = app.state.metrics
        writer_engine = _group_writer_engine(settings, engine)
        group_writer = GroupWriter(
            make_sessionmaker(writer_engine),
            on_group=metrics.group_size.observe,
            on_retry=metrics.group_retries.inc,
        )
        group_writer.start()
        app.state.group_writer = group_writer
        registry = AssessorRegistry(sessionmaker, settings)
        app.state.assessors = registry
        _collect_garbage_less_often()
        stop = threading.Event()
        watcher = threading.Thread(
            target=_watch_lists, args=(registry, stop, settings.lists_poll_seconds), daemon=True
        )
        watcher.start()
        background: Background | None = None
        if settings.run_background_workers:
            background = Background(registry, sessionmaker, settings)
            background.start()
        app.state.background = background
        log.info(
            "started",
            rules=registry.current.rules.version,
            lists=dict(registry.current.lists_version),
        )
        try:
            yield
        finally:
            stop.set()
            group_writer.stop()
            app.state.package_renderer.close()
            if background is not None:
                background.stop()
            if writer_engine is not engine:
                writer_engine.dispose()
            engine.dispose()

    app = FastAPI(
        title="UFLPA import-risk service",
        version="0.1.0",
        description="Applies the UFLPA rebuttable presumption to import shipments and "
        "recommends admit or detain, with every reason.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.principal_cache = PrincipalCache(settings.key_cache_seconds)
    app.state.query_params_by_route = {}
    app.state.rate_limiter = KeyRateLimiter(settings.rate_limit, settings.rate_limit_storage)
    app.state.document_store = FileSystemStore(settings.resolved_documents_dir)
    # Its processes start on the first download, not here.
    app.state.package_renderer = package_renderer(settings)
    install_problem_handlers(app)
    app.add_middleware(
        RequestContextMiddleware,
        metrics=app.state.metrics,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        max_batch_body_bytes=settings.max_batch_body_bytes,
    )
    v1 = APIRouter(
        prefix="/v1",
        responses=COMMON_PROBLEMS,
        dependencies=[Depends(reject_unknown_query_params)],
    )
    v1.include_router(batch.router)  # before shipments: /shipments/batch is not an id
    v1.include_router(shipments.router)
    v1.include_router(webhooks.router)
    v1.include_router(jobs.router)
    v1.include_router(lists.router)
    v1.include_router(screening.router)
    v1.include_router(documents.router)
    v1.include_router(cases.router)
    v1.include_router(decisions.router)
    v1.include_router(reports.router)
    app.include_router(v1)
    app.include_router(health.router)
    app.include_router(dashboard.router)
    dashboard.mount_static(app)

    def live_assessor() -> Assessor | None:
        registry: AssessorRegistry | None = getattr(app.state, "assessors", None)
        return None if registry is None else registry.current

    app.state.replayer = Replayer(ScreenerCache(settings.replay_cache_size), live_assessor)
    return app
