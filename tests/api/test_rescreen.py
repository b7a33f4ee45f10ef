"""A list update re-screens past shipments: exactly the affected ones change, each with a
decision record and a webhook; removing the entry changes them back."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from app.db.models import Decision
from app.db.session import make_engine, make_sessionmaker
from app.main import create_app
from app.services import jobs
from app.settings import Settings
from tests.api.conftest import auth, example_manifest
from tests.api.test_webhooks import Receiver, wait_for

LOAD_LISTS = True
IMPORTER = "Acme Apparel Inc"
BUNDLED_UFLPA = (
    Path(__file__).resolve().parents[2] / "fixtures" / "lists" / "uflpa" / "uflpa_entity_list.csv"
)
# A fictitious company added to the list by the "update".
NEW_ENTRY = (
    '"Huaiyin Jinrui Textile Co., Ltd.",Jinrui Textile,淮阴金瑞纺织有限公司,CN,v,2026-11-21,'
    "test fixture (fictitious)\n"
)


@pytest.fixture(scope="module")
def receiver(database_url: str) -> Iterator[Receiver]:
    """One receiver per database backend (the module runs once per backend)."""
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    fast = settings.model_copy(
        update={"jobs_poll_seconds": 0.2, "webhook_poll_seconds": 0.05, "job_stale_seconds": 5}
    )
    with TestClient(create_app(fast), raise_server_exceptions=False) as test_client:
        yield test_client


def with_supplier(reference: str, name: str, address: str = "Huai'an, Jiangsu") -> dict[str, Any]:
    manifest = example_manifest(reference=reference)
    tier1 = manifest["lines"][0]["inputs"][0]
    tier1["supplier"] = {"name": name, "address": address, "country": "CN"}
    tier1["inputs"] = [{"material": "raw cotton", "hts_code": "5201.00", "country_of_origin": "US"}]
    return manifest


def decisions(settings: Settings, kind: str) -> list[uuid.UUID]:
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return list(session.scalars(select(Decision.shipment_id).where(Decision.kind == kind)))
    finally:
        engine.dispose()


def import_uflpa(client: TestClient, key: str, data: bytes) -> dict[str, Any]:
    response = client.post(
        "/v1/lists/uflpa/import",
        files={"file": ("uflpa_entity_list.csv", data, "text/csv")},
        headers=auth(key),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def finished_job(client: TestClient, key: str, job_id: str) -> dict[str, Any]:
    url = f"/v1/jobs/{job_id}"
    assert wait_for(
        lambda: client.get(url, headers=auth(key)).json()["state"] in ("succeeded", "failed"),
        timeout=60,
    )
    job: dict[str, Any] = client.get(url, headers=auth(key)).json()
    assert job["state"] == "succeeded", job
    return job


def test_list_update_rescreens_exactly_the_affected_shipments(
    client: TestClient, make_key: Any, settings: Settings, receiver: Receiver
) -> None:
    acme = make_key("importer", IMPORTER)
    admin = make_key("admin")
    hook = client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": ["shipment.rescreened"], "secret": "s" * 32},
        headers=auth(acme),
    )
    assert hook.status_code == 201
    manifests = {
        "english": with_supplier("RS-EN", "Huaiyin Jinrui Textile Co Ltd"),
        "chinese": with_supplier("RS-ZH", "淮阴金瑞纺织有限公司"),
        "lookalike": with_supplier("RS-LOOK", "Huaiyin Garment Factory"),
        "unrelated": with_supplier("RS-OTHER", "Dong Nai Spinning JSC", "Dong Nai"),
        "xinjiang": example_manifest(reference="RS-XJ"),
    }
    ids: dict[str, str] = {}
    for label, manifest in manifests.items():
        response = client.post("/v1/shipments", json=manifest, headers=auth(acme))
        assert response.status_code == 201, response.text
        ids[label] = response.json()["id"]
        expected = "detain" if label == "xinjiang" else "admit"
        assert response.json()["assessment"]["recommendation"] == expected, label

    original = BUNDLED_UFLPA.read_bytes()
    updated = original + (b"" if original.endswith(b"\n") else b"\n") + NEW_ENTRY.encode()
    imported = import_uflpa(client, admin, updated)
    job = finished_job(client, admin, imported["rescreen_job_id"])
    assert job["result"]["delta"] == {"added": 1, "changed": 0, "removed": 0}
    assert job["result"]["changed"] == 2
    assert job["progress"]["done"] == job["progress"]["total"]
    assert sorted(job["result"]["changed_shipments"]) == sorted([ids["english"], ids["chinese"]])

    for label in ("english", "chinese"):
        shipment = client.get(f"/v1/shipments/{ids[label]}", headers=auth(acme)).json()
        assessment = shipment["assessment"]
        assert assessment["kind"] == "rescreen" and assessment["sequence"] == 2
        assert assessment["recommendation"] == "detain" and shipment["status"] == "detained"
        cited = {f["evidence"].get("entry_id") for f in assessment["findings"] if f["evidence"]}
        assert "huaiyin-jinrui-textile-co-ltd" in cited
        assert assessment["lists_version"]["uflpa"] == imported["version"]["version"]
    for label in ("lookalike", "unrelated", "xinjiang"):
        shipment = client.get(f"/v1/shipments/{ids[label]}", headers=auth(acme)).json()
        assert shipment["assessment"]["kind"] == "initial", label
    rescreened = decisions(settings, "rescreen")
    assert sorted(map(str, rescreened)) == sorted([ids["english"], ids["chinese"]])

    def events() -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in receiver.requests]

    assert wait_for(lambda: len(events()) >= 2)
    time.sleep(0.3)
    assert sorted(e["data"]["shipment_id"] for e in events()) == sorted(
        [ids["english"], ids["chinese"]]
    )
    assert {e["type"] for e in events()} == {"shipment.rescreened"}
    assert {e["data"]["decision"]["kind"] for e in events()} == {"rescreen"}

    # Running the same re-screen again changes nothing (a resumed job is idempotent).
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as session:
            again = jobs.enqueue(session, jobs.RESCREEN_LIST_UPDATE, job["params"], "test")
            session.commit()
    finally:
        engine.dispose()
    client.app.state.background.jobs.wake()  # type: ignore[attr-defined]
    assert finished_job(client, admin, str(again.id))["result"]["changed"] == 0

    # Removing the entry again: the shipments that cite it go back to admit.
    removal = import_uflpa(client, admin, original + b"\n")
    job = finished_job(client, admin, removal["rescreen_job_id"])
    assert job["result"]["delta"] == {"added": 0, "changed": 0, "removed": 1}
    assert job["result"]["changed"] == 2
    for label in ("english", "chinese"):
        shipment = client.get(f"/v1/shipments/{ids[label]}", headers=auth(acme)).json()
        assert shipment["assessment"]["sequence"] == 3
        assert shipment["assessment"]["recommendation"] == "admit"
        assert shipment["status"] == "admitted"
    assert len(decisions(settings, "rescreen")) == 4
    assert wait_for(lambda: len(events()) >= 4)


def test_full_rescreen_is_admin_only_and_reports(client: TestClient, make_key: Any) -> None:
    admin = make_key("admin")
    auditor = make_key("auditor")
    acme = make_key("importer", IMPORTER)
    assert client.post("/v1/jobs/rescreen", headers=auth(acme)).status_code == 403
    started = client.post("/v1/jobs/rescreen", headers=auth(admin))
    assert started.status_code == 202
    job = finished_job(client, auditor, started.json()["id"])
    assert job["result"]["changed"] == 0  # nothing changed since the last re-screen
    assert job["result"]["candidates"] >= 5
    assert client.get(f"/v1/jobs/{job['id']}", headers=auth(acme)).status_code == 403
    assert client.get(f"/v1/jobs/{uuid.uuid4()}", headers=auth(admin)).status_code == 404


def test_on_postgresql_a_list_import_rescreen_runs_through_procrastinate(
    client: TestClient, make_key: Any, settings: Settings
) -> None:
    if not settings.resolved_database_url.startswith("postgresql"):
        pytest.skip("SQLite runs jobs in-process")
    from app.services.job_backends import ProcrastinateBackend

    assert isinstance(client.app.state.background.jobs, ProcrastinateBackend)  # type: ignore[attr-defined]
    admin = make_key("admin")
    original = BUNDLED_UFLPA.read_bytes()
    updated = original + (b"" if original.endswith(b"\n") else b"\n") + NEW_ENTRY.encode()
    imported = import_uflpa(client, admin, updated)
    job = finished_job(client, admin, imported["rescreen_job_id"])
    assert job["progress"]["total"] >= 2
    assert job["progress"]["done"] == job["progress"]["total"]
    assert job["result"]["changed"] == 2
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            queued = conn.execute(
                text(
                    "SELECT status::text, lock FROM procrastinate_jobs WHERE args->>'job_id' = :id"
                ),
                {"id": job["id"]},
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in queued] == [("succeeded", "rescreen")]
