"""GET /v1/shipments/{id}/map over HTTP: SVG of the latest assessment, tenant-scoped."""

from __future__ import annotations

import threading
import time
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.reports.model import ShipmentReport
from app.services.package_renderer import PackageRenderer
from tests.api.conftest import assert_problem, auth, example_manifest
from tests.api.helpers_cases import pdf, upload
from tests.reports.conftest import needs_dot, needs_pdf

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


def stored_report(settings: Any, shipment_id: str) -> ShipmentReport:
    """The ShipmentReport the service builds from the stored rows, as an auditor sees it."""
    from app.db.session import make_engine, make_sessionmaker
    from app.services.principal import Principal, Role
    from app.services.reports import current_report

    engine = make_engine(settings.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as session:
            auditor = Principal(uuid.UUID(int=0), "test", Role.AUDITOR, frozenset(), frozenset())
            return current_report(session, auditor, uuid.UUID(shipment_id), response_days=30)
    finally:
        engine.dispose()


def test_stored_shipment_adapts_into_a_report(
    settings: Any, keys: dict[str, str], shipment_id: str
) -> None:
    """Rows -> ShipmentReport -> checks, before any rebuttal."""
    from app.services.reports import rebuttal_checks

    report = stored_report(settings, shipment_id)
    assert report.shipment.reference == "MAP-1" and report.shipment.status == "detained"
    assert [d.label for d in report.shipment.dates if d.is_deadline] == [
        "Response due",
        "Deemed excluded if CBP has not decided",
    ]
    assert report.manifest.lines[0].inputs[0].supplier is not None
    assert {f["code"] for f in report.findings} >= {"XUAR_PLACE"}
    assert report.rebuttal is None and report.exhibits == ()
    body = rebuttal_checks(report)
    assert body["failed"] == ["findings_answered", "tracing_records"]


# ---------------------------------------------------------------- a rebuttal's checks and package

YARN = "lines[0].inputs[0]"
RAW = "lines[0].inputs[0].inputs[0]"


@pytest.fixture(scope="module")
def rebuttal(client: TestClient, keys: dict[str, str]) -> dict[str, Any]:
    """An applicability review of the design example with four exhibits, one of them in
    Chinese without a translation; the raw cotton stays without evidence."""
    created = client.post(
        "/v1/shipments", json=example_manifest(reference="PKG-1"), headers=auth(keys["acme"])
    )
    assert created.status_code == 201, created.text
    shipment = created.json()["id"]
    docs = {}
    for tag, name in (("inv", "invoice.pdf"), ("lay", "laydown.pdf"), ("pol", "policy.pdf"),
                      ("cn", "合同.pdf"), ("en", "contract-en.pdf")):  # fmt: skip
        response = upload(client, keys["acme"], pdf(f"report-{tag}"), name=name)
        assert response.status_code == 201, response.text
        docs[tag] = response.json()
    evidence = [
        {"type": "G-06", "title": "Yarn invoices", "covers": [YARN], "document_ids": [docs["inv"]["id"]],
         "issuer": "Aksu Textile Co., Ltd.", "date": "2026-10-01", "language": "en"},
        {"type": "CT-04", "title": "Spinning laydown records", "covers": [f"{YARN}.supplier"],
         "document_ids": [docs["lay"]["id"]], "language": "zh"},
        {"type": "G-01", "title": "Forced labour policy", "covers": ["shipment"],
         "document_ids": [docs["pol"]["id"]]},
        {"type": "G-03", "title": "Supplier contract", "covers": ["lines[0]"],
         "document_ids": [docs["cn"]["id"]], "language": "zh",
         "translation_document_id": docs["en"]["id"]},
    ]  # fmt: skip
    body = {
        "kind": "applicability",
        "narrative": "The yarn was spun outside Xinjiang (Exhibits 1 and 2).",
        "evidence": evidence,
    }
    response = client.post(
        f"/v1/shipments/{shipment}/rebuttals", json=body, headers=auth(keys["acme"])
    )
    assert response.status_code == 201, response.text
    return {"shipment": shipment, "id": response.json()["id"], "docs": docs}


def test_checks_of_a_rebuttal(
    client: TestClient, keys: dict[str, str], rebuttal: dict[str, Any]
) -> None:
    url = f"/v1/shipments/{rebuttal['shipment']}/rebuttals/{rebuttal['id']}/checks"
    response = client.get(url, headers=auth(keys["acme"]))
    assert response.status_code == 200, response.text
    body = response.json()
    checks = {c["id"]: c for c in body["checks"]}
    assert body["passed"] is False
    assert [p["subject"] for p in checks["translations"]["problems"]] == ["Exhibit 2"]
    tracing = {
        (p["subject"], p["message"].split(" (")[0]) for p in checks["tracing_records"]["problems"]
    }
    assert (RAW, "no transaction record") in tracing and (RAW, "no production record") in tracing
    assert (YARN, "no transaction record") not in tracing  # Exhibit 1, G-06
    assert (YARN, "no production record") not in tracing  # Exhibit 2, CT-04 on its supplier
    assert checks["exhibits_referenced"]["passed"]
    assert client.get(url, headers=auth(keys["other"])).status_code == 404
    wrong = f"/v1/shipments/{rebuttal['shipment']}/rebuttals/{uuid.uuid4()}/checks"
    assert_problem(client.get(wrong, headers=auth(keys["acme"])), 404)


@needs_dot
def test_map_after_a_rebuttal_shows_the_evidence(
    client: TestClient, keys: dict[str, str], rebuttal: dict[str, Any]
) -> None:
    response = client.get(f"/v1/shipments/{rebuttal['shipment']}/map", headers=auth(keys["acme"]))
    assert response.status_code == 200
    nodes = node_groups(response.content)
    assert "uncovered" not in (nodes[YARN].get("class") or "").split()
    assert "uncovered" in (nodes[RAW].get("class") or "").split()
    texts = " ".join(t.text or "" for t in ET.fromstring(response.content).iter(f"{SVG}text"))
    assert "Evidence: Ex. 1 G-06, Ex. 2 CT-04" in texts


@needs_pdf
def test_package_pdf_over_http(
    client: TestClient, keys: dict[str, str], rebuttal: dict[str, Any]
) -> None:
    import io

    from pypdf import PdfReader

    url = f"/v1/shipments/{rebuttal['shipment']}/rebuttals/{rebuttal['id']}/package"
    response = client.get(url, headers=auth(keys["acme"]))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert 'filename="PKG-1_rebuttal-package.pdf"' in response.headers["content-disposition"]
    text = " ".join(
        " ".join(
            page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages
        ).split()
    )
    assert "Request for Applicability Review" in text and "Entry PKG-1" in text
    assert rebuttal["docs"]["inv"]["sha256"] in text and "合同.pdf" in text
    assert "Response due" in text
    assert RAW in text and "NO ENGLISH TRANSLATION" in text
    assert_problem(client.get(url, headers=auth(keys["other"])), 404)


@needs_pdf
def test_package_zip_over_http(
    client: TestClient, keys: dict[str, str], rebuttal: dict[str, Any]
) -> None:
    import io
    import zipfile

    url = f"/v1/shipments/{rebuttal['shipment']}/rebuttals/{rebuttal['id']}/package?format=zip"
    response = client.get(url, headers=auth(keys["auditor"]))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = archive.namelist()
        assert names == [
            "PKG-1_rebuttal-package.pdf",
            "Exhibit-01_G-06_yarn-invoices.pdf",
            "Exhibit-02_CT-04_spinning-laydown-records.pdf",
            "Exhibit-03_G-01_forced-labour-policy.pdf",
            "Exhibit-04_G-03_supplier-contract.pdf",
            "Exhibit-04_G-03_supplier-contract_EN-translation.pdf",
            "SHA256SUMS",
        ]
        assert archive.read("Exhibit-01_G-06_yarn-invoices.pdf") == pdf("report-inv")
        assert archive.read(names[0]).startswith(b"%PDF")
    bad = client.get(url.replace("zip", "docx"), headers=auth(keys["acme"]))
    assert_problem(bad, 422)


def slow_package(_report: Any) -> bytes:
    """Stands in for the PDF layout in the renderer process (module-level: it is pickled)."""
    time.sleep(2)
    return b"%PDF-slow"


def no_warm_up() -> None:
    return None


def test_package_downloads_beyond_the_queue_get_503_with_retry_after(
    client: TestClient, keys: dict[str, str], rebuttal: dict[str, Any]
) -> None:
    """One renderer, no queue: while it lays out one package, the next download is
    refused at once with a problem and Retry-After, and served once the renderer is free."""
    app_state = client.app.state  # type: ignore[attr-defined]
    regular = app_state.package_renderer
    app_state.package_renderer = PackageRenderer(
        slow_package, no_warm_up, processes=1, queue=0, timeout=30
    )
    url = f"/v1/shipments/{rebuttal['shipment']}/rebuttals/{rebuttal['id']}/package"
    try:
        first: list[Any] = []
        downloading = threading.Thread(
            target=lambda: first.append(client.get(url, headers=auth(keys["acme"])))
        )
        downloading.start()
        time.sleep(1)
        refused = client.get(url, headers=auth(keys["auditor"]))
        downloading.join()
        served = client.get(url, headers=auth(keys["auditor"]))
    finally:
        app_state.package_renderer.close()
        app_state.package_renderer = regular
    problem = assert_problem(refused, 503)
    assert problem["type"] == "urn:uflpa:problem:service-unavailable"
    assert refused.headers["retry-after"] == "30"
    assert first[0].status_code == 200 and first[0].content == b"%PDF-slow"
    assert served.status_code == 200


def test_an_exception_request_carries_its_condition_review_into_the_package(
    client: TestClient, settings: Any, keys: dict[str, str]
) -> None:
    """The completeness review of the §3(b) conditions, stored with the rebuttal, reaches
    the package: each condition with what is still missing."""
    from app.reports.package_pdf import package_html

    created = client.post(
        "/v1/shipments", json=example_manifest(reference="EXC-1"), headers=auth(keys["acme"])
    )
    assert created.status_code == 201, created.text
    shipment = created.json()["id"]
    document = upload(client, keys["acme"], pdf("exception-policy"), name="policy.pdf").json()
    body = {
        "kind": "exception",
        "narrative": "Short.",
        "evidence": [
            {"type": "G-01", "title": "Forced labour policy", "covers": ["shipment"],
             "document_ids": [document["id"]]},
        ],
    }  # fmt: skip
    response = client.post(
        f"/v1/shipments/{shipment}/rebuttals", json=body, headers=auth(keys["acme"])
    )
    assert response.status_code == 201, response.text
    report = stored_report(settings, shipment)
    assert report.rebuttal is not None and report.rebuttal.kind == "exception"
    conditions = {c.id: c for c in report.rebuttal.conditions}
    assert set(conditions) == {
        "full_compliance_with_guidance",
        "complete_and_substantive_responses",
        "clear_and_convincing_evidence",
    }
    assert all(c.status == "incomplete" for c in conditions.values())
    assert "G-02" in conditions["full_compliance_with_guidance"].missing
    assert "G-01" not in conditions["full_compliance_with_guidance"].missing
    assert any("narrative" in m for m in conditions["complete_and_substantive_responses"].missing)
    html = package_html(report, [])
    assert "id='conditions'" in html and "G-02" in html
