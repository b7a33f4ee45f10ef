"""GET /v1/shipments/{id}/map over HTTP: SVG of the latest assessment, tenant-scoped."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import auth, example_manifest
from tests.api.test_shipments import assert_problem
from tests.reports.conftest import needs_dot

IMPORTER = "Acme Apparel Inc"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def keys(make_key: Any) -> dict[str, str]:
    return {
        "acme": make_key("importer", IMPORTER),
        "other": make_key("importer", "Other Imports LLC"),
        "auditor": make_key("auditor"),
    }


@pytest.fixture(scope="module")
def shipment_id(client: TestClient, keys: dict[str, str]) -> str:
    created = client.post(
        "/v1/shipments", json=example_manifest(reference="MAP-1"), headers=auth(keys["acme"])
    )
    assert created.status_code == 201, created.text
    assert created.json()["assessment"]["recommendation"] == "detain"
    shipment: str = created.json()["id"]
    return shipment


def node_groups(svg: bytes) -> dict[str, ET.Element]:
    out: dict[str, ET.Element] = {}
    for group in ET.fromstring(svg).iter(f"{SVG}g"):
        if "node" in (group.get("class") or "").split():
            title = group.find(f"{SVG}title")
            assert title is not None and title.text is not None
            out[title.text] = group
    return out


@needs_dot
def test_map_is_svg_with_every_node_and_the_findings(
    client: TestClient, keys: dict[str, str], shipment_id: str
) -> None:
    response = client.get(f"/v1/shipments/{shipment_id}/map", headers=auth(keys["acme"]))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    nodes = node_groups(response.content)
    assert set(nodes) == {
        "shipment",
        "lines[0]",
        "lines[0].inputs[0]",
        "lines[0].inputs[0].inputs[0]",
    }
    # The design example: Xinjiang supplier and raw cotton; no rebuttal, so nothing covered.
    for path in ("lines[0].inputs[0]", "lines[0].inputs[0].inputs[0]"):
        classes = (nodes[path].get("class") or "").split()
        assert "category-xinjiang" in classes and "severity-critical" in classes
    assert all("uncovered" in (g.get("class") or "") for p, g in nodes.items() if p != "shipment")
    assert b"Aksu Textile Co., Ltd." in response.content


@needs_dot
def test_auditor_sees_any_importers_map(
    client: TestClient, keys: dict[str, str], shipment_id: str
) -> None:
    response = client.get(f"/v1/shipments/{shipment_id}/map", headers=auth(keys["auditor"]))
    assert response.status_code == 200


def test_another_importer_gets_404(
    client: TestClient, keys: dict[str, str], shipment_id: str
) -> None:
    response = client.get(f"/v1/shipments/{shipment_id}/map", headers=auth(keys["other"]))
    assert_problem(response, 404)
    unknown = client.get(f"/v1/shipments/{uuid.uuid4()}/map", headers=auth(keys["acme"]))
    assert_problem(unknown, 404)


def test_map_needs_a_key_and_a_valid_id(client: TestClient, shipment_id: str) -> None:
    assert_problem(client.get(f"/v1/shipments/{shipment_id}/map"), 401)
    bad = client.get("/v1/shipments/not-a-uuid/map", headers={"Authorization": "Bearer x"})
    assert bad.status_code in (401, 422)


def test_missing_graphviz_is_a_503_problem(
    client: TestClient,
    keys: dict[str, str],
    shipment_id: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` anywhere
    response = client.get(f"/v1/shipments/{shipment_id}/map", headers=auth(keys["acme"]))
    body = assert_problem(response, 503)
    assert body["type"] == "urn:uflpa:problem:renderer-unavailable"
    assert "graphviz" in body["detail"].lower()


def test_stored_shipment_adapts_into_a_report(
    settings: Any, keys: dict[str, str], shipment_id: str
) -> None:
    """The adapter the rebuttal endpoints will use: rows -> ShipmentReport -> checks."""
    from app.db.session import make_engine, make_sessionmaker
    from app.services.principal import Principal, Role
    from app.services.reports import rebuttal_checks, shipment_report
    from app.services.shipments import get_shipment

    engine = make_engine(settings.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as session:
            auditor = Principal(uuid.UUID(int=0), "test", Role.AUDITOR, frozenset(), frozenset())
            report = shipment_report(get_shipment(session, auditor, uuid.UUID(shipment_id)))
    finally:
        engine.dispose()
    assert report.shipment.reference == "MAP-1" and report.shipment.status == "detained"
    assert report.manifest.lines[0].inputs[0].supplier is not None
    assert {f["code"] for f in report.findings} >= {"XUAR_PLACE"}
    body = rebuttal_checks(report)
    assert body["failed"] == ["findings_answered", "tracing_records"]
