"""Webhooks: signed, retried with back-off, recorded, and never lost across a restart."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.services.webhooks import backoff_seconds, verify_signature
from app.settings import Settings
from tests.api.conftest import auth, example_manifest

IMPORTER = "Acme Apparel Inc"
SECRET = "test-secret-0123456789abcdef"


def read_request_head(connection: socket.socket) -> bytes | None:
    """A raw request's bytes up to the end of its headers, or None if the client hung up."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        head += chunk
    return head


class Receiver:
    """A tiny HTTP/1.1 server on 127.0.0.1 (HTTPS with `tls`) that records every request
    and the connection it came on, and answers `status` with the body `answer`."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.status = 200
        self.answer = b""
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.peers: list[int] = []  # the client's port for each request: its connection
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                receiver.peers.append(self.client_address[1])
                self.send_response(receiver.status)
                self.send_header("Content-Length", str(len(receiver.answer)))
                self.end_headers()
                self.wfile.write(receiver.answer)

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        scheme = "http" if tls is None else "https"
        self.url = f"{scheme}://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def fast(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "webhook_poll_seconds": 0.05,
            "webhook_backoff_base_seconds": 0.05,
            "webhook_backoff_max_seconds": 0.2,
            "webhook_max_attempts": 50,
            "webhook_timeout_seconds": 2.0,
        }
    )


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def independently_valid(headers: dict[str, str], body: bytes, secret: str) -> bool:
    """The receiver's check, written from the documentation, not from the service code."""
    message = headers["x-uflpa-timestamp"].encode() + b"." + body
    expected = "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-uflpa-signature"])


def register(client: TestClient, key: str, url: str, **extra: Any) -> dict[str, Any]:
    body = {"url": url, "events": ["shipment.assessed"], "secret": SECRET} | extra
    response = client.post("/v1/webhooks", json=body, headers=auth(key))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_retried_until_the_receiver_recovers_across_a_restart(
    fast: Settings, make_key: Any, receiver: Receiver
) -> None:
    key = make_key("importer", IMPORTER)
    receiver.status = 500
    with TestClient(create_app(fast), raise_server_exceptions=False) as first:
        hook = register(first, key, receiver.url)
        assert hook["secret"] == SECRET and hook["importers"] == [IMPORTER]
        shown = first.get(f"/v1/webhooks/{hook['id']}", headers=auth(key)).json()
        assert "secret" not in shown or shown["secret"] is None
        created = first.post(
            "/v1/shipments", json=example_manifest(reference="HOOK-1"), headers=auth(key)
        )
        assert created.status_code == 201
        assert wait_for(lambda: len(receiver.requests) >= 3), "no retries seen"
        deliveries = first.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=auth(key))
        [delivery] = deliveries.json()["items"]
        assert delivery["status"] == "pending" and delivery["attempts"] >= 2
        assert delivery["last_status_code"] == 500
    # The service is down: the receiver recovers; the outbox row waits in the database.
    attempts_before_restart = len(receiver.requests)
    receiver.status = 200
    time.sleep(0.3)
    assert len(receiver.requests) == attempts_before_restart  # nobody delivers while down
    with TestClient(create_app(fast), raise_server_exceptions=False) as second:
        url = f"/v1/webhooks/{hook['id']}/deliveries"

        def delivered() -> bool:
            items = second.get(url, headers=auth(key)).json()["items"]
            return bool(items) and items[0]["status"] == "delivered"

        assert wait_for(delivered)
        [delivery] = second.get(url, headers=auth(key)).json()["items"]
        assert delivery["attempts"] == len(receiver.requests)
        assert delivery["last_status_code"] == 200 and delivery["delivered_at"]
    event_ids = {headers["x-uflpa-event-id"] for headers, _ in receiver.requests}
    assert len(event_ids) == 1  # one event, stable id across every attempt
    for headers, body in receiver.requests:
        assert independently_valid(headers, body, SECRET)
        assert verify_signature(
            SECRET, headers["x-uflpa-timestamp"], body, headers["x-uflpa-signature"]
        )
        assert not independently_valid(headers, body + b" ", SECRET)
        assert not independently_valid(headers, body, "another-secret-0123456789")
    payload = json.loads(receiver.requests[-1][1])
    assert payload["id"] == event_ids.pop() and payload["type"] == "shipment.assessed"
    assert payload["data"]["reference"] == "HOOK-1"
    assert payload["data"]["status"] == "detained"
    assert payload["data"]["decision"]["kind"] == "assessment"


