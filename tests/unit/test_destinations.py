"""The webhook SSRF guard refuses this machine and private networks, in any spelling."""

from __future__ import annotations

import pytest

from app.services.destinations import private_destination_reason


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
