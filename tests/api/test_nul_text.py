"""A NUL character (U+0000) in any text is refused with 422 naming the field, on both
databases; PostgreSQL text cannot hold one, and storing it used to fail with a 500."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import assert_problem, auth, example_manifest

IMPORTER = "Acme Apparel Inc"


@pytest.fixture(scope="module")
def keys(make_key: Any) -> dict[str, str]:
    return {
        "acme": make_key("importer", IMPORTER),
        "reviewer": make_key("reviewer"),
        "admin": make_key("admin"),
    }


def string_leaves(value: Any, path: str = "") -> Iterator[tuple[str, list[Any], Any]]:
    """(json path, container, key) of every string in a JSON document."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        here = f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else key)
        if isinstance(item, str):
            yield here, value, key
        elif isinstance(item, dict | list):
            yield from string_leaves(item, here)


def test_every_manifest_field_refuses_a_nul(client: TestClient, keys: dict[str, str]) -> None:
    paths = [path for path, _, _ in string_leaves(example_manifest())]
    assert len(paths) > 20  # names, addresses, descriptions, codes at every tier
    for index, path in enumerate(paths):
        manifest = example_manifest(reference=f"NUL-{index}")
        leaf = next((c, k) for p, c, k in string_leaves(manifest) if p == path)
        leaf[0][leaf[1]] = "before\x00after"
        problem = assert_problem(
            client.post("/v1/shipments", json=manifest, headers=auth(keys["acme"])), 422
        )
        fields = [error["field"] for error in problem["errors"]]
        # identifiers are [scheme, value] pairs: the pair's field is named
        assert path in fields or path.rsplit("[", 1)[0] in fields, (path, problem["errors"])
    listed = client.get("/v1/shipments", headers=auth(keys["acme"])).json()
    assert not [s for s in listed["items"] if s["reference"].startswith("NUL-")]


def test_a_nul_in_one_batch_item_fails_that_item_only(
    client: TestClient, keys: dict[str, str]
) -> None:
    bad = example_manifest(reference=f"NUL-B-{uuid.uuid4().hex[:6]}")
    bad["parties"][0]["name"] = "Bad\x00Name"
    good = example_manifest(reference=f"OK-B-{uuid.uuid4().hex[:6]}")
    response = client.post(
        "/v1/shipments/batch", json={"shipments": [bad, good]}, headers=auth(keys["acme"])
    )
    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert first["status"] == 422
    assert first["problem"]["errors"][0]["field"] == "parties[0].name"
    assert second["status"] == 201


def test_case_and_webhook_bodies_refuse_a_nul(client: TestClient, keys: dict[str, str]) -> None:
    shipment = uuid.uuid4()
    rebuttal = {
        "kind": "applicability",
        "narrative": "No XUAR\x00 nexus.",
        "evidence": [
            {"type": "G-06", "title": "Mill certificate", "document_ids": [str(shipment)]}
        ],
    }
    problem = assert_problem(
        client.post(
            f"/v1/shipments/{shipment}/rebuttals", json=rebuttal, headers=auth(keys["acme"])
        ),
        422,
    )
    assert [e["field"] for e in problem["errors"]] == ["narrative"]
    rebuttal["narrative"] = "No XUAR nexus."
    rebuttal["evidence"][0]["title"] = "Mill\x00certificate"
    problem = assert_problem(
        client.post(
            f"/v1/shipments/{shipment}/rebuttals", json=rebuttal, headers=auth(keys["acme"])
        ),
        422,
    )
    assert [e["field"] for e in problem["errors"]] == ["evidence[0].title"]
    problem = assert_problem(
        client.post(
            f"/v1/shipments/{shipment}/determinations",
            json={"outcome": "released", "reason": "Cleared\x00"},
            headers=auth(keys["reviewer"]),
        ),
        422,
    )
    assert [e["field"] for e in problem["errors"]] == ["reason"]
    problem = assert_problem(
        client.post(
            "/v1/webhooks",
            json={
                "url": "https://example.com/hook",
                "events": ["assessment.detained"],
                "description": "ops\x00",
            },
            headers=auth(keys["admin"]),
        ),
        422,
    )
    assert [e["field"] for e in problem["errors"]] == ["description"]


def test_a_query_parameter_with_a_nul_is_refused(client: TestClient, keys: dict[str, str]) -> None:
    problem = assert_problem(
        client.get("/v1/shipments?reference=a%00b", headers=auth(keys["acme"])), 422
    )
    assert problem["errors"] == [
        {"field": "reference", "reason": "must not contain a NUL character (U+0000)"}
    ]


def test_a_nul_in_a_csv_cell_names_its_row_and_column(
    client: TestClient, keys: dict[str, str]
) -> None:
    reference = f"NUL-C-{uuid.uuid4().hex[:6]}"
    header = "reference,importer,entry_date,country_of_origin,line_number,hts_code,description"
    row = f"{reference},{IMPORTER},2026-11-20,VN,1,6109.10.0012,Cotton\x00 T-shirts"
    response = client.post(
        "/v1/shipments/import",
        files={"file": ("s.csv", f"{header}\n{row}\n".encode(), "text/csv")},
        headers=auth(keys["acme"]),
    )
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["status"] == 422
    assert result["problem"]["errors"] == [
        {"row": 2, "field": "description", "reason": "must not contain a NUL character (U+0000)"}
    ]
