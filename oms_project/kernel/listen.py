"""Where `LISTEN` connects: the relay's and the live process's wake-ups on new outbox events.

`LISTEN` needs a session of its own for as long as it listens. Straight to PostgreSQL that is a
connection with `DATABASE_URL`'s parameters. Behind a pooler in transaction mode (PgBouncer) a
session is not kept: set `DATABASE_LISTEN_URL` to a URL that reaches PostgreSQL directly (it may
name several hosts, as `DATABASE_URL` may), or to `off`, and the listeners poll every second
instead (the wake-up only shortens an idle wait; nothing is missed either way).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection

from . import database_url


def listen_params() -> dict[str, Any] | None:
    """psycopg connection parameters for a listening session, or None: poll instead."""
    configured = getattr(settings, "DATABASE_LISTEN_URL", "").strip()
    if configured.lower() == "off":
        return None
    if configured:
        config = database_url.parse(configured)
        params: dict[str, Any] = {
            "dbname": config["NAME"],
            "user": config["USER"] or None,
            "password": config["PASSWORD"] or None,
            "host": config["HOST"] or None,
            "port": str(config["PORT"]) if config["PORT"] else None,
            **{k: v for k, v in config.get("OPTIONS", {}).items() if k != "prepare_threshold"},
        }
        return {k: v for k, v in params.items() if v is not None}
    params = connection.get_connection_params()
    for key in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(key, None)
    return params
