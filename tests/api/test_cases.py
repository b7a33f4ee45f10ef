"""The detention case over HTTP, start to finish, with the bundled lists loaded."""

from __future__ import annotations

import copy
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.db.session import make_engine, make_sessionmaker
from app.domain.case import DeterminationOutcome
from app.domain.rebuttal import RebuttalKind
from app.errors import AppError
from app.services import cases as case_service
from app.services.keys import authenticate
from app.settings import Settings
from tests.api.conftest import assert_problem, auth, example_manifest
from tests.api.helpers_cases import counts, pdf, upload

LOAD_LISTS = True
ACME = "Acme Apparel Inc"
OTHER = "Other Imports LLC"
MANUFACTURER = "lines[0].manufacturer"


def today() -> str:
    return datetime.now(UTC).date().isoformat()


@pytest.fixture(scope="module")
def keys(make_key: Any) -> dict[str, str]:
    return {
        "acme": make_key("importer", ACME),
        "other": make_key("importer", OTHER),
        "broker": make_key("broker", ACME),
        "auditor": make_key("auditor"),
        "reviewer": make_key("reviewer"),
        "admin": make_key("admin"),
    }


def possible_match_manifest(reference: str) -> dict[str, Any]:
    """China-origin cotton T-shirts whose maker's name is near a listed entity (Nanjing
    Synergy Textiles): possible match 35 + high-priority sector 20 + China 25 = detain."""
    return {
        "reference": reference,
        "importer": ACME,
        "entry_date": today(),
        "country_of_origin": "CN",
        "lines": [
            {
                "line_number": 1,
                "hts_code": "6109.10.0012",
                "description": "Men's cotton knit T-shirts",
                "country_of_origin": "CN",
                "manufacturer": {
                    "name": "Nanjing Synergy Apparel Co., Ltd.",
                    "address": "88 Jiangdong Road, Nanjing, Jiangsu",
                    "country": "CN",
                },
                "inputs": [
                    {
                        "material": "cotton yarn",
                        "hts_code": "5205.12",
                        "country_of_origin": "US",
                        "supplier": {"name": "Carolina Yarns LLC", "country": "US"},
                    }
                ],
            }
        ],
    }


def submit(client: TestClient, key: str, manifest: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/shipments", json=manifest, headers=auth(key))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def evidence(
    type_: str, covers: list[str], document_ids: list[str], **extra: Any
) -> dict[str, Any]:
    return {
        "type": type_,
        "title": f"{type_} evidence",
        "issuer": "Issuer",
        "date": "2026-10-01",
        "covers": covers,
        "document_ids": document_ids,
        **extra,
    }


def rebut(
    client: TestClient,
    key: str,
    shipment_id: str,
    kind: str,
    items: list[dict[str, Any]],
    **extra: Any,
) -> Any:
    body = {"kind": kind, "narrative": "The goods have no XUAR nexus.", "evidence": items, **extra}
    return client.post(f"/v1/shipments/{shipment_id}/rebuttals", json=body, headers=auth(key))


def finding_statuses(review: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(f["code"], f["path"]): f["status"] for f in review["findings"]}


