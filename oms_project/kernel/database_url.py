"""`DATABASE_URL` into Django's database settings, including libpq's multi-host form.

A highly available PostgreSQL is reached through several hosts, and libpq tries them in order until
one accepts the session the URL asks for (`target_session_attrs=read-write`: the primary):

    postgres://oms@db-a:5432,db-b:5432/oms?target_session_attrs=read-write&connect_timeout=3

`dj_database_url` refuses that netloc, so the hosts are taken out, the rest of the URL is parsed as
usual, and the hosts go back into `HOST` and `PORT` as libpq's comma-separated lists (psycopg passes
them on as they are). A host without a port gets the first explicit port, or 5432.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dj_database_url

DEFAULT_PORT = "5432"


def parse(url: str, *, conn_max_age: int = 0) -> dict[str, Any]:
    parts = urlsplit(url)
    credentials, at, hosts = parts.netloc.rpartition("@")
    if "," not in hosts:
        return dict(dj_database_url.parse(url, conn_max_age=conn_max_age))
    pairs = [_host_and_port(item) for item in hosts.split(",") if item]
    if not pairs or any(not host for host, _ in pairs):
        raise ValueError("DATABASE_URL: every host of a multi-host URL needs a name")
    first_port = next((port for _, port in pairs if port), DEFAULT_PORT)
    single = urlunsplit(parts._replace(netloc=f"{credentials}{at}{_netloc(*pairs[0])}"))
    config = dict(dj_database_url.parse(single, conn_max_age=conn_max_age))
    config["HOST"] = ",".join(host for host, _ in pairs)
    config["PORT"] = ",".join(port or first_port for _, port in pairs)
    return config


def _host_and_port(item: str) -> tuple[str, str]:
    if item.startswith("["):  # an IPv6 address: [::1]:5432
        host, _, rest = item[1:].partition("]")
        return host, rest.removeprefix(":")
    host, _, port = item.partition(":")
    return host, port


def _netloc(host: str, port: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}" if port else shown
