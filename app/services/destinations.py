"""Where webhooks may be sent: not, by default, to this machine or a private network.

A webhook URL is chosen by a client, so without this check a broker key could make the
service call internal addresses (SSRF: metadata endpoints, databases, admin ports). The check
runs at registration and again at every delivery. At delivery the name is resolved once,
every address is checked, and the connection goes to a checked address (the dispatcher pins
it): resolving again to connect would let a DNS-rebinding attacker answer the check with a
public address and the connection with 127.0.0.1.

Behind an egress proxy (the standard `https_proxy`, `http_proxy`, `all_proxy` and
`no_proxy` variables) the proxy makes the connection and resolves the name itself, so the
check here still refuses names that resolve to internal addresses, but pinning is the
proxy's to do: it must refuse internal destinations of its own.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
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


def proxy_for(scheme: str, host: str, proxies: Mapping[str, str]) -> str | None:
    """The proxy a request to `host` over `scheme` goes through, or None for a direct
    connection. `proxies` is as `urllib.request.getproxies_environment()` reads the standard
    variables: a proxy per scheme, "all" for any scheme, and "no" (`no_proxy`) for the hosts
    reached directly."""
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy or _bypassed(host, proxies.get("no", "")):
        return None
    return proxy


def _bypassed(host: str, no_proxy: str) -> bool:
    """Whether `no_proxy` names `host`, as curl reads it: "*", a name (which covers its
    subdomains; a leading "." or "*." is the same), an address or a network (10.0.0.0/8)."""
    host = host.lower().strip("[]")
    for entry in no_proxy.lower().split(","):
        entry = entry.strip().strip("[]")
        if entry.startswith("*."):
            entry = entry[1:]
        entry = entry.lstrip(".")
        if not entry:
            continue
        if entry == "*" or host == entry or host.endswith("." + entry):
            return True
        if _is_ip_literal(host) and "/" in entry:
            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
    return False
