"""Schemathesis against the service's own OpenAPI schema, over real HTTP (uvicorn on loopback).

Every operation, with keys of several roles: no 500s, and every response conforms to the
documented status codes, content types and schemas. Bounded by UFLPA_FUZZ_EXAMPLES.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from app.db.session import make_engine, make_sessionmaker
from app.main import create_app
from app.services import keys
from app.services.principal import Role
from app.settings import Settings

LOAD_LISTS = True  # /v1/screen and /v1/compare answer 503 without lists, by design
EXAMPLES = int(os.environ.get("UFLPA_FUZZ_EXAMPLES", "10"))
ROLES = ("importer", "admin", "auditor")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """SQLite only: the fuzzer tests the HTTP contract, the database suites test both."""
    from app.db import migrate

    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield base
    instance.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def role_keys(settings: Settings, server: str) -> dict[str, str]:
    engine = make_engine(settings.resolved_database_url)
    made = {}
    with make_sessionmaker(engine)() as session:
        for role in ROLES:
            importers = ["Fuzz Importer"] if role == "importer" else []
            made[role] = keys.create_key(session, Role(role), importers)[1]
    engine.dispose()
    return made


# Building the app touches nothing (no database, no lists: those happen in its lifespan),
# so its OpenAPI document can be read at collection time and served by the live server.
schema = schemathesis.openapi.from_dict(create_app(Settings(database_url="sqlite://")).openapi())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(case: Any, server: str, role_keys: dict[str, str]) -> None:
    # The same generated request under every role: what one role may do, another is refused
    # with a documented problem, never a 500.
    for role in ROLES:
        case.call_and_validate(
            base_url=server,
            headers={"Authorization": f"Bearer {role_keys[role]}"},
            # Some rules cannot be written in JSON Schema (unique line numbers, tree depth,
            # real ISO codes, cursor integrity), so schema-valid data may still be refused
            # with a 422; everything else is checked.
            excluded_checks=[positive_data_acceptance],
        )