def test_possible_match_cleared_by_licence_then_released(
    client: TestClient, keys: dict[str, str]
) -> None:
    shipment = submit(client, keys["acme"], possible_match_manifest("CASE-POSSIBLE-1"))
    assert shipment["status"] == "detained"
    codes = {(f["code"], f["path"]) for f in shipment["assessment"]["findings"]}
    assert ("ENTITY_LIST_POSSIBLE_MATCH", MANUFACTURER) in codes
    assert not shipment["assessment"]["presumption"]["applies"]
    assert shipment["case"]["state"] == "detained"

    licence = upload(client, keys["acme"], pdf("business licence Nanjing Synergy Apparel"))
    assert licence.status_code == 201
    document = licence.json()
    response = rebut(
        client,
        keys["acme"],
        shipment["id"],
        "applicability",
        [
            evidence(
                "G-05",
                [MANUFACTURER],
                [document["id"]],
                language="zh",
                translation_document_id=document["id"],
            )
        ],
    )
    assert response.status_code == 201, response.text
    rebuttal = response.json()
    review = rebuttal["review"]
    statuses = finding_statuses(review)
    assert statuses[("ENTITY_LIST_POSSIBLE_MATCH", MANUFACTURER)] == "cleared"
    cleared = next(f for f in review["findings"] if f["status"] == "cleared")
    assert cleared["answered_by"] == [0]
    assert "open" not in statuses.values() and "needs_reviewer" not in statuses.values()
    assert review["recommendation"] == "admit" and not review["waits_for_reviewer"]
    assessment = rebuttal["assessment"]
    assert assessment["kind"] == "rebuttal" and assessment["recommendation"] == "admit"
    assert assessment["sequence"] == 2
    assert rebuttal["case"]["state"] == "rebuttal_submitted"

    read = client.get(f"/v1/shipments/{shipment['id']}", headers=auth(keys["acme"])).json()
    assert read["status"] == "rebuttal_submitted"
    assert read["assessment"]["recommendation"] == "admit"
    cleared_count = read["assessment"]["review"]["summary"]["cleared"]
    assert cleared_count == sum(s == "cleared" for s in statuses.values()) >= 1

    listed = client.get(f"/v1/shipments/{shipment['id']}/rebuttals", headers=auth(keys["acme"]))
    assert [r["id"] for r in listed.json()["items"]] == [rebuttal["id"]]
    one = client.get(
        f"/v1/shipments/{shipment['id']}/rebuttals/{rebuttal['id']}", headers=auth(keys["auditor"])
    )
    assert one.status_code == 200 and one.json()["evidence"][0]["type"] == "G-05"

    decided = client.post(
        f"/v1/shipments/{shipment['id']}/determinations",
        json={"outcome": "released", "reason": "Maker shown to be a different company."},
        headers=auth(keys["reviewer"]),
    )
    assert decided.status_code == 201, decided.text
    assert decided.json()["outcome"] == "released"
    read = client.get(f"/v1/shipments/{shipment['id']}", headers=auth(keys["acme"])).json()
    assert read["status"] == "released"
    assert read["case"]["determination"]["reason"].startswith("Maker shown")

    history = client.get(f"/v1/shipments/{shipment['id']}/history", headers=auth(keys["acme"]))
    assert history.status_code == 200
    events = history.json()["events"]
    assert [e["step"] for e in events] == [
        "submission",
        "rebuttal",
        "re_assessment",
        "determination",
    ]
    assert [e["actor"]["role"] for e in events] == ["importer", "importer", "importer", "reviewer"]
    assert events[1]["kind"] == "applicability"
    assert events[2]["outcome"] == "admit"
    assert events[3]["reason"].startswith("Maker shown")
    assert all(e["at"] and e["actor"]["key_id"] for e in events)
    assert history.json()["state"] == "released"


