"""The egress guard: which network addresses Passway may open a connection to.

A provider's base URL may hold values a customer chose (a workspace, a whole host), so a connection
could otherwise make Passway call its own network: a loopback admin port, a database on a private
address, the cloud metadata service. By default every address that is not globally routable is
refused; ``PASSWAY_EGRESS_ALLOW`` lists the hosts and networks an operator wants reachable anyway.

The check runs on the addresses about to be connected to, after DNS resolution, in the one HTTP
client Passway sends everything with (``passway.http1.client``: proxied calls, token endpoints,
webhooks): ``EgressPolicy`` is its ``AddressGuard``. There is no window between the check and the
connection for a DNS answer to change (rebinding), and IP-literal hosts are checked the same way. An
operator catalog entry may allow its own upstream hosts (``egressAllow``,
``EgressPolicy.extended``): that provider's proxied calls are checked against the global list plus
its own, and the pool keeps their connections apart from other providers'. A refusal raises
``EgressRefused`` (an ``OSError``) before any socket is opened; callers turn it into
``passway.errors.EgressDenied`` with ``egress_denial``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from passway.errors import ConfigurationError, EgressDenied

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_METADATA = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, ...
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
        ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)


def _v4_reason(ip: ipaddress.IPv4Address) -> str | None:
    if ip in _METADATA:
        return "cloud metadata address"
    if ip.is_unspecified:
        return "unspecified address"
    if ip.is_loopback:
        return "loopback address"
    if ip.is_link_local:
        return "link-local address"
    if ip in _CGNAT:
        return "shared (CGNAT) address"
    if ip.is_multicast:
        return "multicast address"
    if ip.is_private:
        # RFC 1918 and the other special-purpose blocks Python lists as private (TEST-NETs, ...).
        return "private address"
    if ip.is_reserved or not ip.is_global:
        return "reserved address"
    return None


def _v6_reason(ip: ipaddress.IPv6Address) -> str | None:
    if ip in _METADATA:
        return "cloud metadata address"
    if ip.ipv4_mapped is not None:
        inner = _v4_reason(ip.ipv4_mapped)
        return f"IPv4-mapped {inner}" if inner else "IPv4-mapped address"
    embedded = _embedded_v4(ip)
    if embedded is not None:
        inner = _v4_reason(embedded)
        if inner:
            return f"IPv6 address embedding a {inner}"
    if ip.is_unspecified:
        return "unspecified address"
    if ip.is_loopback:
        return "loopback address"
    if ip.is_link_local:
        return "link-local address"
    if ip.is_multicast:
        return "multicast address"
    if ip.is_site_local or ip.is_private:
        return "private address"
    if ip.is_reserved or not ip.is_global:
        return "reserved address"
    return None


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a 6to4, Teredo or NAT64 address routes to, if any."""
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


@lru_cache(maxsize=4096)
def blocked_reason(address: str) -> str | None:
    """Why ``address`` (an IP literal, optionally with an IPv6 zone) is blocked by default, or None.

    Anything that is not a globally routable unicast address is blocked: the categories are named
    so the refusal can say which rule applied.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv4Address):
        return _v4_reason(ip)
    return _v6_reason(ip)


def _normalise_host(host: str) -> str:
    return host.strip().rstrip(".").lower().strip("[]")


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """The private or loopback targets the operator explicitly allows (public ones always are).

    ``hosts`` match the URL's host name exactly (``*.corp.example`` matches any name under it);
    ``networks`` match the resolved address (an IPv4-mapped IPv6 address also by its IPv4 form).
    """

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()
    host_suffixes: tuple[str, ...] = ()
    # The HTTP client's pool key holds the policy: hashed on every call, so hashed once here
    # (hashing each network anew cost more than the rest of the pool lookup).
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.networks, self.hosts, self.host_suffixes)))

    def __hash__(self) -> int:
        return self._hash

    @classmethod
    def from_settings(cls, allow: Iterable[str]) -> EgressPolicy:
        """Parse ``PASSWAY_EGRESS_ALLOW`` entries: CIDRs, IP addresses, host names, ``*.suffix``."""
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        suffixes: list[str] = []
        for raw in allow:
            entry = _normalise_host(raw)
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                if "/" in entry:
                    raise ConfigurationError(
                        f"PASSWAY_EGRESS_ALLOW: {raw!r} is not a valid CIDR"
                    ) from None
            if entry.startswith("*."):
                suffixes.append(entry[1:])
            else:
                hosts.add(entry)
        return cls(tuple(networks), frozenset(hosts), tuple(suffixes))

    def extended(self, allow: Iterable[str]) -> EgressPolicy:
        """This policy plus ``allow`` (a provider's own ``egressAllow``); itself when empty, so
        providers without one share the global policy (and its pooled connections)."""
        extra = EgressPolicy.from_settings(allow)
        if not (extra.networks or extra.hosts or extra.host_suffixes):
            return self
        return EgressPolicy(
            self.networks + extra.networks,
            self.hosts | extra.hosts,
            self.host_suffixes + extra.host_suffixes,
        )

    def host_allowed(self, host: str) -> bool:
        name = _normalise_host(host)
        return name in self.hosts or any(name.endswith(s) for s in self.host_suffixes)

    def address_allowed(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        return any(
            c in net for c in candidates for net in self.networks if c.version == net.version
        )

    def refusal(self, host: str, address: str) -> str | None:
        """Why connecting to ``address`` (resolved from ``host``) is refused, or None if allowed."""
        reason = blocked_reason(address)
        if reason is None or self.host_allowed(host) or self.address_allowed(address):
            return None
        return reason

    def check(self, host: str, addresses: Sequence[str]) -> list[str]:
        """The addresses that may be used, in order; raises ``EgressRefused`` if none may."""
        allowed = [a for a in addresses if self.refusal(host, a) is None]
        if not allowed and addresses:
            first = addresses[0]
            raise EgressRefused(host, first, self.refusal(host, first) or "refused")
        return allowed


class EgressRefused(OSError):
    """Raised inside the connector, before any socket is opened, for a refused target."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        super().__init__(f"egress to {host} ({address}) refused: {reason}")
        self.host = host
        self.address = address
        self.reason = reason


def egress_denial(exc: BaseException) -> EgressDenied | None:
    """The ``EgressDenied`` to answer if ``exc`` came from the egress guard.

    Walks ``os_error`` / ``__cause__`` / ``__context__``, where a wrapped ``EgressRefused`` sits.
    The detail names the host and the rule, never a credential.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, EgressRefused):
            return EgressDenied(
                f"Refusing to connect to {current.host}: it resolves to a {current.reason} "
                f"({current.address}).",
                context={
                    "host": current.host,
                    "address": current.address,
                    "reason": current.reason,
                },
            )
        nested = getattr(current, "os_error", None)
        if isinstance(nested, BaseException) and id(nested) not in seen:
            current = nested
            continue
        current = current.__cause__ or current.__context__
    return None
