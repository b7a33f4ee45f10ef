"""Webhooks: signed, retried with back-off, recorded, and never lost across a restart."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from app.main import create_app
from app.services.webhooks import (
    Claimed,
    Dispatcher,
    DispatchSettings,
    backoff_seconds,
    event_body,
    verify_signature,
)
from app.settings import Settings
from tests.api.conftest import auth, example_manifest

IMPORTER = "Acme Apparel Inc"
SECRET = "test-secret-0123456789abcdef"


class Receiver:
    """A tiny HTTP server on 127.0.0.1 that records every request and answers `status`."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.status = 200
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

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


# --- DNS rebinding: the address checked is the address connected to -----------------------

PUBLIC = "93.184.216.34"  # a global address; the fake network never really connects to it


class FakeNetwork:
    """Fake DNS for made-up names, and a `socket.create_connection` that does what the OS
    would (resolve through that DNS, try each answer in turn) but refuses public addresses
    instead of leaving this machine. Records every query and every connect.

    `answers` maps a name to its successive answers (the last one repeats); an answer is an
    address or a tuple of addresses."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str | tuple[str, ...]]]
    ) -> None:
        self.queries: list[str] = []
        self.connects: list[str] = []
        real_getaddrinfo = socket.getaddrinfo
        real_create_connection = socket.create_connection

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else host
            if name not in answers:
                return real_getaddrinfo(host, port, *args, **kwargs)
            self.queries.append(name)
            queue = answers[name]
            answer = queue.pop(0) if len(queue) > 1 else queue[0]
            port_number = int(port or 0)
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port_number, 0, 0))
                if ":" in address
                else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port_number))
                for address in ((answer,) if isinstance(answer, str) else answer)
            ]

        def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
            host, port = address[0], address[1]
            self.connects.append(host)
            error: OSError = OSError(f"test network: {host} has no address")
            for info in getaddrinfo(host, port):
                target = info[4][0]
                if ipaddress.ip_address(target).is_global:
                    error = ConnectionRefusedError(f"test network: not connecting to {target}")
                    continue
                return real_create_connection((target, port), *args, **kwargs)
            raise error

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket, "create_connection", create_connection)


def claimed_for(url: str) -> Claimed:
    event_id = uuid.uuid4()
    payload = {"id": str(event_id), "type": "shipment.assessed", "data": {"reference": "PIN"}}
    return Claimed(
        delivery_id=uuid.uuid4(),
        lease=datetime.now(UTC),
        attempts=0,
        url=url,
        secret=SECRET,
        event_id=event_id,
        event_type="shipment.assessed",
        body=event_body(payload),
    )


def dispatcher(allow_private: bool, client: httpx.Client | None = None) -> Dispatcher:
    # send() does not touch the database: an unbound sessionmaker is enough.
    return Dispatcher(
        sessionmaker(), DispatchSettings(timeout_seconds=5.0, allow_private=allow_private), client
    )


def test_a_name_rebound_between_check_and_connect_reaches_nothing_internal(
    monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    """The attacker's DNS answers the check with a public address and the next query with
    127.0.0.1: the delivery must go to the address that was checked, not resolve again."""
    net = FakeNetwork(monkeypatch, {"rebind.example.test": [PUBLIC, "127.0.0.1"]})
    guarded = dispatcher(allow_private=False)
    try:
        status, error = guarded.send(
            claimed_for(f"http://rebind.example.test:{receiver.port}/hook")
        )
    finally:
        guarded.close()
    assert receiver.requests == []
    assert net.queries == ["rebind.example.test"]  # resolved once
    assert net.connects == [PUBLIC]  # and connected to exactly that answer
    assert status is None and error is not None and error.startswith("ConnectError")


def test_delivery_goes_to_the_pinned_address_with_the_original_host(
    monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    net = FakeNetwork(monkeypatch, {"hooks.example.test": ["127.0.0.1"]})
    open_network = dispatcher(allow_private=True)
    claimed = claimed_for(f"http://hooks.example.test:{receiver.port}/hook")
    try:
        assert open_network.send(claimed) == (200, None)
    finally:
        open_network.close()
    assert net.queries == ["hooks.example.test"]
    assert net.connects == ["127.0.0.1"]
    [(headers, body)] = receiver.requests
    assert headers["host"] == f"hooks.example.test:{receiver.port}"
    assert body == claimed.body
    assert independently_valid(headers, body, SECRET)
    assert headers["x-uflpa-event-id"] == str(claimed.event_id)
    assert headers["x-uflpa-event-type"] == "shipment.assessed"
    assert headers["user-agent"] == "uflpa-webhooks/1"
    assert headers["content-type"] == "application/json"


def test_the_next_checked_address_is_tried_when_one_cannot_be_reached(
    monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    """As the OS would for a name with several addresses, but only among those checked."""
    net = FakeNetwork(monkeypatch, {"hooks.example.test": [(PUBLIC, "127.0.0.1")]})
    open_network = dispatcher(allow_private=True)
    try:
        status, error = open_network.send(
            claimed_for(f"http://hooks.example.test:{receiver.port}/hook")
        )
    finally:
        open_network.close()
    assert (status, error) == (200, None)
    assert net.queries == ["hooks.example.test"]
    assert net.connects == [PUBLIC, "127.0.0.1"]
    [(headers, _)] = receiver.requests
    assert headers["host"] == f"hooks.example.test:{receiver.port}"


def test_one_internal_address_among_public_ones_refuses_the_delivery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    net = FakeNetwork(monkeypatch, {"mixed.example.test": [(PUBLIC, "169.254.169.254")]})
    guarded = dispatcher(allow_private=False)
    try:
        status, error = guarded.send(claimed_for("http://mixed.example.test/latest/meta-data"))
    finally:
        guarded.close()
    assert status is None
    assert error == "refused: mixed.example.test resolves to 169.254.169.254, not a public address"
    assert net.connects == []


def test_an_ipv6_address_is_pinned_in_brackets(monkeypatch: pytest.MonkeyPatch) -> None:
    net = FakeNetwork(monkeypatch, {"six.example.test": ["2606:4700::1111"]})
    guarded = dispatcher(allow_private=False)
    try:
        status, error = guarded.send(claimed_for("https://six.example.test:8443/hook"))
    finally:
        guarded.close()
    assert net.connects == ["2606:4700::1111"]  # reached the (fake) network: the URL was valid
    assert status is None and error is not None and error.startswith("ConnectError")


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        + ["-nodes", "-days", "1", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.mark.parametrize("certified", ["hooks.example.test", "other.example.test"])
def test_https_to_a_pinned_address_verifies_the_certificate_for_the_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, certified: str
) -> None:
    """TLS is to the name (SNI and certificate check), though the connection is to the pinned
    address: a certificate for the name passes, one for another name fails the delivery."""
    cert, key = self_signed(tmp_path, certified)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    seen_sni: list[str | None] = []

    def remember_sni(_socket: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        seen_sni.append(name)

    server_tls.sni_callback = remember_sni
    https_receiver = Receiver(tls=server_tls)
    net = FakeNetwork(monkeypatch, {"hooks.example.test": ["127.0.0.1"]})
    client_tls = ssl.create_default_context(cafile=str(cert))
    client = httpx.Client(verify=client_tls, timeout=5.0, follow_redirects=False)
    open_network = dispatcher(allow_private=True, client=client)
    try:
        status, error = open_network.send(
            claimed_for(f"https://hooks.example.test:{https_receiver.port}/hook")
        )
    finally:
        open_network.close()
        https_receiver.close()
    assert net.connects == ["127.0.0.1"]
    assert seen_sni == ["hooks.example.test"]
    if certified == "hooks.example.test":
        assert (status, error) == (200, None)
        [(headers, _)] = https_receiver.requests
        assert headers["host"] == f"hooks.example.test:{https_receiver.port}"
    else:
        assert status is None and error is not None
        assert "certificate is not valid for 'hooks.example.test'" in error
        assert https_receiver.requests == []


def test_a_name_rebound_after_registration_is_refused_and_recorded(
    fast: Settings, make_key: Any, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    """Public when registered, 127.0.0.1 since: every delivery attempt is refused, recorded
    like any other failure, and nothing reaches the internal address."""
    net = FakeNetwork(monkeypatch, {"rebind.example.test": [PUBLIC, "127.0.0.1"]})
    guarded = fast.model_copy(
        update={"webhook_allow_private_networks": False, "webhook_max_attempts": 2}
    )
    key = make_key("importer", IMPORTER)
    url = f"http://rebind.example.test:{receiver.port}/hook"
    with TestClient(create_app(guarded), raise_server_exceptions=False) as app_client:
        hook = register(app_client, key, url)
        app_client.post(
            "/v1/shipments", json=example_manifest(reference="HOOK-DNS"), headers=auth(key)
        )
        deliveries = f"/v1/webhooks/{hook['id']}/deliveries"

        def failed() -> bool:
            items = app_client.get(deliveries, headers=auth(key)).json()["items"]
            return bool(items) and items[0]["status"] == "failed"

        assert wait_for(failed)
        [delivery] = app_client.get(deliveries, headers=auth(key)).json()["items"]
    assert delivery["attempts"] == 2 and delivery["last_status_code"] is None
    assert delivery["last_error"].startswith("refused: rebind.example.test resolves to 127.0.0.1")
    assert receiver.requests == []
    assert net.connects == []
