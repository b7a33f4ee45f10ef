"""Batches and CSV imports: one result per item, bad items do not sink good ones."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.db.bulk import insert_rows
from app.db.models import (
    Assessment,
    AssessmentCitation,
    Decision,
    Shipment,
    ShipmentInput,
    ShipmentLine,
    ShipmentParty,
)
from app.db.session import make_engine, make_sessionmaker
from app.services import batch, decision_log
from app.services.decision_log import verify_chain
from app.services.shipment_rows import NewShipment
from app.settings import Settings
from tests.api.conftest import auth, example_manifest

IMPORTER = "Acme Apparel Inc"
SAMPLE_CSV = Path(__file__).resolve().parents[2] / "fixtures" / "csv" / "sample_shipments.csv"


@pytest.fixture(scope="module")
def keys(make_key: Any) -> dict[str, str]:
    return {
        "acme": make_key("importer", IMPORTER),
        "broker": make_key("broker", IMPORTER, "Third Co"),
        "auditor": make_key("auditor"),
    }


def count(settings: Settings, model: Any, **where: Any) -> int:
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as session:
            query = select(func.count()).select_from(model)
            for name, value in where.items():
                query = query.where(getattr(model, name) == value)
            return session.scalar(query) or 0
    finally:
        engine.dispose()


def clean_manifest(reference: str) -> dict[str, Any]:
    manifest = example_manifest(reference=reference)
    manifest["lines"][0]["inputs"][0]["supplier"] = {
        "name": "Dong Nai Spinning JSC",
        "address": "Nhon Trach Industrial Park, Dong Nai",
        "country": "VN",
    }
    manifest["lines"][0]["inputs"][0]["country_of_origin"] = "VN"
    manifest["lines"][0]["inputs"][0]["inputs"] = []
    return manifest


def test_thousand_items_ten_invalid(
    client: TestClient, keys: dict[str, str], settings: Settings
) -> None:
    bad_positions = {3, 97, 150, 333, 420, 512, 640, 777, 901, 999}
    items: list[Any] = []
    for i in range(1000):
        manifest = clean_manifest(f"BATCH-{i:04d}")
        if i in bad_positions:
            manifest["lines"][0]["hts_code"] = "12"  # too short to be an HTS code
        items.append(manifest)
    items[512] = "not a manifest"  # a non-object item is one more invalid item
    before = count(settings, Shipment)
    response = client.post(
        "/v1/shipments/batch", json={"shipments": items}, headers=auth(keys["acme"])
    )
    assert response.status_code == 200, response.text[:500]
    body = response.json()
    results = body["results"]
    assert [r["index"] for r in results] == list(range(1000))
    failed = [r for r in results if r["status"] != 201]
    assert {r["index"] for r in failed} == bad_positions
    for r in failed:
        assert r["status"] == 422
        problem = r["problem"]
        assert problem["type"] == "urn:uflpa:problem:validation-error"
        assert problem["errors"] and all(e["field"] and e["reason"] for e in problem["errors"])
    assert any(e["field"] == "lines[0].hts_code" for e in results[3]["problem"]["errors"])
    assert body["summary"] == {"total": 1000, "created": 990, "unchanged": 0, "failed": 10}
    ok = results[0]["shipment"]
    assert ok["reference"] == "BATCH-0000" and ok["assessment"]["recommendation"] in (
        "admit",
        "detain",
    )
    assert count(settings, Shipment) - before == 990


def test_per_item_idempotency_and_tenancy(
    client: TestClient, keys: dict[str, str], settings: Settings
) -> None:
    first = clean_manifest("IDEM-B-1")
    changed = copy.deepcopy(first)
    changed["lines"][0]["quantity"] = 999
    other_tenant = clean_manifest("IDEM-B-2") | {"importer": "Someone Else Ltd"}
    response = client.post(
        "/v1/shipments/batch",
        json={"shipments": [first, first, changed, other_tenant]},
        headers=auth(keys["acme"]),
    )
    assert response.status_code == 200
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == [201, 200, 409, 403]
    results = response.json()["results"]
    assert results[0]["shipment"]["id"] == results[1]["shipment"]["id"]
    assert results[2]["problem"]["type"] == "urn:uflpa:problem:idempotency-conflict"
    assert count(settings, Shipment, reference="IDEM-B-2") == 0
    # The single endpoint agrees with the batch about what is stored.
    single = client.post("/v1/shipments", json=first, headers=auth(keys["acme"]))
    assert single.status_code == 200 and single.json()["id"] == results[0]["shipment"]["id"]


def test_an_item_that_cannot_be_stored_fails_alone(
    client: TestClient, keys: dict[str, str], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk fails to write, so it is written item by item; the one item that cannot be
    written even alone answers 503 on its own, nothing of it is stored, and the batch goes
    on. Resending the same batch stores it; the others answer 200."""
    bad = "SPLIT-BAD"
    references = ["SPLIT-0", "SPLIT-1", bad, "SPLIT-3", "SPLIT-4"]
    real_write = batch.write_new_shipments
    calls: list[list[str]] = []
    refused: set[uuid.UUID] = set()
    broken = True

    def write(session: Session, news: Sequence[NewShipment]) -> list[bool]:
        batch_references = [new.shipment.reference for new in news]
        calls.append(batch_references)
        if not broken or bad not in batch_references:
            return real_write(session, news)
        refused.update(new.shipment.id for new in news if new.shipment.reference == bad)

        # Every row is written, then the commit fails (as on a lost connection): the
        # whole transaction must go. On PostgreSQL the COMMIT travels with the decision
        # records (insert_rows_and_commit); elsewhere it is the session's.
        def refuse() -> None:
            raise DBAPIError("COMMIT", None, RuntimeError("simulated commit failure"))

        def insert_then_refuse(connection: Any, table: Any, rows: Any) -> None:
            insert_rows(connection, table, rows)
            refuse()

        session.commit = refuse  # type: ignore[method-assign]
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(decision_log, "insert_rows_and_commit", insert_then_refuse)
            try:
                return real_write(session, news)
            finally:
                del session.commit

    monkeypatch.setattr(batch, "write_new_shipments", write)
    monkeypatch.setattr(batch, "CHUNK_SIZE", 2)  # chunks: [0, 1], [2, 3], [4]

    def send() -> dict[str, Any]:
        response = client.post(
            "/v1/shipments/batch",
            json={"shipments": [clean_manifest(r) for r in references]},
            headers=auth(keys["acme"]),
        )
        assert response.status_code == 200, response.text[:500]
        body: dict[str, Any] = response.json()
        return body

    body = send()
    results = body["results"]
    assert [r["status"] for r in results] == [201, 201, 503, 201, 201]
    assert calls == [
        ["SPLIT-0", "SPLIT-1"],
        [bad, "SPLIT-3"],  # fails: split
        [bad],  # fails again: a 503 for this item only
        ["SPLIT-3"],
        ["SPLIT-4"],  # the batch went on
    ]
    assert body["summary"] == {"total": 5, "created": 4, "unchanged": 0, "failed": 1}
    problem = results[2]["problem"]
    assert problem["type"] == "urn:uflpa:problem:service-unavailable"
    assert problem["status"] == 503 and problem["title"]
    assert problem["detail"] == batch.NOT_STORED
    assert "shipment" not in results[2]

    for result in results[:2] + results[3:]:
        shipment = result["shipment"]
        assert shipment["assessment"]["recommendation"] == "admit"
        shipment_id = uuid.UUID(shipment["id"])
        assert count(settings, Shipment, id=shipment_id) == 1
        assert count(settings, Assessment, shipment_id=shipment_id) == 1
        assert count(settings, Decision, shipment_id=shipment_id, kind="assessment") == 1
    assert count(settings, Shipment, reference=bad) == 0
    assert len(refused) == 1  # the chunk and the single attempt wrote the same shipment
    for model in (
        Shipment,
        ShipmentLine,
        ShipmentParty,
        ShipmentInput,
        Assessment,
        AssessmentCitation,
        Decision,
    ):
        key = "id" if model is Shipment else "shipment_id"
        assert count(settings, model, **{key: next(iter(refused))}) == 0, model.__name__
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as session:
            assert verify_chain(session).intact
    finally:
        engine.dispose()

    # What the detail promises: the same batch again stores the item; the rest are resends.
    broken = False
    again = send()
    assert [r["status"] for r in again["results"]] == [200, 200, 201, 200, 200]
    assert again["summary"] == {"total": 5, "created": 1, "unchanged": 4, "failed": 0}
    assert count(settings, Shipment, reference=bad) == 1
    stored = {r["shipment"]["reference"]: r["shipment"]["id"] for r in results if "shipment" in r}
    for result in again["results"]:
        reference = result["shipment"]["reference"]
        if reference != bad:
            assert result["shipment"]["id"] == stored[reference]


