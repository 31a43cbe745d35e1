"""The destination rules (webhooks/domain/destinations.py) applied: when a subscription is saved
and when the relay connects.

`guarded_pool_manager()` is a urllib3 pool manager whose connections resolve the host themselves,
check every address against the policy and connect to a checked address (TLS still verifies the
host name). A refused destination raises `DestinationRefused` out of `request`, before any byte is
sent. No proxy is used, so the checked address is the one connected to.
"""

from __future__ import annotations

import socket

from django.conf import settings
from django.core.exceptions import ValidationError
from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

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


class _GuardedConnection:
    """Resolve, check every address, connect to the first one (send time)."""

    def _new_conn(self):
        policy = destination_policy()
        host = self._dns_host
        if policy.host_is_listed(host):
            return super()._new_conn()
        addresses = resolve(host, self.port)
        if not addresses:
            raise DestinationRefused(f"the host {host!r} does not resolve")
        for address in addresses:
            policy.check_address(address)
        self._dns_host = addresses[0]  # connect there; TLS and Host still use the name
        try:
            return super()._new_conn()
        finally:
            self._dns_host = host


class GuardedHTTPConnection(_GuardedConnection, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


def guarded_pool_manager(maxsize: int = 16) -> PoolManager:
    """Kept-alive connections, at most `maxsize` per host, every one checked when it opens."""
    manager = PoolManager(num_pools=64, maxsize=maxsize, block=False)
    manager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}
    return manager
