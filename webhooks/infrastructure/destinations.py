"""The destination rules (webhooks/domain/destinations.py) applied: when a subscription is saved
and when the relay connects.

`GuardedPlainConnection` and `GuardedTlsConnection` are `http.client` connections that resolve the
host themselves when they connect, check every address against the policy and connect to a checked
address (TLS still verifies the host name). A refused destination raises `DestinationRefused` out
of `request`, before any byte is sent. No proxy is used, so the checked address is the one
connected to.
"""

from __future__ import annotations

import http.client
import socket

from django.conf import settings
from django.core.exceptions import ValidationError

from webhooks.domain.destinations import DestinationPolicy, DestinationRefused


def destination_policy() -> DestinationPolicy:
    return DestinationPolicy.from_entries(
        allow_http=settings.OMS_WEBHOOK_ALLOW_HTTP, entries=settings.OMS_WEBHOOK_ALLOWED_DESTINATIONS
    )


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (empty when it does not)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return list(dict.fromkeys(info[4][0] for info in infos))


def check_subscription_url(url: str) -> str:
    """At save time: the URL, or DestinationRefused with the reason."""
    return destination_policy().check_url(url, resolve)


def validate_subscription_url(value: str) -> None:
    """The model field's validator (admin forms)."""
    try:
        check_subscription_url(value)
    except DestinationRefused as error:
        raise ValidationError(str(error)) from None


class _GuardedConnect:
    """`http.client`'s connect, through the destination rules: resolve the host now, check every
    address, connect to the first (TLS still verifies the host name)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = self._guarded_create_connection  # http.client sets it per instance

    def _guarded_create_connection(self, address, timeout, source_address=None):
        host, port = address
        policy = destination_policy()
        if policy.host_is_listed(host):
            return socket.create_connection((host, port), timeout, source_address)
        addresses = resolve(host, port)
        if not addresses:
            raise DestinationRefused(f"the host {host!r} does not resolve")
        for checked in addresses:
            policy.check_address(checked)
        return socket.create_connection((addresses[0], port), timeout, source_address)


class GuardedPlainConnection(_GuardedConnect, http.client.HTTPConnection):
    pass


class GuardedTlsConnection(_GuardedConnect, http.client.HTTPSConnection):
    pass