def test_batch_body_shape_and_limits(client: TestClient, keys: dict[str, str]) -> None:
    headers = auth(keys["acme"])
    assert (
        client.post("/v1/shipments/batch", json={"shipments": []}, headers=headers).status_code
        == 422
    )
    too_many = {"shipments": [{}] * 1001}
    response = client.post("/v1/shipments/batch", json=too_many, headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.post("/v1/shipments/batch", json={"shipments": [{}]}).status_code == 401
    reviewer_free = client.post(
        "/v1/shipments/batch",
        json={"shipments": [clean_manifest("AUD-1")]},
        headers=auth(keys["auditor"]),
    )
    assert reviewer_free.status_code == 200
    assert reviewer_free.json()["results"][0]["status"] == 403


def test_batch_route_has_its_own_body_cap(settings: Settings, make_key: Any) -> None:
    from app.main import create_app

    small = settings.model_copy(update={"max_body_bytes": 8192, "max_batch_body_bytes": 200_000})
    with TestClient(create_app(small), raise_server_exceptions=False) as small_client:
        headers = auth(make_key("importer", IMPORTER))
        items = [clean_manifest(f"CAP-B-{i}") for i in range(20)]  # ~20 KB: over the single cap
        single = clean_manifest("CAP-1")
        single["lines"][0]["description"] = "x" * 1999
        single["parties"] = [{"name": "y" * 200}] * 40  # ~10 KB
        assert small_client.post("/v1/shipments", json=single, headers=headers).status_code == 413
        response = small_client.post(
            "/v1/shipments/batch", json={"shipments": items}, headers=headers
        )
        assert response.status_code == 200
        assert response.json()["summary"]["created"] == 20
        huge = {"shipments": [clean_manifest(f"CAP-H-{i}") for i in range(250)]}
        for manifest in huge["shipments"]:
            manifest["lines"][0]["description"] = "z" * 1000  # 250 x ~1.7 KB: over 200 KB
        refused = small_client.post("/v1/shipments/batch", json=huge, headers=headers)
        assert refused.status_code == 413


# --- CSV -------------------------------------------------------------------------------


def upload(client: TestClient, key: str, data: bytes, name: str = "shipments.csv") -> Any:
    return client.post(
        "/v1/shipments/import", files={"file": (name, data, "text/csv")}, headers=auth(key)
    )


def test_sample_csv_imports_as_the_json_manifests(client: TestClient, keys: dict[str, str]) -> None:
    response = upload(client, keys["acme"], SAMPLE_CSV.read_bytes())
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["reference"], r["status"], r["rows"]) for r in results] == [
        ("ENTRY-2026-000123", 201, [2, 5]),
        ("ENTRY-2026-000901", 201, [6, 7]),
    ]
    design = results[0]["shipment"]
    assert design["assessment"]["recommendation"] == "detain"
    assert design["manifest"]["lines"][0]["inputs"][0]["inputs"][0]["region"] == "Aksu Prefecture"
    # The CSV spelling of the design example is the same manifest: JSON resend is a 200.
    resend = client.post("/v1/shipments", json=example_manifest(), headers=auth(keys["acme"]))
    assert resend.status_code == 200
    assert resend.json()["id"] == design["id"]
    again = upload(client, keys["acme"], SAMPLE_CSV.read_bytes())
    assert [r["status"] for r in again.json()["results"]] == [200, 200]


