"""POST /v1/lists/{source}/import of the file that is already active: a 200, at once.

On SQLite the unchanged path used to leave its read transaction (BEGIN IMMEDIATE: the write
lock) open while the index refresh waited for the lock in a session of its own: 30 s, then
a 500, and every other writer blocked meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from app.settings import PROJECT_ROOT
from tests.api.conftest import auth

UFLPA_FILE = PROJECT_ROOT / "fixtures" / "lists" / "uflpa" / "uflpa_entity_list.csv"


def test_resending_the_active_list_file_answers_200_at_once(
    client: TestClient, make_key: Callable[..., str]
) -> None:
    admin = make_key("admin")
    files = {"file": ("uflpa_entity_list.csv", UFLPA_FILE.read_bytes(), "text/csv")}
    first = client.post("/v1/lists/uflpa/import", files=files, headers=auth(admin))
    assert first.status_code == 201, first.text

    started = time.monotonic()
    again = client.post("/v1/lists/uflpa/import", files=files, headers=auth(admin))
    assert again.status_code == 200, again.text
    assert time.monotonic() - started < 10
    assert again.json()["created"] is False
    assert again.json()["version"]["id"] == first.json()["version"]["id"]
    # The database is not left locked: a write right after succeeds.
    assert (
        client.post("/v1/lists/uflpa/import", files=files, headers=auth(admin)).status_code == 200
    )