def test_xinjiang_exception_request_waits_and_only_a_reviewer_releases(
    client: TestClient, keys: dict[str, str], settings: Settings
) -> None:
    shipment = submit(
        client, keys["acme"], example_manifest(reference="CASE-XJ-1", entry_date=today())
    )
    assert shipment["status"] == "detained"
    sid = shipment["id"]
    policy = upload(client, keys["acme"], pdf("forced labour policy")).json()["id"]
    gin = upload(client, keys["acme"], pdf("ginning records")).json()["id"]
    response = rebut(
        client,
        keys["broker"],
        sid,
        "exception",
        [
            evidence("G-01", [], [policy]),
            evidence("CT-02", ["lines[0].inputs[0].inputs[0]"], [gin], language="zh"),
        ],
    )
    assert response.status_code == 201, response.text
    review = response.json()["review"]
    assert review["recommendation"] == "detain" and review["waits_for_reviewer"]
    statuses = finding_statuses(review)
    assert statuses[("XUAR_PLACE", "lines[0].inputs[0].inputs[0]")] == "needs_reviewer"
    assert statuses[("XUAR_PLACE", "lines[0].inputs[0].supplier")] == "needs_reviewer"
    conditions = {c["id"]: c for c in review["exception_conditions"]}
    assert all(c["status"] == "incomplete" for c in conditions.values())
    assert "G-03" in conditions["full_compliance_with_guidance"]["missing"]
    missing = {(m["for"], m["group"]): m["missing"] for m in review["missing_evidence"]}
    assert "CT-01" in missing[("lines[0]", "cotton")]
    assert "CT-02" not in missing[("lines[0]", "cotton")]
    assert "G-01" not in missing[("shipment", "general")]
    assert review["translations_missing"] == [1]
    assert response.json()["assessment"]["recommendation"] == "detain"

    read = client.get(f"/v1/shipments/{sid}", headers=auth(keys["acme"])).json()
    assert read["status"] == "rebuttal_submitted"
    assert read["assessment"]["recommendation"] == "detain"

    before = counts(settings)
    body = {"outcome": "released", "reason": "ok"}
    for who in ("acme", "broker", "auditor"):
        refused = client.post(
            f"/v1/shipments/{sid}/determinations", json=body, headers=auth(keys[who])
        )
        assert_problem(refused, 403)
    assert_problem(
        client.post(f"/v1/shipments/{sid}/determinations", json=body, headers=auth(keys["other"])),
        404,
    )
    assert counts(settings) == before

    released = client.post(
        f"/v1/shipments/{sid}/determinations",
        json={"outcome": "released", "reason": "Exception granted after review."},
        headers=auth(keys["reviewer"]),
    )
    assert released.status_code == 201
    again = client.post(
        f"/v1/shipments/{sid}/determinations",
        json={"outcome": "excluded", "reason": "second thoughts"},
        headers=auth(keys["reviewer"]),
    )
    problem = assert_problem(again, 409)
    assert problem["type"] == "urn:uflpa:problem:invalid-state"
    assert problem["current_state"] == "released"
    late = rebut(client, keys["acme"], sid, "applicability", [evidence("G-01", [], [policy])])
    assert assert_problem(late, 409)["current_state"] == "released"


def test_rebuttal_on_an_admitted_shipment_is_409_and_writes_nothing(
    client: TestClient, keys: dict[str, str], settings: Settings
) -> None:
    clean = example_manifest(reference="CASE-ADMIT-1", entry_date=today())
    clean["lines"][0]["inputs"] = []
    clean["lines"][0]["hts_code"] = "9403.60.8081"
    clean["lines"][0]["description"] = "Wooden dining chairs"
    clean["country_of_origin"] = "US"
    clean["country_of_export"] = "US"
    clean["lines"][0]["country_of_origin"] = "US"
    clean["parties"] = [{"role": "manufacturer", "name": "Oak Works Inc", "country": "US"}]
    shipment = submit(client, keys["acme"], clean)
    assert shipment["status"] == "admitted" and shipment["case"] is None
    doc = upload(client, keys["acme"], pdf("admitted")).json()["id"]
    before = counts(settings)
    response = rebut(
        client,
        keys["acme"],
        shipment["id"],
        "applicability",
        [evidence("G-05", ["parties[0]"], [doc])],
    )
    problem = assert_problem(response, 409)
    assert problem["current_state"] == "admitted"
    assert "detained" in problem["allowed_states"]
    assert counts(settings) == before
    assert_problem(
        client.get(f"/v1/shipments/{shipment['id']}/case", headers=auth(keys["acme"])), 404
    )