HEADER = (
    "reference,importer,line_number,hts_code,description,quantity,input_path,material,"
    "input_hts_code,supplier_name,supplier_country\n"
)


def test_csv_broken_rows_are_named(
    client: TestClient, keys: dict[str, str], settings: Settings
) -> None:
    data = (
        HEADER
        + f"CSV-OK,{IMPORTER},1,6109.10.0012,T-shirts,100,,,,,\n"  # row 2
        + f"CSV-BAD,{IMPORTER},1,6109.10.0012,T-shirts,lots,,,,,\n"  # row 3: quantity
        + f"CSV-BAD,{IMPORTER},1,,,,1,cotton yarn,5205.12,Some Mill,CN\n"  # row 4: fine
        + f"CSV-BAD,{IMPORTER},1,,,,2.1,raw cotton,5201.00,,\n"  # row 5: no parent 2
        + f"CSV-HTS,{IMPORTER},1,12,T-shirts,5,,,,,\n"  # row 6: hts too short
        + ",,,,,,,,,,\n"  # row 7: blank, skipped
        + f",{IMPORTER},1,6109.10.0012,T-shirts,5,,,,,\n"  # row 8: no reference
        + f"CSV-CONFLICT,{IMPORTER},1,6109.10.0012,T-shirts,5,,,,,\n"  # row 9
        + "CSV-CONFLICT,Other Importer,1,,,,,,,,\n"  # row 10: importer differs
    ).encode()
    before = count(settings, Shipment)
    response = upload(client, keys["acme"], data)
    assert response.status_code == 200, response.text
    results = {r["reference"]: r for r in response.json()["results"]}
    assert results["CSV-OK"]["status"] == 201
    bad = results["CSV-BAD"]["problem"]["errors"]
    assert {"row": 3, "field": "quantity", "reason": "'lots' is not a number"} in bad
    assert any(
        e["row"] == 5 and e["field"] == "input_path" and "parent" in e["reason"] for e in bad
    )
    hts = results["CSV-HTS"]
    assert hts["status"] == 422
    assert [(e["row"], e["field"]) for e in hts["problem"]["errors"]] == [(6, "hts_code")]
    assert results[None]["problem"]["errors"] == [
        {"row": 8, "field": "reference", "reason": "required"}
    ]
    conflict = results["CSV-CONFLICT"]["problem"]["errors"]
    assert conflict[0]["row"] == 10 and conflict[0]["field"] == "importer"
    assert "row 9" in conflict[0]["reason"]
    assert count(settings, Shipment) - before == 1


