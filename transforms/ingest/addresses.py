"""Where a redirect may lead: a feed on a public host may not send us to an internal address.

Without this, any feed could answer `302 Location: http://169.254.169.254/...` (cloud metadata),
`http://127.0.0.1:8080/admin` or `http://2130706433/` and have wirewatch fetch it from inside the
network, turning an internal body into an alert or a dead letter. The rule is about a redirect
CROSSING from public to internal: a feed whose own URL is internal (an intranet feed) may redirect
within the intranet, and a feed with `allow_private: true` may redirect anywhere.

Judged on resolved addresses, never on how a host is spelled: every notation the resolver accepts
(127.1, 2130706433, 0x7f000001, 0177.0.0.1, [::1], ::ffff:127.0.0.1, a name pointing inside)
becomes the address a connection would reach. Known limit: the connection resolves the name
again, so a DNS answer that changes between the check and the connect (rebinding) is not caught.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Callable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], list[IPAddress]]
"""host (as in a URL, brackets allowed) -> the addresses a connection to it could reach."""

_KINDS = (
    ("is_loopback", "loopback"),
    ("is_link_local", "link-local"),
    ("is_multicast", "multicast"),
    ("is_unspecified", "unspecified"),
    ("is_reserved", "reserved"),
    ("is_private", "private"),
)


def resolve_host(host: str) -> list[IPAddress]:
    """Addresses of `host`: an IP literal parses without I/O, anything else through getaddrinfo
    (which is also what reads the legacy IPv4 forms). Unresolvable: [] (the fetch then fails to
    connect on its own)."""
    bare = host.strip("[]").split("%", 1)[0]
    try:
        return [ipaddress.ip_address(bare)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(bare, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(ipaddress.ip_address(i[4][0].split("%", 1)[0]) for i in infos))


def internal_kind(address: IPAddress) -> str | None:
    """Why `address` is not on the public internet ('loopback', 'private', ...), else None.
    An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is judged as the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for attribute, kind in _KINDS:
        if getattr(address, attribute):
            return kind
    return None if address.is_global else "non-public"


def redirect_refusal(
    source_addresses: list[IPAddress],
    target_host: str,
    target_addresses: list[IPAddress],
    *,
    allow_private: bool = False,
) -> str | None:
    """The pure decision: why a redirect from a feed at `source_addresses` to `target_host` is
    refused, else None. A source counts as internal if any of its addresses is (its own fetch
    already reaches inside); a target is refused if any of its addresses is internal."""
    if allow_private or any(internal_kind(a) for a in source_addresses):
        return None
    for address in target_addresses:
        kind = internal_kind(address)
        if kind:
            return (
                f"redirect from a public host to {target_host} ({address}, a {kind} address)"
                " refused; set allow_private: true on the feed if it is meant to go there"
            )
    return None


def check_redirect(
    source_host: str,
    target_host: str,
    *,
    allow_private: bool = False,
    resolve: Resolver = resolve_host,
) -> str | None:
    """`redirect_refusal` with both hosts resolved by `resolve` (injectable for tests)."""
    if allow_private:
        return None
    return redirect_refusal(
        resolve(source_host), target_host, resolve(target_host), allow_private=False
    )
