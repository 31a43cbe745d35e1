"""The destination rules (webhooks/domain/destinations.py) applied: when a subscription is saved
and when the relay connects.

`guarded_session()` is a `requests.Session` whose connections resolve the host themselves, check
every address against the policy and connect to a checked address (TLS still verifies the host
name). A refused destination raises `DestinationRefused` out of `session.post`, before any byte is
sent. Environment proxies are ignored, so the checked address is the one connected to.
"""

from __future__ import annotations

import socket

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from webhooks.domain.destinations import DestinationPolicy, DestinationRefused


def destination_policy() -> DestinationPolicy:
    return DestinationPolicy.from_entries(allow_http=settings.OMS_WEBHOOK_ALLOW_HTTP,
                                          entries=settings.OMS_WEBHOOK_ALLOWED_DESTINATIONS)


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


class GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


def guarded_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: we connect where we checked
    adapter = GuardedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
