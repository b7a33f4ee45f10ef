"""Documents over HTTP: hashed, stored once, typed by declaration and content, tenant-scoped."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.settings import Settings
from tests.api.conftest import assert_problem, auth
from tests.api.helpers_cases import PNG, counts, pdf, upload, xlsx

ACME = "Acme Apparel Inc"
OTHER = "Other Imports LLC"


@pytest.fixture(scope="module")
def keys(make_key: Any) -> dict[str, str]:
    return {
        "acme": make_key("importer", ACME),
        "other": make_key("importer", OTHER),
        "broker": make_key("broker", ACME, "Third Co"),
        "broker_other": make_key("broker", "Third Co"),
        "auditor": make_key("auditor"),
        "reviewer": make_key("reviewer"),
        "admin": make_key("admin"),
    }


def blobs(settings: Settings) -> list[Path]:
    root = settings.resolved_documents_dir
    return [p for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp"]


def test_upload_read_back_and_download_same_sha(client: TestClient, keys: dict[str, str]) -> None:
    data = pdf("roundtrip")
    created = upload(client, keys["acme"], data, name="Business licence 营业执照.pdf")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["size"] == len(data)
    assert body["media_type"] == "application/pdf"
    assert body["original_name"] == "Business licence 营业执照.pdf"
    assert created.headers["location"] == f"/v1/documents/{body['id']}"

    meta = client.get(f"/v1/documents/{body['id']}", headers=auth(keys["acme"]))
    assert meta.status_code == 200 and meta.json()["sha256"] == body["sha256"]

    content = client.get(f"/v1/documents/{body['id']}/content", headers=auth(keys["acme"]))
    assert content.status_code == 200
    assert hashlib.sha256(content.content).hexdigest() == body["sha256"]
    assert content.headers["content-type"] == "application/pdf"
    disposition = content.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
    assert content.headers["x-content-type-options"] == "nosniff"


def test_same_bytes_stored_once(
    client: TestClient, keys: dict[str, str], settings: Settings
) -> None:
    data = pdf("dedup")
    first = upload(client, keys["acme"], data)
    again = upload(client, keys["acme"], data, name="other-name.pdf")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]  # same owner: the existing record

    theirs = upload(client, keys["other"], data)
    assert theirs.status_code == 201  # another importer: its own record ...
    assert theirs.json()["id"] != first.json()["id"]
    sha = first.json()["sha256"]
    assert [p.name for p in blobs(settings)].count(sha) == 1  # ... over one blob
    stored = next(p for p in blobs(settings) if p.name == sha)
    assert stored.relative_to(settings.resolved_documents_dir).parts[:2] == (sha[:2], sha[2:4])
    assert stored.read_bytes() == data


def test_only_owner_its_brokers_reviewers_and_auditors_see_a_document(
    client: TestClient, keys: dict[str, str]
) -> None:
    doc = upload(client, keys["acme"], pdf("visibility")).json()["id"]
    for who in ("acme", "broker", "reviewer", "auditor", "admin"):
        assert client.get(f"/v1/documents/{doc}", headers=auth(keys[who])).status_code == 200
        content = client.get(f"/v1/documents/{doc}/content", headers=auth(keys[who]))
        assert content.status_code == 200, who
    for who in ("other", "broker_other"):
        assert_problem(client.get(f"/v1/documents/{doc}", headers=auth(keys[who])), 404)
        assert_problem(client.get(f"/v1/documents/{doc}/content", headers=auth(keys[who])), 404)
    assert_problem(
        client.get(
            "/v1/documents/00000000-0000-0000-0000-000000000001", headers=auth(keys["acme"])
        ),
        404,
    )
    assert client.get(f"/v1/documents/{doc}").status_code == 401


def test_broker_and_admin_name_the_importer(
    client: TestClient, keys: dict[str, str], settings: Settings
) -> None:
    before = counts(settings)
    missing = assert_problem(upload(client, keys["broker"], pdf("broker-1")), 422)
    assert missing["errors"][0]["field"] == "importer"
    assert_problem(upload(client, keys["broker"], pdf("broker-2"), importer=OTHER), 403)
    assert_problem(upload(client, keys["admin"], pdf("admin-1"), importer="Nobody Inc"), 422)
    assert_problem(upload(client, keys["auditor"], pdf("auditor")), 403)
    assert_problem(upload(client, keys["reviewer"], pdf("reviewer")), 403)
    assert_problem(upload(client, keys["acme"], pdf("acme-as-other"), importer=OTHER), 403)
    assert counts(settings) == before

    ok = upload(client, keys["broker"], pdf("broker-3"), importer=ACME)
    assert ok.status_code == 201
    assert (
        client.get(f"/v1/documents/{ok.json()['id']}", headers=auth(keys["acme"])).status_code
        == 200
    )
    assert upload(client, keys["admin"], pdf("admin-2"), importer=ACME).status_code == 201


@pytest.mark.parametrize(
    ("name", "data", "declared"),
    [
        ("scan.pdf", PNG, "application/pdf"),  # a PNG declared as PDF
        ("tool.txt", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(64), "text/plain"),  # executable
        ("tool.pdf", b"\x7fELF\x02\x01\x01" + bytes(64), "application/pdf"),
        ("archive.zip", b"PK\x03\x04" + bytes(64), "application/zip"),  # type not accepted
        ("setup.exe", b"MZ" + bytes(64), "application/octet-stream"),
        ("data.json", b"hello, not json", "application/json"),
        (
            "fake.xlsx",
            b"PK\x03\x04" + bytes(64),
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ),
        ("photo.jpg", pdf("jpeg?"), "image/jpeg"),
    ],
)
def test_wrong_media_types_are_refused_with_415(
    client: TestClient,
    keys: dict[str, str],
    settings: Settings,
    name: str,
    data: bytes,
    declared: str,
) -> None:
    before_counts, before_blobs = counts(settings), len(blobs(settings))
    body = assert_problem(upload(client, keys["acme"], data, name=name, media_type=declared), 415)
    assert body["type"] == "urn:uflpa:problem:unsupported-media-type"
    assert body["errors"][0]["field"] == "file"
    assert counts(settings) == before_counts
    assert len(blobs(settings)) == before_blobs


@pytest.mark.parametrize(
    ("name", "data", "declared", "stored_as"),
    [
        ("photo.png", PNG + b"distinct", "image/png", "image/png"),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + bytes(32), "image/jpg", "image/jpeg"),
        ("scan.tif", b"II*\x00" + bytes(32), "image/tiff", "image/tiff"),
        ("pic.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(16), "image/webp", "image/webp"),
        (
            "book.xlsx",
            xlsx(),
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            "old.xls",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64),
            "application/vnd.ms-excel",
            "application/vnd.ms-excel",
        ),
        ("lots.csv", b"lot,bales\nA1,20\n", "text/csv; charset=utf-8", "text/csv"),
        ("note.txt", "Tracing note, 棉花 from Texas\n".encode(), "text/plain", "text/plain"),
        ("bol.xml", b"<?xml version='1.0'?><bol/>", "text/xml", "application/xml"),
        ("po.json", b'  {"po": 1}', "application/json", "application/json"),
    ],
)
def test_accepted_media_types(
    client: TestClient,
    keys: dict[str, str],
    name: str,
    data: bytes,
    declared: str,
    stored_as: str,
) -> None:
    response = upload(client, keys["acme"], data, name=name, media_type=declared)
    assert response.status_code in (200, 201), response.text
    assert response.json()["media_type"] == stored_as


def test_not_multipart_missing_file_and_empty_file(
    client: TestClient, keys: dict[str, str]
) -> None:
    assert_problem(
        client.post(
            "/v1/documents",
            content=pdf("raw"),
            headers={**auth(keys["acme"]), "content-type": "application/pdf"},
        ),
        415,
    )
    no_file = client.post(
        "/v1/documents",
        data={"importer": ACME},
        files={"x": ("a", b"b")},
        headers=auth(keys["acme"]),
    )
    assert assert_problem(no_file, 422)["errors"][0]["field"] == "file"
    assert_problem(upload(client, keys["acme"], b""), 422)


def _multipart_stream(total: int, boundary: str, consumed: list[int]) -> Iterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="big.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\n'
    ).encode()
    chunk = b"0" * (1024 * 1024)
    sent = 0
    while sent < total:
        consumed[0] += len(chunk)
        sent += len(chunk)
        yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


def _asgi_post(
    app: Any, headers: list[tuple[bytes, bytes]], body: Iterator[bytes]
) -> dict[str, Any]:
    """Drive the ASGI app directly so the body really streams (TestClient buffers it)."""
    sent: dict[str, Any] = {"status": None, "body": b""}

    async def receive() -> dict[str, Any]:
        try:
            return {"type": "http.request", "body": next(body), "more_body": True}
        except StopIteration:
            return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]
            sent["headers"] = dict(message["headers"])
        elif message["type"] == "http.response.body":
            sent["body"] += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/documents",
        "raw_path": b"/v1/documents",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
        "state": {},
    }
    asyncio.run(app(scope, receive, send))
    return sent


@pytest.mark.parametrize("declare_length", [False, True])
def test_200_megabyte_upload_is_refused_with_413_while_streaming(
    client: TestClient,
    keys: dict[str, str],
    settings: Settings,
    declare_length: bool,
) -> None:
    total = 200 * 1024 * 1024
    boundary = "uflpa-test-boundary"
    consumed = [0]
    headers = [
        (b"host", b"testserver"),
        (b"authorization", f"Bearer {keys['acme']}".encode()),
        (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
    ]
    if declare_length:
        headers.append((b"content-length", str(total + 300).encode()))
    else:
        headers.append((b"transfer-encoding", b"chunked"))
    before_counts, before_blobs = counts(settings), len(blobs(settings))
    sent = _asgi_post(client.app, headers, _multipart_stream(total, boundary, consumed))
    assert sent["status"] == 413
    assert sent["headers"][b"content-type"] == b"application/problem+json"
    assert b"payload-too-large" in sent["body"]
    # Refused as soon as the limit was crossed: the 200 MB were never read.
    limit = settings.max_upload_bytes
    assert consumed[0] <= limit + 2 * 1024 * 1024
    if declare_length:
        assert consumed[0] == 0
    assert counts(settings) == before_counts
    assert len(blobs(settings)) == before_blobs
    assert not any((settings.resolved_documents_dir / "tmp").glob("*"))
