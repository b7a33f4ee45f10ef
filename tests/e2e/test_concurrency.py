"""Real server processes: concurrent duplicates, two instances on one database, kill -9."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.db.models import Decision, Shipment
from app.db.session import make_engine, make_sessionmaker
from app.services.decision_log import verify_chain
from tests.api.conftest import example_manifest
from tests.e2e.servers import ServerProcess, create_key, server_env, start_server

IMPORTER = "Acme Apparel Inc"


@pytest.fixture(scope="module")
def env(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return server_env(database_url, tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def key(env: dict[str, str]) -> str:
    return create_key(env, "importer", IMPORTER)


@pytest.fixture(scope="module")
def two_servers(
    env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[ServerProcess]]:
    logs = tmp_path_factory.mktemp("logs")
    servers = [start_server(env, logs / f"server{i}.log") for i in range(2)]
    yield servers
    for server in servers:
        server.stop()


def _count(database_url: str, reference: str) -> tuple[int, int]:
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            shipments = session.scalar(
                select(func.count()).select_from(Shipment).where(Shipment.reference == reference)
            )
            decisions = session.scalar(
                select(func.count())
                .select_from(Decision)
                .join(Shipment, Shipment.id == Decision.shipment_id)
                .where(Shipment.reference == reference)
            )
            return shipments or 0, decisions or 0
    finally:
        engine.dispose()


def test_same_reference_from_twenty_clients_creates_one_shipment(
    two_servers: list[ServerProcess], key: str, database_url: str
) -> None:
    reference = f"RACE-{uuid.uuid4().hex[:8]}"
    manifest = example_manifest(reference=reference)
    barrier = threading.Barrier(20)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        base = two_servers[i % 2].base_url  # alternate between the two instances
        barrier.wait()
        r = httpx.post(
            f"{base}/v1/shipments",
            json=manifest,
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
        with lock:
            results.append((r.status_code, r.json().get("id", "")))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 1 and statuses.count(200) == 19, statuses
    assert len({ident for _, ident in results}) == 1
    assert _count(database_url, reference) == (1, 1)


def test_two_instances_keep_one_decision_chain(
    two_servers: list[ServerProcess], key: str, database_url: str
) -> None:
    errors: list[str] = []

    def burst(server: ServerProcess) -> None:
        with httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as c:
            for _ in range(15):
                r = c.post(
                    "/v1/shipments", json=example_manifest(reference=f"MI-{uuid.uuid4().hex[:10]}")
                )
                if r.status_code != 201:
                    errors.append(r.text)

    threads = [threading.Thread(target=burst, args=(s,)) for s in two_servers for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            result = verify_chain(session)
    finally:
        engine.dispose()
    assert result.intact, result
    assert result.records >= 90


def test_kill_minus_nine_leaves_nothing_half_written(
    env: dict[str, str], key: str, database_url: str, tmp_path: Path
) -> None:
    server = start_server(env, tmp_path / "victim.log")
    references = [f"KILL-{uuid.uuid4().hex[:10]}" for _ in range(60)]
    stop = threading.Event()

    def pump() -> None:
        with httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10
        ) as c:
            for reference in references:
                if stop.is_set():
                    return
                try:
                    c.post("/v1/shipments", json=example_manifest(reference=reference))
                except httpx.HTTPError:
                    return  # the server died under us, as intended

    pumps = [threading.Thread(target=pump) for _ in range(1)]
    for t in pumps:
        t.start()
    threading.Event().wait(1.0)
    server.kill_hard()
    stop.set()
    for t in pumps:
        t.join()

    # After restart: every stored shipment has its assessment and decision; the chain verifies;
    # a client retrying every reference gets consistent answers (201 for the lost ones, 200 for the rest).
    restarted = start_server(env, tmp_path / "restarted.log")
    try:
        with httpx.Client(
            base_url=restarted.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as c:
            statuses = [
                c.post("/v1/shipments", json=example_manifest(reference=r)).status_code
                for r in references
            ]
        assert set(statuses) <= {200, 201}
        for reference in references:
            assert _count(database_url, reference) == (1, 1)
        engine = make_engine(database_url)
        with make_sessionmaker(engine)() as session:
            assert verify_chain(session).intact
        engine.dispose()
    finally:
        restarted.stop()
