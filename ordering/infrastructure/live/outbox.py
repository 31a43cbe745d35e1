"""The outbox as the live hub's event source: the embedded default, and the fallback without a
stream (positions `o<outbox position>`).

One reader per process polls the outbox while any tenant is watched, for every watched tenant at
once. On PostgreSQL it wakes on `NOTIFY oms_outbox` (ordering migration 0008's trigger, sent at
each commit that wrote events); elsewhere it polls every `OMS_LIVE_POLL_SECONDS`.

Outbox positions come from a sequence, so a transaction that took a lower position can commit
after one with a higher position. The reader reads what is above the highest position it has
routed, and remembers the positions it skipped on the way (gaps): those are looked for again at
each read until they appear or `settle_seconds` pass (a rolled-back transaction's positions never
appear). A late commit is still routed, and nothing twice.

A replay reads the outbox in the tenant's scope, in position order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection

from oms_project.kernel.listen import listen_params
from oms_project.kernel.tenancy import tenant_reads
from ordering.application.live import (
    Feed,
    LiveEvent,
    ReplayUnavailable,
    event_of,
    routed_event,
    same_change_or_before,
)

from ..models import OutboxEvent
from .hub import Route, reads

logger = logging.getLogger(__name__)

NOTIFY_CHANNEL = "oms_outbox"
# The routing fields of the events above a position, out of each event's order document (PostgreSQL).
ROUTING_SQL = """
SELECT e.position, e.tenant_id, e.aggregate_id, e.type, e.sequence, e.occurred_at,
       e.data #>> '{order,customer,user_id}', e.data #>> '{order,status}', e.data #>> '{order,channel}',
       (e.data #>> '{order,version}')::int,
       ARRAY(SELECT DISTINCT line ->> 'vendor_id' FROM jsonb_array_elements(e.data #> '{order,lines}') AS line
              WHERE line ->> 'vendor_id' IS NOT NULL)
  FROM ordering_outbox_event AS e
 WHERE e.position > %s
 ORDER BY e.position
 LIMIT %s
"""
ROW_FIELDS = ("position", "tenant_id", "aggregate_id", "type", "sequence", "occurred_at", "data")


def live_event(row: dict[str, Any]) -> LiveEvent:
    return event_of(
        row["position"],
        row["tenant_id"],
        row["aggregate_id"],
        row["type"],
        row["sequence"],
        row["occurred_at"],
        row["data"],
    )


class OutboxReader:
    """The outbox as the reader reads it (every tenant) and as a replay reads it (one tenant)."""

    def latest(self) -> int:
        last = OutboxEvent.objects.order_by("-position").values_list("position", flat=True).first()
        return last or 0

    def events_after(self, high: int, limit: int) -> list[LiveEvent]:
        """The events above `high`, oldest first. On PostgreSQL only the fields the feeds route by
        are taken out of each event's order document (not the whole document)."""
        if connection.vendor != "postgresql":
            rows = OutboxEvent.objects.filter(position__gt=high).order_by("position").values(*ROW_FIELDS)[:limit]
            return [live_event(row) for row in rows]
        with connection.cursor() as cursor:
            cursor.execute(ROUTING_SQL, [high, limit])
            return [routed_event(*row) for row in cursor.fetchall()]

    def events(self, positions: list[int]) -> list[LiveEvent]:
        rows = OutboxEvent.objects.filter(position__in=positions).order_by("position").values(*ROW_FIELDS)
        return [live_event(row) for row in rows]

    def replay(self, feed: Feed, after: int, limit: int) -> list[LiveEvent]:
        """The feed's events after `after`, oldest first, without the rest of the change `after`
        belongs to (the client saw it). REPLAY_UNAVAILABLE once the event at `after` has been
        purged (`manage.py purge_events`), or when more than `limit` events of the tenant follow it."""
        with tenant_reads(feed.tenant_id):
            events = OutboxEvent.objects.filter(tenant_id=feed.tenant_id)
            seen = events.filter(position=after).values(*ROW_FIELDS).first() if after else None
            if after and seen is None:
                raise ReplayUnavailable(
                    "the events after this position are no longer kept: reload the order and subscribe without after"
                )
            if not limit:
                return []
            rows = list(events.filter(position__gt=after).order_by("position").values(*ROW_FIELDS)[: limit + 1])
            if len(rows) > limit:
                raise ReplayUnavailable(f"more than {limit} events followed this position: reload and subscribe again")
            missed = [event for event in map(live_event, rows) if feed.follows(event)]
            return same_change_or_before(missed, live_event(seen)) if seen is not None else missed


class OutboxSource:
    """The hub's source over the outbox (see the module docstring)."""

    letter = "o"

    def __init__(self, poll_seconds: float | None = None, settle_seconds: float = 2.0, batch: int = 1000) -> None:
        self.reader = OutboxReader()
        self.poll_seconds = settings.OMS_LIVE_POLL_SECONDS if poll_seconds is None else poll_seconds
        self.settle = timedelta(seconds=settle_seconds)
        self.batch = batch
        self.tenants: set[str] = set()
        self.route: Route | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None

    async def watch(self, tenant_id: str, route: Route) -> None:
        self.tenants.add(tenant_id)
        self.route = route
        if self._task is None:
            self._ready = asyncio.get_running_loop().create_future()
            self._task = asyncio.create_task(self._read(self._ready))
        assert self._ready is not None
        await asyncio.shield(self._ready)

    async def unwatch(self, tenant_id: str) -> None:
        self.tenants.discard(tenant_id)  # the reader stops once none is left

    async def replay(self, feed: Feed, after: int, limit: int) -> list[LiveEvent]:
        return await database_sync_to_async(self.reader.replay)(feed, after, limit)

    async def _read(self, ready: asyncio.Future[None]) -> None:
        try:
            high = await database_sync_to_async(self.reader.latest)()
        except Exception as error:
            self._task = None
            ready.set_exception(error)
            return
        ready.set_result(None)
        gaps: dict[int, float] = {}  # positions below `high` not seen yet -> when first missed
        listener = _Listener() if connection.vendor == "postgresql" else None
        try:
            while True:
                if not self.tenants:
                    self._task = None  # at once: a watch from now on starts a new reader
                    return
                try:
                    high = await self._route_once(high, gaps)
                except Exception:  # the database away: keep subscribers, try again
                    logger.exception("live: reading the outbox failed; retrying")
                    await asyncio.sleep(1.0)
                    continue
                if listener is not None:
                    # Woken by the next commit; with gaps open, soon anyway to look for them.
                    await listener.wait(self.poll_seconds if gaps else self.poll_seconds * 10)
                else:
                    await asyncio.sleep(self.poll_seconds)
        finally:
            if listener is not None:
                await listener.close()

    async def _route_once(self, high: int, gaps: dict[int, float]) -> int:
        """Route what committed since the last read: the positions above `high`, and those of the
        open gaps below it that have committed since. A gap is given up `settle` after it opened
        (a rolled-back transaction leaves one for ever)."""
        now = time.monotonic()
        settle = self.settle.total_seconds()
        for position in [p for p, opened in gaps.items() if now - opened > settle]:
            del gaps[position]
        found: list[LiveEvent] = []
        if gaps:
            found = await reads(self.reader.events)(sorted(gaps))
            for event in found:
                gaps.pop(event.position, None)
        while True:
            new = await reads(self.reader.events_after)(high, self.batch)
            for event in new:
                gaps.update((missing, now) for missing in range(high + 1, event.position))
                high = event.position
            found.extend(new)
            if len(new) < self.batch:
                break
        if found and self.route is not None:
            self.route([event for event in found if event.tenant_id in self.tenants])
        return high


class _Listener:
    """`LISTEN oms_outbox` on an asynchronous connection of its own; polls when it cannot listen."""

    def __init__(self) -> None:
        self.connection: Any = None

    async def wait(self, seconds: float) -> None:
        try:
            if self.connection is None or self.connection.closed:
                import psycopg

                params = listen_params()
                if params is None:  # DATABASE_LISTEN_URL=off (behind a transaction pooler): poll
                    await asyncio.sleep(min(seconds, 1.0))
                    return
                self.connection = await psycopg.AsyncConnection.connect(**params, autocommit=True)
                await self.connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
            async for _ in self.connection.notifies(timeout=seconds, stop_after=1):
                pass
        except Exception as error:
            logger.warning("live: LISTEN %s failed (%s); polling", NOTIFY_CHANNEL, error)
            await self.close()
            await asyncio.sleep(min(seconds, 1.0))

    async def close(self) -> None:
        if self.connection is not None:
            try:
                await self.connection.close()
            finally:
                self.connection = None
