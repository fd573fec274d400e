"""The client's address: the TCP peer, or X-Forwarded-For's when the peer is a trusted proxy.

Only a configured proxy (PAPERTRADE_TRUSTED_PROXIES, e.g. the edge's WireGuard address) may
say who the client is; anyone else could write any X-Forwarded-For they like.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from litestar.connection import ASGIConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDR networks; ValueError names the one that is neither."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(text: str, proxies: tuple[Network, ...]) -> bool:
    address = _address(text)
    return address is not None and any(address in network for network in proxies)


def client_address(connection: ASGIConnection, proxies: tuple[Network, ...]) -> str:
    peer = connection.client.host if connection.client else "unknown"
    if not proxies or not _trusted(peer, proxies):
        return peer
    forwarded = ",".join(connection.headers.getall("x-forwarded-for", [])).split(",")
    # Each proxy appends the address it saw: the rightmost one not of our proxies is the client.
    for hop in reversed(forwarded):
        if not hop.strip():
            continue
        if not _trusted(hop, proxies):
            return hop.strip() if _address(hop) is not None else peer
    return peer
