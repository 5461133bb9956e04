"""Which URLs the service may fetch: the decisions, without I/O.

A page fetched on a user's behalf is a server-side request forgery surface: a search result (or a
redirect from one) could point at the metadata service, an admin port on loopback or a host on the
private network. Only http(s) on public addresses is fetched, unless an operator names a host as
allowed (an intranet wiki, or a test server).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class DomainRules:
    """Allow-list (empty: any domain) and block-list; a domain covers its subdomains."""

    allow: tuple[str, ...] = ()
    block: tuple[str, ...] = ()

    def permits(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
        if not host or any(_within(host, d) for d in self.block):
            return False
        return not self.allow or any(_within(host, d) for d in self.allow)


    def and_(self, other: DomainRules) -> DomainRules | BothRules:
        """These rules and ``other``'s at once (the service's and a collection's)."""
        return self if not (other.allow or other.block) else BothRules(self, other)


@dataclass(frozen=True)
class BothRules:
    first: DomainRules
    second: DomainRules

    def permits(self, url: str) -> bool:
        return self.first.permits(url) and self.second.permits(url)


def _within(host: str, domain: str) -> bool:
    domain = domain.lower().strip().lstrip(".").rstrip(".")
    return host == domain or host.endswith("." + domain)


def fetchable_scheme(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def host_and_port(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{(parts.hostname or '').lower()}:{port}"


def public_address(address: str) -> bool:
    """Globally routable: not loopback, private, link-local (cloud metadata), multicast or reserved."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def may_connect(url: str, addresses: list[str], allowed_private: frozenset[str]) -> bool:
    """Every address the host resolves to is public, or the host:port is explicitly allowed."""
    if host_and_port(url) in allowed_private:
        return True
    return bool(addresses) and all(public_address(a) for a in addresses)
