"""An unexpected error answers a plain 500 problem; a database error's text, which can
quote row values, stays out of the log."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from app.main import create_app
from app.services import shipments as shipment_service
from app.settings import Settings
from tests.api.conftest import assert_problem, auth

SECRET = "Hotan Secret Supplier Co"


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def _log_lines(err: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


@pytest.mark.parametrize(
    "error",
    [
        IntegrityError(
            "INSERT INTO shipment_parties ...",
            None,
            psycopg.errors.UniqueViolation(f'DETAIL: Key (name)=("{SECRET}") already exists'),
        ),
        psycopg.errors.UntranslatableCharacter(f'CONTEXT: JSON data, line 1: "{SECRET}\\u0000'),
    ],
    ids=["wrapped", "raw"],
)
def test_a_database_error_is_logged_without_its_text(
    client: TestClient,
    make_key: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: Exception,
) -> None:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise error

    monkeypatch.setattr(shipment_service, "get_shipment", fail)
    key = make_key("auditor")
    capsys.readouterr()
    problem = assert_problem(client.get(f"/v1/shipments/{uuid.uuid4()}", headers=auth(key)), 500)
    assert SECRET not in json.dumps(problem)
    err = capsys.readouterr().err
    assert SECRET not in err
    logged = [line for line in _log_lines(err) if line["event"] == "unhandled_database_error"]
    assert len(logged) == 1
    assert logged[0]["driver_error"] in ("UniqueViolation", "UntranslatableCharacter")
    assert logged[0]["sqlstate"] in ("23505", "22P05")
    assert "fail" in logged[0]["stack"]  # where it was raised


def test_other_errors_keep_their_traceback(
    client: TestClient,
    make_key: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug in our code")

    monkeypatch.setattr(shipment_service, "get_shipment", fail)
    key = make_key("auditor")
    capsys.readouterr()
    assert_problem(client.get(f"/v1/shipments/{uuid.uuid4()}", headers=auth(key)), 500)
    logged = [
        line for line in _log_lines(capsys.readouterr().err) if line["event"] == "unhandled_error"
    ]
    assert len(logged) == 1 and "a bug in our code" in logged[0]["exception"]
