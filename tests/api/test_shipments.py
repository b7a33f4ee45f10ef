"""Shipment intake over HTTP: auth, tenancy, idempotency, strict validation, no partial writes."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.api.routes.shipments import INLINE_BODY_BYTES
from app.db.models import Assessment, Decision, Shipment, ShipmentInput, ShipmentLine, ShipmentParty
from app.db.session import make_engine, make_sessionmaker
from app.settings import Settings
from tests.api.conftest import assert_problem, auth, example_manifest

IMPORTER = "Acme Apparel Inc"


@pytest.fixture(scope="module")
def keys(make_key: Any) -> dict[str, str]:
    return {
        "acme": make_key("importer", IMPORTER),
        "other": make_key("importer", "Other Imports LLC"),
        "broker": make_key("broker", IMPORTER, "Third Co"),
        "broker_other": make_key("broker", "Third Co"),
        "auditor": make_key("auditor"),
        "reviewer": make_key("reviewer"),
    }


def row_counts(settings: Settings) -> dict[str, int]:
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return {
                model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (
                    Shipment,
                    ShipmentLine,
                    ShipmentParty,
                    ShipmentInput,
                    Assessment,
                    Decision,
                )
            }
    finally:
        engine.dispose()


def test_submit_read_back_and_idempotency(client: TestClient, keys: dict[str, str]) -> None:
    manifest = example_manifest(reference="IDEM-1")
    created = client.post("/v1/shipments", json=manifest, headers=auth(keys["acme"]))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["reference"] == "IDEM-1" and body["importer"] == IMPORTER
    assert body["manifest"]["lines"][0]["hts_code"] == "6109100012"  # normalised to digits
    assessment = body["assessment"]
    assert assessment["recommendation"] in ("admit", "detain")
    assert assessment["rules_version"].startswith("sha256:")
    for key in (
        "risk_score",
        "risk_level",
        "presumption",
        "sanctions",
        "findings",
        "required_evidence",
        "lists_version",
        "matcher_version",
        "assessed_at",
    ):
        assert key in assessment

    read = client.get(f"/v1/shipments/{body['id']}", headers=auth(keys["acme"]))
    assert read.status_code == 200
    assert read.json()["manifest"] == body["manifest"]

    again = client.post("/v1/shipments", json=manifest, headers=auth(keys["acme"]))
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]

    changed = copy.deepcopy(manifest)
    changed["lines"][0]["quantity"] = 1300
    conflict = assert_problem(
        client.post("/v1/shipments", json=changed, headers=auth(keys["acme"])), 409
    )
    assert conflict["shipment_id"] == body["id"]


def test_other_tenants_get_404_and_privileged_roles_see_all(
    client: TestClient, keys: dict[str, str]
) -> None:
    created = client.post(
        "/v1/shipments", json=example_manifest(reference="TENANT-1"), headers=auth(keys["acme"])
    )
    shipment_id = created.json()["id"]
    assert_problem(client.get(f"/v1/shipments/{shipment_id}", headers=auth(keys["other"])), 404)
    assert_problem(
        client.get(f"/v1/shipments/{shipment_id}", headers=auth(keys["broker_other"])), 404
    )
    listed = client.get(
        "/v1/shipments", headers=auth(keys["other"]), params={"reference": "TENANT-1"}
    )
    assert listed.json()["items"] == []
    for role in ("broker", "auditor", "reviewer"):
        assert (
            client.get(f"/v1/shipments/{shipment_id}", headers=auth(keys[role])).status_code == 200
        )


def test_broker_must_name_one_of_its_importers(client: TestClient, keys: dict[str, str]) -> None:
    ok = client.post(
        "/v1/shipments", json=example_manifest(reference="BRK-1"), headers=auth(keys["broker"])
    )
    assert ok.status_code == 201
    refused = client.post(
        "/v1/shipments",
        json=example_manifest(reference="BRK-2", importer="Stranger Ltd"),
        headers=auth(keys["broker"]),
    )
    assert assert_problem(refused, 403)["errors"][0]["field"] == "importer"
    assert_problem(
        client.post(
            "/v1/shipments", json=example_manifest(reference="AUD-1"), headers=auth(keys["auditor"])
        ),
        403,
    )


def test_missing_wrong_and_revoked_keys_get_401(
    client: TestClient, keys: dict[str, str], make_key: Any, settings: Settings
) -> None:
    assert_problem(client.get("/v1/shipments"), 401)
    assert_problem(client.get("/v1/shipments", headers=auth("uflpa_000000000000_nope")), 401)
    assert_problem(client.get("/v1/shipments", headers={"Authorization": "Basic abc"}), 401)
    wrong_secret = keys["acme"].rsplit("_", 1)[0] + "_wrongsecret"
    assert_problem(client.get("/v1/shipments", headers=auth(wrong_secret)), 401)

    from app.services import keys as key_service

    doomed = make_key("importer", IMPORTER)
    assert client.get("/v1/shipments", headers=auth(doomed)).status_code == 200
    engine = make_engine(settings.resolved_database_url)
    with make_sessionmaker(engine)() as session:
        key_service.revoke_key(session, doomed.rsplit("_", 1)[0])
    engine.dispose()
    # A worker trusts a key that just authenticated for `key_cache_seconds` (default 1 s):
    # the revocation takes effect once that has passed, without any restart.
    time.sleep(settings.key_cache_seconds + 0.05)
    assert_problem(client.get("/v1/shipments", headers=auth(doomed)), 401)


def _deep_inputs(tiers: int) -> list[dict[str, Any]]:
    node: dict[str, Any] = {"material": "fibre"}
    for _ in range(tiers - 1):
        node = {"material": "fibre", "inputs": [node]}
    return [node]


def _malformed() -> list[tuple[str, Any, str | None]]:
    base = example_manifest(reference="BAD-1")
    cases: list[tuple[str, Any, str | None]] = []

    def variant(name: str, mutate: Any, field: str | None) -> None:
        m = copy.deepcopy(base)
        mutate(m)
        cases.append((name, m, field))

    variant("bad hts", lambda m: m["lines"][0].update(hts_code="61A9"), "lines[0].hts_code")
    variant("short hts", lambda m: m["lines"][0].update(hts_code="610"), "lines[0].hts_code")
    variant("bad country", lambda m: m.update(country_of_origin="XX"), "country_of_origin")
    variant(
        "bad input country",
        lambda m: m["lines"][0]["inputs"][0].update(country_of_origin="China"),
        "lines[0].inputs[0].country_of_origin",
    )
    variant("negative value", lambda m: m["lines"][0].update(value=-5), "lines[0].value")
    variant("zero quantity", lambda m: m["lines"][0].update(quantity=0), "lines[0].quantity")
    variant("bad currency", lambda m: m["lines"][0].update(currency="USDX"), "lines[0].currency")
    variant(
        "duplicate line numbers", lambda m: m["lines"].append(copy.deepcopy(m["lines"][0])), None
    )
    variant("12 tiers", lambda m: m["lines"][0].update(inputs=_deep_inputs(12)), None)
    variant(
        "quantity as string", lambda m: m["lines"][0].update(quantity="12"), "lines[0].quantity"
    )
    variant(
        "line number as float",
        lambda m: m["lines"][0].update(line_number=1.5),
        "lines[0].line_number",
    )
    variant("lines not a list", lambda m: m.update(lines={"a": 1}), "lines")
    variant("no lines", lambda m: m.update(lines=[]), "lines")
    variant("unknown field", lambda m: m.update(surprise=True), "surprise")
    variant("missing reference", lambda m: m.pop("reference"), "reference")
    variant(
        "too many lines",
        lambda m: m.update(lines=[dict(m["lines"][0], line_number=i) for i in range(1, 1001)]),
        "lines",
    )
    variant("party without name", lambda m: m["parties"][0].pop("name"), "parties[0].name")
    variant("bad date", lambda m: m.update(entry_date="2026-13-45"), "entry_date")
    cases.append(("array body", [1, 2], None))
    cases.append(("null body", None, None))
    return cases


@pytest.mark.parametrize("name,body,field", _malformed(), ids=[c[0] for c in _malformed()])
def test_malformed_manifests_are_refused_and_write_nothing(
    client: TestClient,
    keys: dict[str, str],
    settings: Settings,
    name: str,
    body: Any,
    field: str | None,
) -> None:
    before = row_counts(settings)
    problem = assert_problem(
        client.post("/v1/shipments", json=body, headers=auth(keys["acme"])), 422
    )
    if field is not None:
        assert field in [e["field"] for e in problem["errors"]], problem
    assert row_counts(settings) == before


@pytest.mark.parametrize(
    "content,content_type,status",
    [
        (b"", "application/json", 422),
        (b"{not json", "application/json", 400),
        (b"\xff\xfe\x00", "application/json", 400),
        (b"reference=x", "application/x-www-form-urlencoded", 422),
        (b"[" * 100_000, "application/json", 400),
    ],
    ids=["empty", "not json", "binary", "form", "deeply nested"],
)
def test_unparseable_bodies_are_4xx_problems(
    client: TestClient, keys: dict[str, str], content: bytes, content_type: str, status: int
) -> None:
    response = client.post(
        "/v1/shipments",
        content=content,
        headers={**auth(keys["acme"]), "Content-Type": content_type},
    )
    assert_problem(response, status)


def test_twenty_megabyte_body_is_refused_with_413(
    client: TestClient, keys: dict[str, str], settings: Settings
) -> None:
    before = row_counts(settings)
    manifest = example_manifest(reference="HUGE-1")
    manifest["lines"][0]["description"] = "x" * (20 * 1024 * 1024)
    response = client.post(
        "/v1/shipments",
        content=json.dumps(manifest),
        headers={**auth(keys["acme"]), "Content-Type": "application/json"},
    )
    assert_problem(response, 413)
    assert row_counts(settings) == before


def test_normalised_rows_are_stored(
    client: TestClient, keys: dict[str, str], settings: Settings
) -> None:
    before = row_counts(settings)
    response = client.post(
        "/v1/shipments", json=example_manifest(reference="ROWS-1"), headers=auth(keys["acme"])
    )
    assert response.status_code == 201
    after = row_counts(settings)
    assert after["shipments"] == before["shipments"] + 1
    assert after["shipment_lines"] == before["shipment_lines"] + 1
    assert (
        after["shipment_parties"] == before["shipment_parties"] + 3
    )  # 2 shipment parties + 1 supplier
    assert after["shipment_inputs"] == before["shipment_inputs"] + 2  # yarn and raw cotton
    assert after["assessments"] == before["assessments"] + 1
    assert after["decisions"] == before["decisions"] + 1


def test_list_filters_and_cursor_pagination(client: TestClient, make_key: Any) -> None:
    key = make_key("importer", "Paging Importer")
    ids = []
    for i in range(5):
        r = client.post(
            "/v1/shipments",
            json=example_manifest(reference=f"PAGE-{i}", importer="Paging Importer"),
            headers=auth(key),
        )
        ids.append(r.json()["id"])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/shipments", params=params, headers=auth(key)).json()
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    status = client.get(f"/v1/shipments/{ids[0]}", headers=auth(key)).json()["status"]
    filtered = client.get("/v1/shipments", params={"status": status}, headers=auth(key)).json()[
        "items"
    ]
    assert ids[0] in [i["id"] for i in filtered]
    assert_problem(client.get("/v1/shipments", params={"cursor": "!!!"}, headers=auth(key)), 422)
    assert_problem(client.get("/v1/shipments", params={"limit": 0}, headers=auth(key)), 422)
    assert_problem(
        client.get("/v1/shipments", params={"since": "yesterday"}, headers=auth(key)), 422
    )
    # the item route only matches a UUID, so a malformed id is simply not found
    assert_problem(client.get("/v1/shipments/not-a-uuid", headers=auth(key)), 404)


def test_assess_does_not_store(
    client: TestClient, keys: dict[str, str], settings: Settings
) -> None:
    before = row_counts(settings)
    response = client.post(
        "/v1/assess", json=example_manifest(reference="WHATIF-1"), headers=auth(keys["acme"])
    )
    assert response.status_code == 200
    assert response.json()["recommendation"] in ("admit", "detain")
    assert row_counts(settings) == before


def test_operations_endpoints(client: TestClient, keys: dict[str, str]) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["migrations"] == "ok"
    client.get("/v1/shipments", headers=auth(keys["acme"]))
    metrics = client.get("/metrics").text
    assert 'uflpa_http_requests_total{method="GET",route="/v1/shipments",status="200"}' in metrics
    assert "uflpa_http_request_duration_seconds_bucket" in metrics
    assert_problem(client.get("/no/such/route"), 404)
    assert_problem(client.delete("/healthz"), 405)
    assert client.get("/openapi.json").status_code == 200


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


def test_group_commit_sizes_are_exported(client: TestClient, keys: dict[str, str]) -> None:
    before = _metric(client.get("/metrics").text, "uflpa_group_commit_shipments_count")
    for n in range(3):
        response = client.post(
            "/v1/shipments",
            json=example_manifest(reference=f"GROUP-{n}"),
            headers=auth(keys["acme"]),
        )
        assert response.status_code == 201
    text = client.get("/metrics").text
    # Sequential requests: each forms its own group of one.
    assert _metric(text, "uflpa_group_commit_shipments_count") == before + 3
    assert _metric(text, "uflpa_group_commit_retries_total") == 0


def test_unknown_query_parameters_are_refused(client: TestClient, keys: dict[str, str]) -> None:
    problem = assert_problem(
        client.get("/v1/shipments", params={"stauts": "detained"}, headers=auth(keys["acme"])), 422
    )
    assert problem["errors"] == [{"field": "stauts", "reason": "unknown query parameter"}]
    assert_problem(
        client.get("/v1/shipments", params={"since": "0.5"}, headers=auth(keys["acme"])), 422
    )


def test_405_lists_every_method_of_the_path(client: TestClient) -> None:
    response = client.delete("/v1/shipments")
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET, POST"


def test_chunked_and_large_manifests_take_the_thread_path_with_the_same_answers(
    client: TestClient, keys: dict[str, str], settings: Settings
) -> None:
    """Small manifests with a Content-Length are handled on the event loop; a chunked body
    (no length) or one over INLINE_BODY_BYTES goes to the thread pool. Both paths answer
    alike: 201, 200 for a resend, 409 for the reference with another body, 422 for a bad
    manifest with nothing written."""

    def chunked(body: dict[str, Any]) -> Any:
        data = json.dumps(body).encode()
        return client.post(
            "/v1/shipments",
            content=iter([data[:100], data[100:]]),  # an iterator: sent chunked, no length
            headers={**auth(keys["acme"]), "Content-Type": "application/json"},
        )

    small = example_manifest(reference="CHUNKED-1")
    first = chunked(small)
    assert first.status_code == 201, first.text
    assert "content-length" not in {k.lower() for k in first.request.headers}
    resend = chunked(small)
    assert resend.status_code == 200 and resend.json()["id"] == first.json()["id"]
    changed = copy.deepcopy(small)
    changed["lines"][0]["description"] = "something else"
    assert_problem(chunked(changed), 409)
    before = row_counts(settings)
    bad = copy.deepcopy(small)
    bad["reference"] = "CHUNKED-2"
    bad["lines"] = []
    assert_problem(chunked(bad), 422)
    assert row_counts(settings) == before

    large = example_manifest(reference="LARGE-1")
    line = large["lines"][0]
    large["lines"] = [
        {**copy.deepcopy(line), "line_number": n + 1, "description": f"Line {n + 1} " + "x" * 280}
        for n in range(200)
    ]
    assert len(json.dumps(large)) > INLINE_BODY_BYTES
    created = client.post("/v1/shipments", json=large, headers=auth(keys["acme"]))
    assert created.status_code == 201, created.text
    assert len(created.json()["manifest"]["lines"]) == 200
    again = client.post("/v1/shipments", json=large, headers=auth(keys["acme"]))
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
