"""Where webhooks may be sent: not, by default, to this machine or a private network.

A webhook URL is chosen by a client, so without this check a broker key could make the
service call internal addresses (SSRF: metadata endpoints, databases, admin ports). The check
runs at registration and again before every delivery, since DNS answers can change.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not ip.is_global or ip.is_multicast


def private_destination_reason(url: str) -> str | None:
    """Why `url` points at a loopback, private, link-local or reserved address, or None.

    A name that does not resolve now is not refused: delivery will fail and be retried."""
    host = urlsplit(url).hostname
    if host is None:
        return "no host"
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(
        ".localhost"
    ):
        return f"{host} is this machine"
    try:
        if _is_internal(host):
            return f"{host} is not a public address"
        return None
    except ValueError:
        pass  # a name, not an IP literal
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return None
    for info in infos:
        address = str(info[4][0])
        if _is_internal(address):
            return f"{host} resolves to {address}, not a public address"
    return None
