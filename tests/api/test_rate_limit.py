"""Per-key rate limits answer 429 with Retry-After, per key, and spare other keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.api.conftest import auth


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    limited = settings.model_copy(update={"rate_limit": "5/minute"})
    with TestClient(create_app(limited), raise_server_exceptions=False) as test_client:
        yield test_client


def test_sixth_request_in_a_minute_is_refused_with_retry_after(
    client: TestClient, make_key: Any
) -> None:
    busy, quiet = make_key("auditor"), make_key("auditor")
    assert [client.get("/v1/shipments", headers=auth(busy)).status_code for _ in range(5)] == [
        200
    ] * 5
    refused = client.get("/v1/shipments", headers=auth(busy))
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json()["type"].endswith("rate-limited")
    assert client.get("/v1/shipments", headers=auth(quiet)).status_code == 200


def test_redis_storage_shares_the_budget_between_instances(
    settings: Settings, make_key: Any
) -> None:
    """Two app instances (as two workers or hosts would be) draw on one budget per key."""

    redis = pytest.importorskip("redis")
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    shared = settings.model_copy(
        update={"rate_limit": "4/minute", "rate_limit_storage": "redis://127.0.0.1:6379"}
    )
    key = make_key("auditor")
    with TestClient(create_app(shared)) as first, TestClient(create_app(shared)) as second:
        statuses = [
            (first if i % 2 else second).get("/v1/shipments", headers=auth(key)).status_code
            for i in range(6)
        ]
    assert statuses == [200, 200, 200, 200, 429, 429]
