"""Webhook delivery through an egress proxy (https_proxy, http_proxy, no_proxy).

Behind a proxy the proxy makes the connection: a delivery goes to it by name, https in a
CONNECT tunnel with the certificate checked against the name end to end. The destination
check still runs first, and names that resolve to internal addresses are still refused.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from app.services.destinations import proxy_for
from app.services.webhooks import Dispatcher, DispatchSettings
from tests.api.test_webhook_rebinding import FakeNetwork, claimed_for, self_signed
from tests.api.test_webhooks import SECRET, Receiver, independently_valid, read_request_head


class Proxy:
    """A forward proxy on 127.0.0.1 that records each request's first line and connects
    every request to 127.0.0.1 on the port it names: CONNECT host:port opens a tunnel,
    anything else (an absolute-form `POST http://host:port/...`) is passed through."""

    def __init__(self) -> None:
        self.request_lines: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            head = read_request_head(client)
            if head is None:
                return
            first_line = head.split(b"\r\n", 1)[0].decode()
            self.request_lines.append(first_line)
            method, target, _ = first_line.split(" ")
            authority = target if method == "CONNECT" else target.split("/")[2]
            port = int(authority.rsplit(":", 1)[1])
            # A plain socket, not socket.create_connection: the tests' fake network records
            # the dispatcher's connections, and this one is the proxy's own.
            upstream = socket.socket()
            upstream.connect(("127.0.0.1", port))
            with upstream:
                if method == "CONNECT":
                    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                else:
                    upstream.sendall(head)
                pump = threading.Thread(target=_copy, args=(upstream, client), daemon=True)
                pump.start()
                _copy(client, upstream)
                pump.join(timeout=5)

    def close(self) -> None:
        self.listener.close()


def _copy(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
        target.shutdown(socket.SHUT_WR)
    except OSError:
        return


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture()
def proxy() -> Iterator[Proxy]:
    p = Proxy()
    yield p
    p.close()


def dispatcher(
    proxies: dict[str, str], allow_private: bool = False, verify: ssl.SSLContext | bool = True
) -> Dispatcher:
    return Dispatcher(
        sessionmaker(),
        DispatchSettings(timeout_seconds=5.0, allow_private=allow_private),
        verify=verify,
        proxies=proxies,
    )


@pytest.mark.parametrize("certified", ["hooks.example.test", "other.example.test"])
def test_https_through_a_proxy_is_a_tunnel_to_the_name_with_its_certificate_checked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, proxy: Proxy, certified: str
) -> None:
    cert, key = self_signed(tmp_path, certified)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    https_receiver = Receiver(tls=server_tls)
    net = FakeNetwork(monkeypatch, {"hooks.example.test": ["93.184.216.34"]})
    through_proxy = dispatcher(
        {"https": proxy.url}, verify=ssl.create_default_context(cafile=str(cert))
    )
    claimed = claimed_for(f"https://hooks.example.test:{https_receiver.port}/hook")
    try:
        status, error = through_proxy.send(claimed)
    finally:
        through_proxy.close()
        https_receiver.close()
    assert net.queries == ["hooks.example.test"]  # checked here first
    assert net.to(https_receiver.port) == []  # but connected by the proxy, to the name
    assert proxy.request_lines == [f"CONNECT hooks.example.test:{https_receiver.port} HTTP/1.1"]
    if certified == "hooks.example.test":
        assert (status, error) == (200, None)
        [(headers, body)] = https_receiver.requests
        assert headers["host"] == f"hooks.example.test:{https_receiver.port}"
        assert body == claimed.body and independently_valid(headers, body, SECRET)
    else:
        assert status is None and error is not None
        assert "certificate is not valid for 'hooks.example.test'" in error
        assert https_receiver.requests == []


def test_http_through_a_proxy_goes_by_name(
    monkeypatch: pytest.MonkeyPatch, proxy: Proxy, receiver: Receiver
) -> None:
    FakeNetwork(monkeypatch, {"hooks.example.test": ["93.184.216.34"]})
    through_proxy = dispatcher({"http": proxy.url})
    try:
        status, error = through_proxy.send(
            claimed_for(f"http://hooks.example.test:{receiver.port}/hook")
        )
    finally:
        through_proxy.close()
    assert (status, error) == (200, None)
    assert proxy.request_lines == [f"POST http://hooks.example.test:{receiver.port}/hook HTTP/1.1"]
    [(headers, _)] = receiver.requests
    assert headers["host"] == f"hooks.example.test:{receiver.port}"


def test_a_name_this_machine_cannot_resolve_is_left_to_the_proxy(
    proxy: Proxy, receiver: Receiver
) -> None:
    """Behind a proxy local DNS often knows no outside names: that is no reason to fail."""
    through_proxy = dispatcher({"http": proxy.url})
    try:
        status, error = through_proxy.send(
            claimed_for(f"http://unresolvable.invalid:{receiver.port}/hook")
        )
    finally:
        through_proxy.close()
    assert (status, error) == (200, None)
    assert proxy.request_lines == [
        f"POST http://unresolvable.invalid:{receiver.port}/hook HTTP/1.1"
    ]


def test_a_name_resolving_to_an_internal_address_is_refused_before_the_proxy(
    monkeypatch: pytest.MonkeyPatch, proxy: Proxy
) -> None:
    FakeNetwork(monkeypatch, {"intra.example.test": ["10.1.2.3"]})
    through_proxy = dispatcher({"https": proxy.url, "http": proxy.url})
    try:
        status, error = through_proxy.send(claimed_for("https://intra.example.test/hook"))
    finally:
        through_proxy.close()
    assert status is None
    assert error == "refused: intra.example.test resolves to 10.1.2.3, not a public address"
    assert proxy.request_lines == []


def test_no_proxy_hosts_are_reached_directly_at_the_pinned_address(
    monkeypatch: pytest.MonkeyPatch, proxy: Proxy, receiver: Receiver
) -> None:
    net = FakeNetwork(monkeypatch, {"hooks.partner.test": ["127.0.0.1"]})
    bypassing = dispatcher({"http": proxy.url, "no": "localhost,.partner.test"}, allow_private=True)
    try:
        status, error = bypassing.send(
            claimed_for(f"http://hooks.partner.test:{receiver.port}/hook")
        )
    finally:
        bypassing.close()
    assert (status, error) == (200, None)
    assert proxy.request_lines == []
    assert net.to(receiver.port) == ["127.0.0.1"]


@pytest.mark.parametrize(
    "proxy",
    [
        "socks5://user:hunter2@proxy.example.test:1080",
        "ftp://user:hunter2@proxy.example.test:21",
        "user:hunter2@proxy.example.test:3128",  # no scheme: httpx's error quotes it whole
    ],
)
def test_an_unusable_proxy_fails_the_delivery_without_naming_its_credentials(proxy: str) -> None:
    unusable = dispatcher({"https": proxy})
    try:
        status, error = unusable.send(claimed_for("https://93.184.216.34/hook"))
    finally:
        unusable.close()
    assert status is None
    assert error == "egress proxy unusable: only http:// and https:// proxies are supported"
    assert "hunter2" not in error


def test_the_standard_environment_variables_choose_the_proxy(
    monkeypatch: pytest.MonkeyPatch, proxy: Proxy, receiver: Receiver
) -> None:
    FakeNetwork(monkeypatch, {"hooks.example.test": ["93.184.216.34"]})
    monkeypatch.setenv("http_proxy", proxy.url)
    monkeypatch.setenv("no_proxy", "partner.test")
    from_environment = Dispatcher(sessionmaker(), DispatchSettings(timeout_seconds=5.0))
    try:
        status, error = from_environment.send(
            claimed_for(f"http://hooks.example.test:{receiver.port}/hook")
        )
    finally:
        from_environment.close()
    assert (status, error) == (200, None)
    assert proxy.request_lines == [f"POST http://hooks.example.test:{receiver.port}/hook HTTP/1.1"]


@pytest.mark.parametrize(
    ("host", "no_proxy", "direct"),
    [
        ("hooks.example.com", "", False),
        ("hooks.example.com", "*", True),
        ("hooks.example.com", "example.com", True),
        ("hooks.example.com", ".example.com", True),
        ("hooks.example.com", "*.example.com", True),
        ("example.com", ".example.com", True),
        ("notexample.com", "example.com", False),
        ("hooks.example.com", " other.test , EXAMPLE.com ", True),
        ("10.1.2.3", "10.0.0.0/8", True),
        ("11.1.2.3", "10.0.0.0/8", False),
        ("2001:db8::1", "[2001:db8::1]", True),
        ("hooks.example.com", "10.0.0.0/8,,", False),
    ],
)
def test_no_proxy_reads_as_curl_does(host: str, no_proxy: str, direct: bool) -> None:
    proxies = {"https": "http://proxy.example.test:3128", "no": no_proxy}
    assert (proxy_for("https", host, proxies) is None) is direct


def test_all_proxy_covers_every_scheme_and_a_scheme_proxy_wins() -> None:
    proxies = {"all": "http://all.test:1", "https": "http://https.test:2"}
    assert proxy_for("http", "hooks.example.com", proxies) == "http://all.test:1"
    assert proxy_for("https", "hooks.example.com", proxies) == "http://https.test:2"
    assert proxy_for("https", "hooks.example.com", {}) is None
