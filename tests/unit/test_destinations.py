"""The webhook SSRF guard refuses this machine and private networks, in any spelling."""

from __future__ import annotations

import re
import socket
from typing import Any

import pytest

from app.services.destinations import (
    RefusedDestination,
    private_destination_reason,
    resolve_destination,
)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "https://api.localhost/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.5/hook",
        "http://192.168.1.10/hook",
        "http://169.254.169.254/latest/meta-data",  # cloud metadata endpoint
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_internal_destinations_are_refused(url: str) -> None:
    assert private_destination_reason(url) is not None


@pytest.mark.parametrize("url", ["https://93.184.216.34/hook", "https://[2606:4700::1111]/hook"])
def test_public_addresses_are_allowed(url: str) -> None:
    assert private_destination_reason(url) is None


# --- resolve_destination: resolved once, every address checked, the checked ones returned ---


def fake_resolver(
    monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]
) -> list[tuple[str, int | None]]:
    """Answers for made-up names; any other name fails to resolve. Returns the query log."""
    queries: list[tuple[str, int | None]] = []

    def getaddrinfo(host: str, port: int | None, *args: Any, **kwargs: Any) -> Any:
        queries.append((host, port))
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port or 0, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port or 0))
            for a in answers[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return queries


def test_a_public_name_gives_its_addresses_once_each_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queries = fake_resolver(
        monkeypatch, {"hooks.example.test": ["93.184.216.34", "2606:4700::1111", "93.184.216.34"]}
    )
    addresses = resolve_destination("hooks.example.test", 443, allow_private=False)
    assert addresses == ["93.184.216.34", "2606:4700::1111"]
    assert queries == [("hooks.example.test", 443)]


@pytest.mark.parametrize("internal", ["127.0.0.1", "10.0.0.7", "169.254.169.254", "::1", "fd00::1"])
def test_any_internal_answer_refuses_the_name(
    monkeypatch: pytest.MonkeyPatch, internal: str
) -> None:
    fake_resolver(monkeypatch, {"rebind.example.test": ["93.184.216.34", internal]})
    with pytest.raises(RefusedDestination, match=f"resolves to {re.escape(internal)}"):
        resolve_destination("rebind.example.test", 80, allow_private=False)


def test_allowing_private_networks_returns_internal_addresses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_resolver(monkeypatch, {"hooks.example.test": ["127.0.0.1"], "localhost": ["::1"]})
    assert resolve_destination("hooks.example.test", 80, allow_private=True) == ["127.0.0.1"]
    assert resolve_destination("localhost", 80, allow_private=True) == ["::1"]
    assert resolve_destination("10.0.0.7", 80, allow_private=True) == ["10.0.0.7"]


def test_literals_and_localhost_are_decided_without_resolving(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queries = fake_resolver(monkeypatch, {})
    assert resolve_destination("93.184.216.34", 80, allow_private=False) == ["93.184.216.34"]
    assert resolve_destination("2606:4700::1111", 80, allow_private=False) == ["2606:4700::1111"]
    for host in ("127.0.0.1", "::1", "localhost", "api.localhost"):
        with pytest.raises(RefusedDestination):
            resolve_destination(host, 80, allow_private=False)
    assert queries == []


def test_a_name_that_does_not_resolve_raises_oserror_at_delivery_but_passes_registration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_resolver(monkeypatch, {})
    with pytest.raises(OSError):
        resolve_destination("gone.example.test", 80, allow_private=False)
    assert private_destination_reason("https://gone.example.test/hook") is None


def test_registration_check_uses_the_same_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_resolver(monkeypatch, {"rebind.example.test": ["93.184.216.34", "192.168.0.2"]})
    reason = private_destination_reason("https://rebind.example.test/hook")
    assert reason == "rebind.example.test resolves to 192.168.0.2, not a public address"
