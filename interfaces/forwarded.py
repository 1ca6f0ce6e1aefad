"""Who is calling, and over what: the peer, or what a TRUSTED proxy says (X-Forwarded-For,
X-Forwarded-Proto). Forwarded headers from any other peer are ignored: a client could write
anything there. Trusted proxies: SMART_EXAM_TRUSTED_PROXIES (addresses or networks)."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

from starlette.requests import HTTPConnection

Networks = Sequence[IPv4Network | IPv6Network]


def _trusted(host: str, proxies: Networks) -> bool:
    try:
        address = ip_address(host.strip())
    except ValueError:
        return False
    return any(address in network for network in proxies)


def client_address(request: HTTPConnection, proxies: Networks) -> str:
    """The caller's address: from the right of X-Forwarded-For, the first hop that is not one
    of our proxies (hops left of it were written by the client and prove nothing)."""
    peer = request.client.host if request.client else "unknown"
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop[:64]
    return hops[0][:64] if hops else peer


def is_https(request: HTTPConnection, proxies: Networks) -> bool:
    """Whether the browser talks HTTPS to us: directly, or to a trusted proxy that says so."""
    if request.url.scheme in ("https", "wss"):
        return True
    peer = request.client.host if request.client else ""
    if proxies and _trusted(peer, proxies):
        proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        return proto == "https"
    return False
