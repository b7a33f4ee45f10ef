"""Shared fixtures: a fresh migrated database per test module, on SQLite and PostgreSQL.

PostgreSQL runs when TEST_DATABASE_URL names a server database (CI sets it); each module
gets its own throw-away database created from that server, built through Alembic.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.db import migrate
from app.settings import Settings

BACKENDS = ["sqlite", "postgresql"]


def _pg_server_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


@pytest.fixture(scope="module", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.db"
        url = f"sqlite:///{path}"
        migrate.upgrade(url)
        yield url
        return
    server = _pg_server_url()
    if server is None:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    name = f"uflpa_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def settings(
    request: pytest.FixtureRequest, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Lists are loaded only for modules that set LOAD_LISTS = True (it costs seconds)."""
    data_dir: Path = tmp_path_factory.mktemp("data")
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        log_json=True,
        log_level="WARNING",
        load_bundled_lists=getattr(request.module, "LOAD_LISTS", False),
        lists_poll_seconds=3600,
        webhook_allow_private_networks=True,  # test receivers listen on 127.0.0.1
    )
