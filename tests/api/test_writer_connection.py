"""The group writer keeps its own PostgreSQL connection, so read traffic cannot make it
plan its statements again (psycopg forgets prepared statements on every ROLLBACK, and
every read-only session ends with one)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.api.conftest import auth, example_manifest


def test_the_writer_keeps_its_prepared_statements_through_read_traffic(
    client: TestClient, make_key: Any
) -> None:
    app: Any = client.app
    if app.state.engine.dialect.name != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    key = make_key("importer", "Acme Imports LLC")
    for n in range(12):  # psycopg prepares a statement on its fifth run
        answer = client.post(
            "/v1/shipments",
            json=example_manifest(reference=f"PREP-{n}", importer="Acme Imports LLC"),
            headers=auth(key),
        )
        assert answer.status_code == 201, answer.text
        # reads between the writes: each read-only session ends in a ROLLBACK
        assert client.get("/v1/shipments?limit=1", headers=auth(key)).status_code == 200
    with app.state.group_writer._sessions() as session:
        prepared = session.scalar(
            text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'INSERT%'")
        )
    assert prepared >= 5  # the shipments, its lines, parties, inputs, assessments...


def test_a_lost_writer_connection_is_replaced_without_failing_a_submission(
    client: TestClient, make_key: Any
) -> None:
    """The writer does not ping its connection before each group: when the database has
    dropped it, the group is written again on a new connection, and the client only sees
    its 201."""
    app: Any = client.app
    if app.state.engine.dialect.name != "postgresql":
        pytest.skip("the writer has its own connection on PostgreSQL only")
    key = make_key("importer", "Acme Imports LLC")
    first = client.post(
        "/v1/shipments",
        json=example_manifest(reference="LOST-0", importer="Acme Imports LLC"),
        headers=auth(key),
    )
    assert first.status_code == 201, first.text
    with app.state.group_writer._sessions() as session:
        writer_pid = session.scalar(text("SELECT pg_backend_pid()"))
    with app.state.sessionmaker() as session:
        session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": writer_pid})
        session.commit()
    for n in range(1, 4):
        answer = client.post(
            "/v1/shipments",
            json=example_manifest(reference=f"LOST-{n}", importer="Acme Imports LLC"),
            headers=auth(key),
        )
        assert answer.status_code == 201, answer.text
    resent = client.post(
        "/v1/shipments",
        json=example_manifest(reference="LOST-1", importer="Acme Imports LLC"),
        headers=auth(key),
    )
    assert resent.status_code == 200
    with app.state.sessionmaker() as session:
        assert (
            session.scalar(text("SELECT count(*) FROM shipments WHERE reference LIKE 'LOST-%'"))
            == 4
        )