def test_csv_errors_in_deep_inputs_point_at_their_row(
    client: TestClient, keys: dict[str, str]
) -> None:
    data = (
        HEADER
        + f"CSV-DEEP,{IMPORTER},1,6109.10.0012,T-shirts,100,,,,,\n"
        + f"CSV-DEEP,{IMPORTER},1,,,,1,cotton yarn,5205.12,Mill,CN\n"
        + f"CSV-DEEP,{IMPORTER},1,,,,1.1,raw cotton,52,,\n"  # row 4: bad input HTS
        + f"CSV-DEEP,{IMPORTER},1,,,,1.2,raw cotton,5201.00,Gin,ZZZ\n"  # row 5: bad country
    ).encode()
    response = upload(client, keys["acme"], data)
    errors = response.json()["results"][0]["problem"]["errors"]
    located = {(e["row"], e["field"]) for e in errors}
    assert (4, "input_hts_code") in located
    assert (5, "supplier_country") in located


def test_csv_file_level_problems(
    client: TestClient, keys: dict[str, str], settings: Settings
) -> None:
    before = count(settings, Shipment)
    bad_header = upload(client, keys["acme"], b"reference,importer,colour\nX,Y,red\n")
    assert bad_header.status_code == 422
    fields = {e["field"]: e["reason"] for e in bad_header.json()["errors"]}
    assert fields["colour"] == "unknown column" and fields["hts_code"] == "required column missing"
    assert all(e["row"] == 1 for e in bad_header.json()["errors"])
    assert upload(client, keys["acme"], b"").status_code == 422
    assert upload(client, keys["acme"], HEADER.encode()).status_code == 422
    latin1 = (HEADER + f"CSV-L1,{IMPORTER},1,6109.10.0012,Caf\xe9 shirts,1,,,,,\n").encode(
        "latin-1"
    )
    assert upload(client, keys["acme"], latin1).status_code == 422
    assert count(settings, Shipment) == before