def test_an_event_written_while_no_dispatcher_runs_is_delivered_later(
    fast: Settings, make_key: Any, receiver: Receiver
) -> None:
    key = make_key("importer", IMPORTER)
    quiet = fast.model_copy(update={"run_background_workers": False})
    with TestClient(create_app(quiet), raise_server_exceptions=False) as down:
        register(down, key, receiver.url)
        response = down.post(
            "/v1/shipments", json=example_manifest(reference="HOOK-2"), headers=auth(key)
        )
        assert response.status_code == 201
        time.sleep(0.2)
    assert receiver.requests == []
    with TestClient(create_app(fast), raise_server_exceptions=False):
        assert wait_for(lambda: any(b"HOOK-2" in body for _, body in receiver.requests))


def test_tenancy_disable_and_validation(
    client: TestClient, make_key: Any, receiver: Receiver
) -> None:
    acme = make_key("importer", IMPORTER)
    other = make_key("importer", "Other Imports LLC")
    auditor = make_key("auditor")
    hook = register(client, acme, receiver.url)
    assert client.get(f"/v1/webhooks/{hook['id']}", headers=auth(other)).status_code == 404
    assert client.delete(f"/v1/webhooks/{hook['id']}", headers=auth(other)).status_code == 404
    assert hook["id"] not in {
        w["id"] for w in client.get("/v1/webhooks", headers=auth(other)).json()["items"]
    }
    listed = client.get("/v1/webhooks", headers=auth(acme)).json()["items"]
    assert hook["id"] in {w["id"] for w in listed}
    assert all("secret" not in w for w in listed)
    assert (
        client.post(
            "/v1/webhooks",
            json={"url": receiver.url, "events": ["shipment.assessed"]},
            headers=auth(auditor),
        ).status_code
        == 403
    )
    bad = client.post(
        "/v1/webhooks", json={"url": "ftp://x", "events": ["nope"]}, headers=auth(acme)
    )
    assert bad.status_code == 422
    foreign = client.post(
        "/v1/webhooks",
        json={
            "url": receiver.url,
            "events": ["shipment.assessed"],
            "importers": ["Other Imports LLC"],
        },
        headers=auth(acme),
    )
    assert foreign.status_code == 403
    generated = client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": ["shipment.rescreened"]},
        headers=auth(acme),
    )
    assert generated.status_code == 201 and generated.json()["secret"].startswith("whsec_")

    disabled = client.delete(f"/v1/webhooks/{hook['id']}", headers=auth(acme))
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    client.post("/v1/shipments", json=example_manifest(reference="HOOK-OFF"), headers=auth(acme))
    deliveries = client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=auth(acme)).json()
    assert all(d["status"] != "pending" for d in deliveries["items"])
    time.sleep(0.3)
    assert not any(b"HOOK-OFF" in body for _, body in receiver.requests)


def test_gives_up_after_max_attempts(fast: Settings, make_key: Any, receiver: Receiver) -> None:
    key = make_key("importer", IMPORTER)
    limited = fast.model_copy(update={"webhook_max_attempts": 3})
    receiver.status = 503
    with TestClient(create_app(limited), raise_server_exceptions=False) as app_client:
        hook = register(app_client, key, receiver.url)
        app_client.post(
            "/v1/shipments", json=example_manifest(reference="HOOK-3"), headers=auth(key)
        )
        url = f"/v1/webhooks/{hook['id']}/deliveries"
        assert wait_for(
            lambda: app_client.get(url, headers=auth(key)).json()["items"][0]["status"] == "failed"
        )
        [delivery] = app_client.get(url, headers=auth(key)).json()["items"]
        assert delivery["attempts"] == 3 and delivery["last_status_code"] == 503
    assert len(receiver.requests) == 3


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    lows = [backoff_seconds(n, 2.0, 600.0, rand=lambda: 0.0) for n in range(1, 12)]
    highs = [backoff_seconds(n, 2.0, 600.0, rand=lambda: 1.0) for n in range(1, 12)]
    assert highs[:4] == [2.0, 4.0, 8.0, 16.0]
    assert lows[:4] == [1.0, 2.0, 4.0, 8.0]
    assert max(highs) == 600.0  # capped


def test_private_webhook_urls_are_refused_when_the_guard_is_on(
    settings: Settings, make_key: Any
) -> None:
    guarded = settings.model_copy(update={"webhook_allow_private_networks": False})
    key = make_key("admin")
    with TestClient(create_app(guarded), raise_server_exceptions=False) as guarded_client:
        for url in ("http://127.0.0.1:9/hook", "http://169.254.169.254/x", "http://localhost/x"):
            response = guarded_client.post(
                "/v1/webhooks",
                json={"url": url, "events": ["shipment.assessed"]},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert response.status_code == 422, response.text
            assert response.json()["errors"][0]["field"] == "url"
