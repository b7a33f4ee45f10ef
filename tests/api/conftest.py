"""An app per test module, driven over HTTP with httpx (TestClient runs the lifespan)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.db.session import make_engine, make_sessionmaker
from app.main import create_app
from app.services import keys
from app.services.principal import Role
from app.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "manifests" / "example_design.json"


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def make_key(settings: Settings) -> Iterator[Callable[..., str]]:
    engine = make_engine(settings.resolved_database_url)
    sessions = make_sessionmaker(engine)

    def _make(role: str, *importers: str) -> str:
        session: Session
        with sessions() as session:
            _, plaintext = keys.create_key(session, Role(role), list(importers))
        return plaintext

    yield _make
    engine.dispose()


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def example_manifest(**overrides: Any) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(EXAMPLE.read_text())
    manifest.update(overrides)
    return manifest


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["type"].startswith("urn:uflpa:problem:")
    assert problem["title"] and problem["detail"]
    return problem
