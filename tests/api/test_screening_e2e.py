"""End to end with the real bundled lists: screening, comparison, and list matches in assessments."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import auth, example_manifest

LOAD_LISTS = True


@pytest.fixture(scope="module")
def key(make_key: Any) -> str:
    return str(make_key("importer", "Acme Apparel Inc"))


def clean_manifest(reference: str) -> dict[str, Any]:
    """The design example with the Xinjiang input traced elsewhere: admit on its own."""
    manifest = example_manifest(reference=reference)
    yarn = manifest["lines"][0]["inputs"][0]
    yarn["supplier"] = {
        "name": "Bac Giang Spinning JSC",
        "address": "Bac Giang, Vietnam",
        "country": "VN",
    }
    yarn["country_of_origin"] = "VN"
    yarn["inputs"][0].update(region="Texas", country_of_origin="US")
    return manifest


def test_lists_are_loaded_and_versioned(client: TestClient, key: str) -> None:
    body = client.get("/v1/lists", headers=auth(key)).json()
    sources = {v["source"]: v for v in body["active"]}
    assert {"uflpa", "ofac_sdn", "us_csl", "eu_2020_1998"} <= set(sources)
    assert sources["uflpa"]["entry_count"] == 136
    assert all(v["version"].startswith("sha256:") for v in body["active"])


def test_clean_manifest_is_admitted(client: TestClient, key: str) -> None:
    response = client.post("/v1/shipments", json=clean_manifest("CLEAN-1"), headers=auth(key))
    assessment = response.json()["assessment"]
    assert assessment["recommendation"] == "admit", assessment["findings"]
    assert assessment["presumption"]["applies"] is False
    assert "uflpa" in assessment["lists_version"]


@pytest.mark.parametrize(
    "supplier",
    [
        {"name": "HOSHINE SILICON IND (SHANSHAN) CO LTD", "country": "CN"},
        {"name": "合盛硅业（鄯善）有限公司", "country": "CN"},
        {"name": "Xinjiang Daqo New Energy Co., Ltd", "country": "CN"},
    ],
    ids=["abbreviated", "chinese", "legal-form variant"],
)
def test_uflpa_listed_supplier_at_tier_two_sets_entity_list_ground(
    client: TestClient, key: str, supplier: dict[str, str]
) -> None:
    manifest = clean_manifest(f"EL-{abs(hash(supplier['name'])) % 10**8}")
    deep = manifest["lines"][0]["inputs"][0]["inputs"][0]
    deep["supplier"] = {**supplier, "address": "Vientiane"}  # no Xinjiang place on purpose
    deep["country_of_origin"] = "LA"
    deep.pop("region")
    assessment = client.post("/v1/shipments", json=manifest, headers=auth(key)).json()["assessment"]
    assert assessment["recommendation"] == "detain"
    assert "entity_list_nexus" in assessment["presumption"]["grounds"]
    listed = [f for f in assessment["findings"] if f["code"] == "ENTITY_LIST_MATCH"]
    assert listed and listed[0]["path"] == "lines[0].inputs[0].inputs[0].supplier"
    assert listed[0]["evidence"]["list"] == "uflpa"


def test_glomag_sanctioned_party_is_a_sanctions_ground(client: TestClient, key: str) -> None:
    manifest = clean_manifest("SANC-1")
    manifest["parties"].append(
        {"role": "seller", "name": "Xinjiang Production and Construction Corps", "country": "CN"}
    )
    assessment = client.post("/v1/shipments", json=manifest, headers=auth(key)).json()["assessment"]
    assert assessment["recommendation"] == "detain"
    assert assessment["sanctions"]["applies"] is True
    assert "ofac_sdn" in assessment["sanctions"]["lists"]


def test_screen_endpoint(client: TestClient, key: str) -> None:
    response = client.post(
        "/v1/screen",
        headers=auth(key),
        json={"parties": [
            {"name": "Zhu Hailun", "schema": "person"},
            {"name": "Hailun ZHU"},
            {"name": "Saigon Garment Co., Ltd.", "country": "VN"},
        ]},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert any(m["list"] == "ofac_sdn" and m["band"] == "strong" for m in results[0]["matches"])
    assert any(m["band"] == "strong" for m in results[1]["matches"])
    assert results[2]["matches"] == []
    first = results[0]["matches"][0]
    assert first["explanation"] and 0 <= first["score"] <= 1


def test_screen_and_compare_refuse_bad_input(client: TestClient, key: str) -> None:
    too_many = {"parties": [{"name": f"n{i}"} for i in range(1001)]}
    assert client.post("/v1/screen", json=too_many, headers=auth(key)).status_code == 422
    assert client.post("/v1/screen", json={"parties": []}, headers=auth(key)).status_code == 422
    bad = client.post(
        "/v1/screen", json={"parties": [{"name": "x", "country": "ZZ"}]}, headers=auth(key)
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "parties[0].country"
    assert client.post("/v1/compare", json={"a": "x"}, headers=auth(key)).status_code == 422
    assert client.post("/v1/screen", json={"parties": [{"name": "x"}]}).status_code == 401


def test_compare_endpoint(client: TestClient, key: str) -> None:
    same = client.post(
        "/v1/compare", headers=auth(key),
        json={"a": "Xinjiang Shengchan Jianshe Bingtuan", "b": "新疆生产建设兵团"},
    ).json()  # fmt: skip
    different = client.post(
        "/v1/compare", headers=auth(key),
        json={"a": "Hetian Haolin Hair Accessories Co. Ltd.", "b": "Hetian Jade Trading Co., Ltd."},
    ).json()  # fmt: skip
    assert same["band"] == "strong", same
    assert different["band"] is None and different["score"] < same["score"]


def test_rules_endpoint(client: TestClient, key: str) -> None:
    body = client.get("/v1/rules", headers=auth(key)).json()
    assert body["version"].startswith("sha256:")
    assert {"regions.yaml", "sectors.yaml", "scoring.yaml", "evidence.yaml"} <= set(body["files"])


def test_idempotent_resend_keeps_original_assessment(client: TestClient, key: str) -> None:
    manifest = clean_manifest("IDEM-LISTS")
    first = client.post("/v1/shipments", json=manifest, headers=auth(key)).json()
    second = client.post("/v1/shipments", json=copy.deepcopy(manifest), headers=auth(key))
    assert second.status_code == 200
    assert second.json()["assessment"]["id"] == first["assessment"]["id"]
