"""Reads from PostgreSQL read replicas: the one home of where a read goes (docs/scaling.md).

With `DATABASE_REPLICA_URLS` set, each replica is a database alias (`replica_0`, ...). A
GraphQL query, and an admin page that only shows (GET), run inside `reading(sub, after)`: the
request's connection, its tenant transaction and the ORM (through `ReplicaRouter`) then use a
replica chosen here. Mutations, webhooks, the relay and every other write use the primary.

A replica is chosen only when:

- it answered its health check in the last second or two (each process checks each replica at
  most once a second: `pg_last_wal_replay_lsn()`, and its lag, 0 when it has replayed all the
  WAL it received, else the time since the last transaction it replayed). A replica that does not
  answer is skipped for `DOWN_SECONDS`;
- its lag is at most `OMS_REPLICA_MAX_LAG_SECONDS`;
- it has replayed the caller's last write (read-your-writes). A mutation answers the primary's
  WAL position after its commit in the `X-Read-After` header, and this process remembers it for
  the token's `sub` for `OMS_REPLICA_STICKY_SECONDS`. A read that sends the header (any process)
  or comes from a remembered `sub` (this process) needs a replica at or past that position, else
  it reads the primary.

Otherwise the read falls back to the primary. `/metrics` counts reads per database and
fallbacks per reason, and shows each replica's last measured lag.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import Model

from oms_project.kernel.metrics import REPLICA_FALLBACKS, REPLICA_LAG, REPLICA_READS
from oms_project.kernel.prepared import READING_FROM

logger = logging.getLogger("oms.replicas")

PREFIX = "replica_"
HEALTH_SECONDS = 1.0  # how long one health check of a replica is trusted
DOWN_SECONDS = 5.0  # how long a replica that did not answer is skipped
HEADER = "X-Read-After"
_LSN = re.compile(r"^[0-9A-F]{1,8}/[0-9A-F]{1,8}$")


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith(PREFIX)]


def current_alias() -> str:
    """The database this request reads from (the primary unless inside `reading`)."""
    return READING_FROM.get()


def lsn_value(text: str | None) -> int | None:
    """A WAL position (`16/B374D848`) as a number; None if it is not one."""
    if not text or not _LSN.match(text.strip().upper()):
        return None
    high, low = text.strip().upper().split("/")
    return (int(high, 16) << 32) + int(low, 16)


@dataclass
class _Health:
    checked: float = 0.0
    down_until: float = 0.0
    lag: float = 0.0
    replayed: int = 0


_health: dict[str, _Health] = {}
_writes: dict[str, tuple[float, int]] = {}  # sub -> (until, position) of its last write here
_lock = threading.Lock()


def _check(alias: str, health: _Health, now: float) -> None:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(
                "SELECT pg_last_wal_replay_lsn()::text, CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() "
                "THEN 0 ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
            )
            replayed, lag = cursor.fetchone()
    except DatabaseError as error:
        logger.warning("replica %s did not answer its health check: %s", alias, error)
        connections[alias].close()
        health.down_until = now + DOWN_SECONDS
        return
    health.checked, health.lag, health.replayed = now, float(lag), lsn_value(replayed) or 0
    REPLICA_LAG.labels(alias).set(health.lag)


def _usable(alias: str, needed: int) -> str | None:
    """None if `alias` can serve a read that must see WAL position `needed`, else why not."""
    now = time.monotonic()
    health = _health.setdefault(alias, _Health())
    if health.down_until > now:
        return "down"
    if now - health.checked > HEALTH_SECONDS or (needed and health.replayed < needed):
        _check(alias, health, now)
        if health.down_until > now:
            return "down"
    if health.lag > settings.OMS_REPLICA_MAX_LAG_SECONDS:
        return "lag"
    if needed and health.replayed < needed:
        return "behind"
    return None


def choose(sub: str | None, read_after: str | None) -> str:
    """The database a read-only request of `sub` should use (see the module docstring)."""
    aliases = replica_aliases()
    if not aliases:
        return DEFAULT_DB_ALIAS
    needed = lsn_value(read_after) or 0
    if sub:
        remembered = _writes.get(sub)
        if remembered and remembered[0] > time.monotonic():
            needed = max(needed, remembered[1])
    reasons = []
    for alias in random.sample(aliases, len(aliases)):
        reason = _usable(alias, needed)
        if reason is None:
            return alias
        reasons.append(reason)
    REPLICA_FALLBACKS.labels("behind" if "behind" in reasons else reasons[0]).inc()
    return DEFAULT_DB_ALIAS


@contextmanager
def reading(sub: str | None = None, read_after: str | None = None) -> Iterator[str]:
    """Run a read-only request on a replica, when one can serve it (else on the primary)."""
    if not replica_aliases():
        yield DEFAULT_DB_ALIAS
        return
    alias = choose(sub, read_after)
    REPLICA_READS.labels("primary" if alias == DEFAULT_DB_ALIAS else alias).inc()
    token = READING_FROM.set(alias)
    try:
        yield alias
    finally:
        READING_FROM.reset(token)


def written(sub: str | None) -> str | None:
    """After a mutation committed: the primary's WAL position now (None without replicas), which
    this process remembers for `sub` and the response carries as `X-Read-After`."""
    if not replica_aliases():
        return None
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        position: str = cursor.fetchone()[0]
    if sub:
        with _lock:
            if len(_writes) > 100_000:
                _writes.clear()
            _writes[sub] = (time.monotonic() + settings.OMS_REPLICA_STICKY_SECONDS, lsn_value(position) or 0)
    return position


class ReplicaRouter:
    """Reads inside `reading` go to its replica; writes and migrations to the primary only."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        return READING_FROM.get()

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS
