"""Shared fixtures for the database tests: one engine and session factory per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.db.session import make_engine, make_sessionmaker


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url, pool_size=20)  # room for the concurrent-writer tests
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)
