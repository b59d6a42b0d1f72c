"""Whose address is this request's: the rule the console (audit, sign-in throttle) and the web chat (rate limits)
share.

X-Forwarded-For is believed only when the connection comes from one of TRUSTED_PROXIES (none by default), and then
only as far as the proxies vouch for it: the right-most address that is not itself a trusted proxy. A client
connecting directly, or one writing its own X-Forwarded-For, cannot pick its address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from storage.settings import IPNetwork


def client_address(remote: str | None, forwarded: Iterable[str], trusted: tuple[IPNetwork, ...]) -> str:
    """`remote`: the connection's peer; `forwarded`: every X-Forwarded-For header, in order."""
    peer = remote or "unknown"
    if not trusted or not _is_in(peer, trusted):
        return peer[:64]
    hops = [hop.strip() for header in forwarded for hop in header.split(",")]
    hops = [hop for hop in hops if hop]
    for hop in reversed(hops):
        if not _is_in(hop, trusted):
            return hop[:64]
    return (hops[0] if hops else peer)[:64]  # every hop is one of our proxies: the first is the client


def _is_in(address: str, networks: tuple[IPNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