def test_bad_evidence_is_422_naming_the_field_and_writes_nothing(
    client: TestClient, keys: dict[str, str], settings: Settings
) -> None:
    shipment = submit(
        client, keys["acme"], example_manifest(reference="CASE-BAD-1", entry_date=today())
    )
    sid = shipment["id"]
    mine = upload(client, keys["acme"], pdf("bad evidence")).json()["id"]
    theirs = upload(client, keys["other"], pdf("other importer's file")).json()["id"]
    before = counts(settings)
    cases = [
        (evidence("G-06", ["lines[3].inputs[0]"], [mine]), "evidence[0].covers[0]"),
        (evidence("ZZ-99", ["lines[0]"], [mine]), "evidence[0].type"),
        (evidence("G-06", ["lines[0]"], [theirs]), "evidence[0].document_ids[0]"),
        (
            evidence("G-06", ["lines[0]"], ["00000000-0000-0000-0000-0000000000aa"]),
            "evidence[0].document_ids[0]",
        ),
        (
            evidence("G-06", ["lines[0]"], [mine], translation_document_id=theirs),
            "evidence[0].translation_document_id",
        ),
        (evidence("G-06", ["lines[0]"], [mine], language="xx"), "evidence[0].language"),
        (evidence("G-06", ["lines[0]"], []), "evidence[0].document_ids"),
    ]
    for item, field in cases:
        response = rebut(client, keys["acme"], sid, "applicability", [item])
        problem = assert_problem(response, 422)
        assert field in [e["field"] for e in problem["errors"]], problem
    other_ship = copy.deepcopy(example_manifest(reference="CASE-BAD-OTHER", entry_date=today()))
    revised = rebut(
        client,
        keys["acme"],
        sid,
        "applicability",
        [evidence("G-06", ["lines[0]"], [mine])],
        revised_manifest=other_ship,
    )
    problem = assert_problem(revised, 422)
    assert problem["errors"][0]["field"] == "revised_manifest.reference"
    assert counts(settings) == before
    assert (
        client.get(f"/v1/shipments/{sid}", headers=auth(keys["acme"])).json()["status"]
        == "detained"
    )


def test_other_importers_get_404_on_the_case(client: TestClient, keys: dict[str, str]) -> None:
    shipment = submit(
        client, keys["acme"], example_manifest(reference="CASE-TENANT-1", entry_date=today())
    )
    sid = shipment["id"]
    doc = upload(client, keys["acme"], pdf("tenant")).json()["id"]
    other = auth(keys["other"])
    for path in ("", "/case", "/rebuttals", "/history"):
        assert_problem(client.get(f"/v1/shipments/{sid}{path}", headers=other), 404)
    assert_problem(
        rebut(client, keys["other"], sid, "applicability", [evidence("G-05", ["lines[0]"], [doc])]),
        404,
    )
    assert_problem(client.get(f"/v1/documents/{doc}/content", headers=other), 404)
    reviewer_view = client.get(f"/v1/shipments/{sid}/history", headers=auth(keys["reviewer"]))
    assert reviewer_view.status_code == 200
    assert_problem(
        rebut(client, keys["auditor"], sid, "applicability", [evidence("G-05", [], [doc])]), 403
    )


