"""Where webhooks may be sent: not, by default, to this machine or a private network.

A webhook URL is chosen by a client, so without this check a broker key could make the
service call internal addresses (SSRF: metadata endpoints, databases, admin ports). The check
runs at registration and again at every delivery. At delivery the name is resolved once,
every address is checked, and the connection goes to a checked address (the dispatcher pins
it): resolving again to connect would let a DNS-rebinding attacker answer the check with a
public address and the connection with 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class RefusedDestination(Exception):
    """The destination is this machine or an internal network; the message says why."""


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not ip.is_global or ip.is_multicast


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def resolve_destination(host: str, port: int | None, *, allow_private: bool) -> list[str]:
    """The addresses to connect to for `host`, in the resolver's order, resolved once.

    Raises RefusedDestination if any of them is loopback, private, link-local or reserved
    (unless `allow_private`), and OSError (or UnicodeError for a malformed name) if the
    name does not resolve. Connect only to the addresses returned: they are the ones checked.
    """
    lowered = host.lower()
    if not allow_private and (
        lowered in ("localhost", "localhost.localdomain") or lowered.endswith(".localhost")
    ):
        raise RefusedDestination(f"{host} is this machine")
    if _is_ip_literal(host):
        if not allow_private and _is_internal(host):
            raise RefusedDestination(f"{host} is not a public address")
        return [host]
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses = list(
        dict.fromkeys(
            str(info[4][0]) for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)
        )
    )
    if not addresses:
        raise OSError(f"{host} has no IPv4 or IPv6 address")
    if not allow_private:
        for address in addresses:
            if not _is_ip_literal(address) or _is_internal(address):
                raise RefusedDestination(f"{host} resolves to {address}, not a public address")
    return addresses


def private_destination_reason(url: str) -> str | None:
    """Why `url` points at a loopback, private, link-local or reserved address, or None.

    A name that does not resolve now is not refused: delivery will fail and be retried."""
    host = urlsplit(url).hostname
    if host is None:
        return "no host"
    try:
        resolve_destination(host, None, allow_private=False)
    except RefusedDestination as exc:
        return str(exc)
    except (OSError, UnicodeError):
        return None
    return None
