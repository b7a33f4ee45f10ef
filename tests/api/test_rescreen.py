"""A list update re-screens past shipments: exactly the affected ones change, each with a
decision record and a webhook; removing the entry changes them back.

Every test stands alone: it stores the shipments it needs (references unique to the test),
starts from the bundled UFLPA list and restores it afterwards (`bundled_uflpa`), and adds
a fictitious entry of its own that matches none of the other tests' suppliers. So the
tests pass alone, together in one module database, and in any order or split across
xdist workers.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from app.db.models import Decision, Shipment
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
ORIGINAL = BUNDLED_UFLPA.read_bytes()
# Fictitious companies added to the list by the "updates", one per test.
JINRUI_ENTRY = (
    '"Huaiyin Jinrui Textile Co., Ltd.",Jinrui Textile,淮阴金瑞纺织有限公司,CN,v,2026-11-21,'
    "test fixture (fictitious)\n"
)
HAOYU_ENTRY = (
    '"Suqian Haoyu Cotton Mill Co., Ltd.",Haoyu Cotton,宿迁浩宇棉纺有限公司,CN,v,2026-11-21,'
    "test fixture (fictitious)\n"
)


def uflpa_with(entry: str) -> bytes:
    return ORIGINAL + (b"" if ORIGINAL.endswith(b"\n") else b"\n") + entry.encode()


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
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


def store_shipments(
    client: TestClient, key: str, manifests: dict[str, dict[str, Any]], detained: Iterable[str]
) -> dict[str, str]:
    """POST each manifest; the labels in `detained` must be detained, the rest admitted."""
    ids: dict[str, str] = {}
    for label, manifest in manifests.items():
        response = client.post("/v1/shipments", json=manifest, headers=auth(key))
        assert response.status_code == 201, response.text
        ids[label] = response.json()["id"]
        expected = "detain" if label in detained else "admit"
        assert response.json()["assessment"]["recommendation"] == expected, label
    return ids


def rescreen_decisions(settings: Settings, shipment_ids: Iterable[str]) -> list[str]:
    """The shipments (among these) of every `rescreen` decision record, sorted."""
    wanted = [uuid.UUID(i) for i in shipment_ids]
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as session:
            found = session.scalars(
                select(Decision.shipment_id).where(
                    Decision.kind == "rescreen", Decision.shipment_id.in_(wanted)
                )
            )
            return sorted(str(i) for i in found)
    finally:
        engine.dispose()


def shipment_count(settings: Settings) -> int:
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return session.scalar(select(func.count()).select_from(Shipment)) or 0
    finally:
        engine.dispose()


def import_uflpa(client: TestClient, key: str, data: bytes, status: int = 201) -> dict[str, Any]:
    response = client.post(
        "/v1/lists/uflpa/import",
        files={"file": ("uflpa_entity_list.csv", data, "text/csv")},
        headers=auth(key),
    )
    assert response.status_code == status, response.text
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


def restore_bundled_uflpa(client: TestClient, admin: str) -> None:
    """Make the bundled file the active UFLPA version and wait for its re-screen."""
    response = client.post(
        "/v1/lists/uflpa/import",
        files={"file": ("uflpa_entity_list.csv", ORIGINAL, "text/csv")},
        headers=auth(admin),
    )
    assert response.status_code in (200, 201), response.text  # 200: already active
    job_id = response.json()["rescreen_job_id"]
    if job_id is not None:
        finished_job(client, admin, job_id)


@pytest.fixture()
def bundled_uflpa(client: TestClient, make_key: Any) -> Iterator[str]:
    """An admin key; the test starts and ends on the bundled UFLPA list, with every
    shipment in the module database assessed against it."""
    admin: str = make_key("admin")
    restore_bundled_uflpa(client, admin)
    yield admin
    restore_bundled_uflpa(client, admin)


def test_list_update_rescreens_exactly_the_affected_shipments(
    client: TestClient,
    make_key: Any,
    settings: Settings,
    receiver: Receiver,
    bundled_uflpa: str,
) -> None:
    acme = make_key("importer", IMPORTER)
    admin = bundled_uflpa
    hook = client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": ["shipment.rescreened"], "secret": "s" * 32},
        headers=auth(acme),
    )
    assert hook.status_code == 201
    try:
        _list_update_rescreens(client, settings, receiver, acme, admin)
    finally:
        # No deliveries to this test's receiver once it is closed.
        disabled = client.delete(f"/v1/webhooks/{hook.json()['id']}", headers=auth(acme))
        assert disabled.status_code == 200, disabled.text


def _list_update_rescreens(
    client: TestClient, settings: Settings, receiver: Receiver, acme: str, admin: str
) -> None:
    manifests = {
        "english": with_supplier("RS-EN", "Huaiyin Jinrui Textile Co Ltd"),
        "chinese": with_supplier("RS-ZH", "淮阴金瑞纺织有限公司"),
        "lookalike": with_supplier("RS-LOOK", "Huaiyin Garment Factory"),
        "unrelated": with_supplier("RS-OTHER", "Dong Nai Spinning JSC", "Dong Nai"),
        "xinjiang": example_manifest(reference="RS-XJ"),
    }
    ids = store_shipments(client, acme, manifests, detained=["xinjiang"])
    affected = sorted([ids["english"], ids["chinese"]])

    imported = import_uflpa(client, admin, uflpa_with(JINRUI_ENTRY))
    job = finished_job(client, admin, imported["rescreen_job_id"])
    assert job["result"]["delta"] == {"added": 1, "changed": 0, "removed": 0}
    assert job["result"]["changed"] == 2
    assert job["progress"]["done"] == job["progress"]["total"]
    assert sorted(job["result"]["changed_shipments"]) == affected

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
    assert rescreen_decisions(settings, ids.values()) == affected

    def events() -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in receiver.requests]

    assert wait_for(lambda: len(events()) >= 2)
    time.sleep(0.3)
    assert sorted(e["data"]["shipment_id"] for e in events()) == affected
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
    removal = import_uflpa(client, admin, ORIGINAL)
    job = finished_job(client, admin, removal["rescreen_job_id"])
    assert job["result"]["delta"] == {"added": 0, "changed": 0, "removed": 1}
    assert job["result"]["changed"] == 2
    assert sorted(job["result"]["changed_shipments"]) == affected
    for label in ("english", "chinese"):
        shipment = client.get(f"/v1/shipments/{ids[label]}", headers=auth(acme)).json()
        assert shipment["assessment"]["sequence"] == 3
        assert shipment["assessment"]["recommendation"] == "admit"
        assert shipment["status"] == "admitted"
    assert rescreen_decisions(settings, ids.values()) == sorted(affected * 2)
    assert wait_for(lambda: len(events()) >= 4)
    time.sleep(0.3)
    assert sorted(e["data"]["shipment_id"] for e in events()) == sorted(affected * 2)


def test_full_rescreen_is_admin_only_and_reports(
    client: TestClient, make_key: Any, settings: Settings, bundled_uflpa: str
) -> None:
    admin = bundled_uflpa
    auditor = make_key("auditor")
    acme = make_key("importer", IMPORTER)
    manifests = {
        "dong-nai": with_supplier("RS-ALL-1", "Dong Nai Spinning JSC", "Dong Nai"),
        "binh-duong": with_supplier("RS-ALL-2", "Binh Duong Knitting Co", "Binh Duong"),
        "ningbo": with_supplier("RS-ALL-3", "Ningbo Harbour Garments Co Ltd", "Ningbo, Zhejiang"),
        "qingdao": with_supplier("RS-ALL-4", "Qingdao Seaside Apparel Co Ltd", "Qingdao"),
        "xinjiang": example_manifest(reference="RS-ALL-XJ"),
    }
    ids = store_shipments(client, acme, manifests, detained=["xinjiang"])
    stored = shipment_count(settings)  # this test's five and any earlier test's
    assert stored >= len(ids)

    assert client.post("/v1/jobs/rescreen", headers=auth(acme)).status_code == 403
    started = client.post("/v1/jobs/rescreen", headers=auth(admin))
    assert started.status_code == 202
    job = finished_job(client, auditor, started.json()["id"])
    # Every stored shipment is re-assessed, and none changes: all were last screened
    # with the current rules and lists.
    assert job["result"]["candidates"] == stored
    assert job["result"]["changed"] == 0
    assert job["result"]["unchanged"] == stored
    assert job["progress"]["done"] == job["progress"]["total"] == stored
    for label, shipment_id in ids.items():
        shipment = client.get(f"/v1/shipments/{shipment_id}", headers=auth(acme)).json()
        assessment = shipment["assessment"]
        assert (assessment["kind"], assessment["sequence"]) == ("initial", 1), label
    assert rescreen_decisions(settings, ids.values()) == []
    assert client.get(f"/v1/jobs/{job['id']}", headers=auth(acme)).status_code == 403
    assert client.get(f"/v1/jobs/{uuid.uuid4()}", headers=auth(admin)).status_code == 404


def test_on_postgresql_a_list_import_rescreen_runs_through_procrastinate(
    client: TestClient, make_key: Any, settings: Settings, bundled_uflpa: str
) -> None:
    if not settings.resolved_database_url.startswith("postgresql"):
        pytest.skip("SQLite runs jobs in-process")
    from app.services.job_backends import ProcrastinateBackend

    assert isinstance(client.app.state.background.jobs, ProcrastinateBackend)  # type: ignore[attr-defined]
    admin = bundled_uflpa
    acme = make_key("importer", IMPORTER)
    manifests = {
        "english": with_supplier("RS-PQ-EN", "Suqian Haoyu Cotton Mill Co Ltd", "Suqian, Jiangsu"),
        "chinese": with_supplier("RS-PQ-ZH", "宿迁浩宇棉纺有限公司", "Suqian, Jiangsu"),
    }
    ids = store_shipments(client, acme, manifests, detained=[])
    imported = import_uflpa(client, admin, uflpa_with(HAOYU_ENTRY))
    job = finished_job(client, admin, imported["rescreen_job_id"])
    assert job["result"]["delta"] == {"added": 1, "changed": 0, "removed": 0}
    assert job["progress"]["total"] >= 2
    assert job["progress"]["done"] == job["progress"]["total"]
    assert job["result"]["changed"] == 2
    assert sorted(job["result"]["changed_shipments"]) == sorted(ids.values())
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