def test_revised_manifest_is_a_new_version_and_closes_a_gap(
    client: TestClient, keys: dict[str, str]
) -> None:
    manifest = possible_match_manifest("CASE-GAP-1")
    line = manifest["lines"][0]
    line["manufacturer"] = {
        "name": "Guangzhou Knit Works Co",
        "address": "Guangzhou",
        "country": "CN",
    }
    line["inputs"] = [{"material": "cotton yarn", "hts_code": "5205.12"}]  # untraced
    manifest["parties"] = []
    manifest["country_of_export"] = "VN"  # transshipment 15 + HPS 20 + China 25 + gap 25
    shipment = submit(client, keys["acme"], manifest)
    findings = {(f["code"], f["path"]) for f in shipment["assessment"]["findings"]}
    assert ("SUPPLY_CHAIN_GAP", "lines[0].inputs[0]") in findings
    assert shipment["status"] == "detained", shipment["assessment"]["risk_score"]

    revised = copy.deepcopy(manifest)
    revised["lines"][0]["inputs"][0]["country_of_origin"] = "US"
    revised["lines"][0]["inputs"][0]["supplier"] = {"name": "Carolina Yarns LLC", "country": "US"}
    doc = upload(client, keys["acme"], pdf("yarn invoices")).json()["id"]
    response = rebut(
        client,
        keys["acme"],
        shipment["id"],
        "applicability",
        [evidence("G-06", ["lines[0].inputs[0]"], [doc])],
        revised_manifest=revised,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["manifest_version"] == 2
    assert body["revised_manifest"]["lines"][0]["inputs"][0]["country_of_origin"] == "US"
    statuses = finding_statuses(body["review"])
    assert statuses[("SUPPLY_CHAIN_GAP", "lines[0].inputs[0]")] == "cleared"
    original = client.get(f"/v1/shipments/{shipment['id']}", headers=auth(keys["acme"])).json()
    assert "country_of_origin" not in original["manifest"]["lines"][0]["inputs"][0]

    # A later rebuttal without a revision builds on the latest version.
    again = rebut(
        client,
        keys["acme"],
        shipment["id"],
        "applicability",
        [evidence("G-07", ["lines[0].inputs[0]"], [doc])],
    )
    assert again.status_code == 201
    assert again.json()["manifest_version"] == 2


def test_case_deadlines_across_thanksgiving_and_christmas(
    client: TestClient, keys: dict[str, str]
) -> None:
    shipment = submit(
        client, keys["acme"], example_manifest(reference="CASE-DATES-1", entry_date="2026-11-25")
    )
    case = client.get(f"/v1/shipments/{shipment['id']}/case", headers=auth(keys["acme"])).json()
    assert case["presented_at"] == "2026-11-25" and case["presented_from"] == "entry_date"
    assert case["detention_decision_due"] == "2026-12-03"  # Thanksgiving Thu 26 skipped
    assert case["notice_due"] == "2026-12-10"
    assert case["response_due"] == "2027-01-09"
    assert case["deemed_excluded_at"] == "2026-12-25"

    recorded = client.put(
        f"/v1/shipments/{shipment['id']}/case",
        json={"presented_at": "2026-12-16", "detained_at": "2026-12-22"},
        headers=auth(keys["reviewer"]),
    )
    assert recorded.status_code == 200, recorded.text
    case = recorded.json()
    assert case["presented_from"] == "recorded"
    assert case["detention_decision_due"] == "2026-12-23"
    assert case["notice_due"] == "2026-12-30"  # Christmas Fri 25 skipped
    assert case["deemed_excluded_at"] == "2027-01-15"

    alias = client.put(
        f"/v1/shipments/{shipment['id']}/case",
        json={"notice_on": "2026-12-29"},  # the *_on spellings are accepted too
        headers=auth(keys["acme"]),
    )
    assert alias.status_code == 200, alias.text
    assert alias.json()["notice_at"] == "2026-12-29"
    assert alias.json()["response_due"] == "2027-01-28"
    assert alias.json()["detained_at"] == "2026-12-22"  # earlier dates are kept

    bad = client.put(
        f"/v1/shipments/{shipment['id']}/case",
        json={"notice_at": "2026-12-01"},
        headers=auth(keys["acme"]),
    )
    assert assert_problem(bad, 422)["errors"][0]["field"] == "notice_at"
    assert_problem(
        client.put(f"/v1/shipments/{shipment['id']}/case", json={}, headers=auth(keys["acme"])),
        422,
    )
    assert_problem(
        client.put(
            f"/v1/shipments/{shipment['id']}/case",
            json={"presented_at": "2026-12-01"},
            headers=auth(keys["auditor"]),
        ),
        403,
    )


def test_deemed_exclusion_on_read_and_by_sweep(
    client: TestClient, keys: dict[str, str], settings: Settings
) -> None:
    shipment = submit(
        client, keys["acme"], example_manifest(reference="CASE-DEEMED-1", entry_date=today())
    )
    sid = shipment["id"]
    long_ago = (datetime.now(UTC).date() - timedelta(days=45)).isoformat()
    client.put(
        f"/v1/shipments/{sid}/case", json={"presented_at": long_ago}, headers=auth(keys["acme"])
    )
    read = client.get(f"/v1/shipments/{sid}", headers=auth(keys["acme"])).json()
    assert read["status"] == "deemed_excluded" and read["case"]["state"] == "deemed_excluded"
    doc = upload(client, keys["acme"], pdf("too late")).json()["id"]
    late = rebut(client, keys["acme"], sid, "applicability", [evidence("G-05", [], [doc])])
    assert assert_problem(late, 409)["current_state"] == "deemed_excluded"

    engine = make_engine(settings.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as session:
            swept = case_service.sweep_deemed_exclusions(
                session, settings.response_due_days, datetime.now(UTC).date()
            )
            assert uuid_str(swept) >= {sid}
            again = case_service.sweep_deemed_exclusions(
                session, settings.response_due_days, datetime.now(UTC).date()
            )
            assert sid not in uuid_str(again)
    finally:
        engine.dispose()
    steps = [
        e["step"]
        for e in client.get(f"/v1/shipments/{sid}/history", headers=auth(keys["acme"])).json()[
            "events"
        ]
    ]
    assert steps == ["submission", "deemed_exclusion"]
    listed = client.get("/v1/shipments?status=deemed_excluded", headers=auth(keys["acme"])).json()
    assert sid in [s["id"] for s in listed["items"]]
    # A reviewer may still decide a deemed-excluded case.
    decided = client.post(
        f"/v1/shipments/{sid}/determinations",
        json={"outcome": "excluded", "reason": "No response."},
        headers=auth(keys["reviewer"]),
    )
    assert decided.status_code == 201
    assert decided.json()["status_before"] == "deemed_excluded"


def uuid_str(ids: list[Any]) -> set[str]:
    return {str(i) for i in ids}


def _race_once(
    sessions: Any, assessor: Any, keys: dict[str, str], sid: str, doc: str
) -> dict[str, str]:
    """A rebuttal and two determinations released at once on one case."""
    results: dict[str, str] = {}
    start = threading.Barrier(3)

    def rebuttal() -> None:
        with sessions() as session:
            principal = authenticate(session, keys["acme"])
            session.rollback()
            start.wait()
            try:
                case_service.submit_rebuttal(
                    session,
                    assessor,
                    principal,
                    uuid.UUID(sid),
                    case_service.RebuttalInput(
                        kind=RebuttalKind.EXCEPTION,
                        narrative="race",
                        evidence=(
                            case_service.EvidenceInput(
                                type="G-01",
                                title="policy",
                                covers=(),
                                document_ids=(uuid.UUID(doc),),
                            ),
                        ),
                    ),
                    response_days=30,
                )
                results["rebuttal"] = "ok"
            except AppError as exc:
                results["rebuttal"] = str(exc.status)

    def determination(name: str, outcome: DeterminationOutcome) -> None:
        with sessions() as session:
            principal = authenticate(session, keys["reviewer"])
            session.rollback()
            start.wait()
            try:
                case_service.record_determination(
                    session, principal, uuid.UUID(sid), outcome, "race", response_days=30
                )
                results[name] = "ok"
            except AppError as exc:
                results[name] = str(exc.status)

    threads = [
        threading.Thread(target=rebuttal),
        threading.Thread(target=determination, args=("d1", DeterminationOutcome.RELEASED)),
        threading.Thread(target=determination, args=("d2", DeterminationOutcome.EXCLUDED)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_racing_rebuttal_and_determination_leave_a_legal_state(
    client: TestClient, keys: dict[str, str], settings: Settings
) -> None:
    doc = upload(client, keys["acme"], pdf("race")).json()["id"]
    engine = make_engine(settings.resolved_database_url)
    sessions = make_sessionmaker(engine)
    assessor = client.app.state.assessors.current  # type: ignore[attr-defined]
    try:
        for round_ in range(3):
            shipment = submit(
                client,
                keys["acme"],
                example_manifest(reference=f"CASE-RACE-{round_}", entry_date=today()),
            )
            sid = shipment["id"]
            results = _race_once(sessions, assessor, keys, sid, doc)
            assert sorted([results["d1"], results["d2"]]) == ["409", "ok"], results
            assert results["rebuttal"] in ("ok", "409"), results
            read = client.get(f"/v1/shipments/{sid}", headers=auth(keys["acme"])).json()
            assert read["status"] in ("released", "excluded")
            history = client.get(f"/v1/shipments/{sid}/history", headers=auth(keys["acme"]))
            steps = [e["step"] for e in history.json()["events"]]
            assert steps.count("determination") == 1
            assert steps[-1] == "determination"  # nothing was recorded after the decision
            if results["rebuttal"] == "ok":
                assert steps.index("rebuttal") < steps.index("determination")
    finally:
        engine.dispose()


def test_decision_chain_stays_intact(settings: Settings, client: TestClient) -> None:
    from app.services.decision_log import verify_chain

    engine = make_engine(settings.resolved_database_url)
    try:
        session: Session
        with make_sessionmaker(engine)() as session:
            result = verify_chain(session)
            assert result.intact, result
            assert result.records > 0
    finally:
        engine.dispose()
