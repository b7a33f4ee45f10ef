"""Webhook delivery and DNS rebinding: the address checked is the address connected to.

A module of its own: test_webhooks' module-wide app runs a dispatcher (private networks
allowed) on the same database, which could claim and deliver this module's deliveries.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from app.main import create_app
from app.services.webhooks import Claimed, Dispatcher, DispatchSettings, event_body
from app.settings import Settings
from tests.api.conftest import auth, example_manifest
from tests.api.test_webhooks import (
    IMPORTER,
    SECRET,
    Receiver,
    independently_valid,
    register,
    wait_for,
)


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


PUBLIC = "93.184.216.34"  # a global address; the fake network never really connects to it


class FakeNetwork:
    """Fake DNS for made-up names, and a `socket.create_connection` that does what the OS
    would (resolve through that DNS, try each answer in turn) but refuses public addresses
    instead of leaving this machine. Records every query and every connect; `to(port)`
    gives the connects to one port, the test's own (nothing else in this module delivers,
    but the check does not depend on it).

    `answers` maps a name to its successive answers (the last one repeats); an answer is an
    address or a tuple of addresses."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str | tuple[str, ...]]]
    ) -> None:
        self.queries: list[str] = []
        self.connects: list[tuple[str, int]] = []
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
            self.connects.append((host, int(port)))
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

    def to(self, port: int) -> list[str]:
        """The hosts connected to on `port`, in order."""
        return [host for host, p in self.connects if p == port]


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


def dispatcher(allow_private: bool, verify: ssl.SSLContext | bool = True) -> Dispatcher:
    # send() does not touch the database: an unbound sessionmaker is enough. No proxy: the
    # environment's (if any) must not decide these tests (test_webhook_proxy covers them).
    return Dispatcher(
        sessionmaker(),
        DispatchSettings(timeout_seconds=5.0, allow_private=allow_private),
        verify=verify,
        proxies={},
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
    assert net.to(receiver.port) == [PUBLIC]  # and connected to exactly that answer
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
    assert net.to(receiver.port) == ["127.0.0.1"]
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
    assert net.to(receiver.port) == [PUBLIC, "127.0.0.1"]
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
    assert net.to(80) == []


def test_an_ipv6_address_is_pinned_in_brackets(monkeypatch: pytest.MonkeyPatch) -> None:
    net = FakeNetwork(monkeypatch, {"six.example.test": ["2606:4700::1111"]})
    guarded = dispatcher(allow_private=False)
    try:
        status, error = guarded.send(claimed_for("https://six.example.test:8443/hook"))
    finally:
        guarded.close()
    assert net.to(8443) == ["2606:4700::1111"]  # reached the (fake) network: the URL was valid
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
    open_network = dispatcher(allow_private=True, verify=client_tls)
    try:
        status, error = open_network.send(
            claimed_for(f"https://hooks.example.test:{https_receiver.port}/hook")
        )
    finally:
        open_network.close()
        https_receiver.close()
    assert net.to(https_receiver.port) == ["127.0.0.1"]
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
    settings: Settings, make_key: Any, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    """Public when registered, 127.0.0.1 since: every delivery attempt is refused, recorded
    like any other failure, and nothing reaches the internal address."""
    net = FakeNetwork(monkeypatch, {"rebind.example.test": [PUBLIC, "127.0.0.1"]})
    guarded = settings.model_copy(
        update={
            "webhook_allow_private_networks": False,
            "webhook_max_attempts": 2,
            "webhook_poll_seconds": 0.05,
            "webhook_backoff_base_seconds": 0.05,
            "webhook_backoff_max_seconds": 0.2,
        }
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
    assert net.to(receiver.port) == []


def test_deliveries_to_one_host_share_a_kept_alive_connection(
    monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    """A burst of events to one receiver costs one connection (one TLS handshake), also when
    the receiver answers with a short body, which is read to its end for that."""
    FakeNetwork(monkeypatch, {"hooks.example.test": ["127.0.0.1"]})
    receiver.answer = b'{"received": true}'
    open_network = dispatcher(allow_private=True)
    url = f"http://hooks.example.test:{receiver.port}/hook"
    try:
        outcomes = [open_network.send(claimed_for(url)) for _ in range(3)]
    finally:
        open_network.close()
    assert outcomes == [(200, None)] * 3
    assert len(receiver.requests) == 3
    assert len(set(receiver.peers)) == 1


def test_two_names_on_one_address_never_share_a_connection(
    monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    """Connections are pinned to an address, but each was opened (and its certificate
    checked) for one name: a request for another name on that address gets its own."""
    FakeNetwork(monkeypatch, {"a.example.test": ["127.0.0.1"], "b.example.test": ["127.0.0.1"]})
    open_network = dispatcher(allow_private=True)
    try:
        for name in ("a", "b", "a", "b"):
            claimed = claimed_for(f"http://{name}.example.test:{receiver.port}/hook")
            assert open_network.send(claimed) == (200, None)
    finally:
        open_network.close()
    hosts = [headers["host"].split(".")[0] for headers, _ in receiver.requests]
    assert hosts == ["a", "b", "a", "b"]
    connection_of = dict(zip(receiver.peers, hosts, strict=True))
    assert len(connection_of) == 2  # one connection per name, each reused
    assert sorted(connection_of.values()) == ["a", "b"]
