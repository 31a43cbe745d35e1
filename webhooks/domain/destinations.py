"""Where outbound webhooks may go (docs/admin.md, "Subscription URLs").

A subscription URL is a way into the network the relay runs in, and a tenant's staff can set one.
So a destination must be:
- `https`, or plain `http` only where the operator allows it;
- a host whose every address is public: not loopback, link-local (169.254.0.0/16: the cloud
  metadata address), private, shared (100.64.0.0/10), multicast, reserved or unspecified,
  IPv4-mapped IPv6 addresses judged as the IPv4 address they carry;
- unless the operator lists it: an allowed entry is a host name (trusted whatever it resolves to,
  e.g. an internal `fulfilment` service) or an address or network (`127.0.0.1`, `10.1.0.0/16`).

The same rules run when a subscription is saved and again when the relay connects, against the
addresses it actually connects to (DNS can change in between).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from oms_project.kernel.errors import CodedError

from .outbound import check_url

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class DestinationRefused(CodedError, ValueError):
    """The URL or the address it leads to is not an allowed webhook destination."""

    code = "INVALID"


@dataclass(frozen=True)
class DestinationPolicy:
    allow_http: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[Network, ...] = ()

    @classmethod
    def from_entries(cls, *, allow_http: bool, entries: Iterable[str]) -> DestinationPolicy:
        """`entries`: host names, addresses or networks (CIDR), as the operator's setting lists them."""
        hosts, networks = set(), []
        for entry in (e.strip() for e in entries):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(allow_http=allow_http, allowed_hosts=frozenset(hosts), allowed_networks=tuple(networks))

    def host_is_listed(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.allowed_hosts

    def check_address(self, address: str) -> None:
        """Raise DestinationRefused unless a connection to `address` is allowed."""
        try:
            ip: Address = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            raise DestinationRefused(f"{address!r} is not an IP address") from None
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in network for network in self.allowed_networks):
            return
        kind = _non_public_kind(ip)
        if kind:
            raise DestinationRefused(
                f"{ip} is a {kind} address; list it in OMS_WEBHOOK_ALLOWED_DESTINATIONS to allow it"
            )

    def check_url(self, url: str, resolve: Callable[[str, int], list[str]]) -> str:
        """The URL, checked: scheme, then every address its host resolves to (`resolve(host,
        port)`, an empty list when it does not resolve). Raises DestinationRefused."""
        try:
            url = check_url(url)
        except ValueError as error:
            raise DestinationRefused(str(error)) from None
        parts = urlsplit(url)
        if parts.scheme == "http" and not self.allow_http:
            raise DestinationRefused("the URL must be https (plain http is not allowed here)")
        host = parts.hostname or ""
        if self.host_is_listed(host):
            return url
        addresses = resolve(host, parts.port or (443 if parts.scheme == "https" else 80))
        if not addresses:
            raise DestinationRefused(f"the host {host!r} does not resolve")
        for address in addresses:
            self.check_address(address)
        return url


def _non_public_kind(ip: Address) -> str:
    for kind, test in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if test:
            return kind
    return "" if ip.is_global else "non-public"
