"""Live order status in one process: the outbox read as a feed, and the hub that fans it out to the
subscriptions open in this process (ordering/application/live.py states the rules).

One `LiveHub` per process reads the outbox once for all its subscribers and routes each event in
memory to the feeds that follow it; no subscriber costs the database anything while nothing
happens to its orders. On PostgreSQL it wakes on `NOTIFY oms_outbox` (ordering migration 0008's
trigger, sent at each commit that wrote events); elsewhere it polls every `poll_seconds`. It runs
while someone subscribes and stops when the last one leaves.

Outbox positions come from a sequence, so a transaction that took a lower position can commit
after one with a higher position. The hub therefore reads from a low-water mark that moves past an
event only once it is `settle_seconds` old, and remembers which positions above the mark it has
routed already: a late commit is still routed, and nothing twice.

A subscriber with `after` gets the events after that position from the outbox (in its tenant's
scope, in position order) before live ones; those the hub routes meanwhile are not sent twice.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection
from django.utils import timezone

from oms_project.kernel.tenancy import tenant_reads
from ordering.application.live import Feed, LiveEvent, ReplayUnavailable, mark_change_ends, order_update

from .models import OutboxEvent
from .order_queries import OrmOrderReader

logger = logging.getLogger(__name__)

SOURCE = "o"  # positions of this source read "o<outbox position>"
NOTIFY_CHANNEL = "oms_outbox"
ROW_FIELDS = ("position", "tenant_id", "aggregate_id", "type", "sequence", "occurred_at", "data")


def live_event(row: dict[str, Any]) -> LiveEvent:
    """An outbox row as the feeds route it: who the order belongs to, from the event's document."""
    order = (row["data"] or {}).get("order") or {}
    return LiveEvent(
        position=row["position"],
        tenant_id=row["tenant_id"],
        order_id=str(row["aggregate_id"]),
        type=row["type"],
        sequence=row["sequence"],
        occurred_at=row["occurred_at"],
        customer_user_id=(order.get("customer") or {}).get("user_id") or "",
        vendor_ids=frozenset(line.get("vendor_id") for line in order.get("lines") or () if line.get("vendor_id")),
        status=order.get("status") or "",
        channel=order.get("channel") or "",
        version=order.get("version") or 0,
    )


class OutboxFeedSource:
    """The outbox as the hub reads it (every tenant) and as a replay reads it (one tenant)."""

    letter = SOURCE

    def latest(self) -> int:
        last = OutboxEvent.objects.order_by("-position").values_list("position", flat=True).first()
        return last or 0

    def positions_since(self, low: int, limit: int) -> list[tuple[int, datetime]]:
        return list(
            OutboxEvent.objects.filter(position__gt=low)
            .order_by("position")
            .values_list("position", "created_at")[:limit]
        )

    def events(self, positions: list[int]) -> list[LiveEvent]:
        rows = OutboxEvent.objects.filter(position__in=positions).order_by("position").values(*ROW_FIELDS)
        return mark_change_ends([live_event(row) for row in rows])

    def replay(self, feed: Feed, after: int, limit: int) -> list[LiveEvent]:
        """The feed's events after `after`, oldest first; REPLAY_UNAVAILABLE once the event at
        `after` has been purged from the outbox (`manage.py purge_events`)."""
        with tenant_reads(feed.tenant_id):
            events = OutboxEvent.objects.filter(tenant_id=feed.tenant_id)
            if after and not events.filter(position=after).exists():
                raise ReplayUnavailable(
                    "the events after this position are no longer kept: reload the order and subscribe without after"
                )
            rows = events.filter(position__gt=after).order_by("position").values(*ROW_FIELDS)[:limit]
            return [event for event in mark_change_ends(list(map(live_event, rows))) if feed.follows(event)]


@dataclass(eq=False)
class _Subscriber:
    feed: Feed
    queue: asyncio.Queue


class LiveHub:
    """The one reader of order events in a process, routing each to the subscribers that follow it."""

    def __init__(
        self,
        source: OutboxFeedSource | None = None,
        *,
        poll_seconds: float | None = None,
        settle_seconds: float = 2.0,
        batch: int = 1000,
        replay_limit: int = 10_000,
    ) -> None:
        self.source = source or OutboxFeedSource()
        self.poll_seconds = settings.OMS_LIVE_POLL_SECONDS if poll_seconds is None else poll_seconds
        self.settle = timedelta(seconds=settle_seconds)
        self.batch = batch
        self.replay_limit = replay_limit
        self.subscribers: set[_Subscriber] = set()
        self._task: asyncio.Task | None = None
        self._ready: asyncio.Future | None = None

    async def follow(self, feed: Feed, after: int | None = None) -> AsyncIterator[list[LiveEvent]]:
        """The feed's events, in batches: those after `after` first (when given), then live ones
        as they commit, each batch what arrived since the last one was taken."""
        subscriber = _Subscriber(feed, asyncio.Queue())
        self.subscribers.add(subscriber)
        try:
            await self._running()
            replayed: set[int] = set()
            if after is not None:
                missed = await database_sync_to_async(self.source.replay)(feed, after, self.replay_limit)
                replayed.update(event.position for event in missed)
                if missed:
                    yield missed
            queue = subscriber.queue
            while True:
                batch = [await queue.get()]
                while not queue.empty():
                    batch.append(queue.get_nowait())
                batch = [event for event in batch if event.position not in replayed]
                if batch:
                    yield batch
        finally:
            self.subscribers.discard(subscriber)

    def ready(self) -> bool:
        """The reader holds its starting mark: whatever commits from now on reaches subscribers."""
        return self._ready is not None and self._ready.done()

    async def check_after(self, feed: Feed, after: int) -> None:
        """Raise REPLAY_UNAVAILABLE now (before the subscription starts) if `after` is gone."""
        await database_sync_to_async(self.source.replay)(feed, after, 0)

    async def _running(self) -> None:
        """Start the reader if it is not running, and wait until it holds its starting mark (so a
        subscriber misses nothing committed after it subscribed)."""
        if self._task is None or self._task.done():
            self._ready = asyncio.get_running_loop().create_future()
            self._task = asyncio.create_task(self._read())
        assert self._ready is not None
        await asyncio.shield(self._ready)

    async def _read(self) -> None:
        assert self._ready is not None
        ready = self._ready
        try:
            low = await database_sync_to_async(self.source.latest)()
        except Exception as error:
            ready.set_exception(error)
            raise
        ready.set_result(None)
        routed: dict[int, datetime] = {}
        listener = _Listener() if connection.vendor == "postgresql" else None
        try:
            while self.subscribers:
                try:
                    low = await self._route_once(low, routed)
                except Exception:  # the database away: keep subscribers, try again
                    logger.exception("live: reading the outbox failed; retrying")
                    await asyncio.sleep(1.0)
                    continue
                if listener is not None:
                    await listener.wait(self.poll_seconds * 10)
                else:
                    await asyncio.sleep(self.poll_seconds)
        finally:
            if listener is not None:
                await listener.close()

    async def _route_once(self, low: int, routed: dict[int, datetime]) -> int:
        while True:
            found = await database_sync_to_async(self.source.positions_since)(low, self.batch)
            new = [position for position, _ in found if position not in routed]
            if new:
                for event in await database_sync_to_async(self.source.events)(new):
                    for subscriber in list(self.subscribers):
                        if subscriber.feed.follows(event):
                            subscriber.queue.put_nowait(event)
            settled_before = timezone.now() - self.settle
            for position, created_at in found:
                routed[position] = created_at
            for position, created_at in found:  # the mark moves over settled positions only
                if created_at >= settled_before:
                    break
                low = position
            for settled in [p for p in routed if p <= low]:
                del routed[settled]
            if len(found) < self.batch:
                return low


class _Listener:
    """`LISTEN oms_outbox` on an asynchronous connection of its own; polls when it cannot listen."""

    def __init__(self) -> None:
        self.connection: Any = None

    async def wait(self, seconds: float) -> None:
        try:
            if self.connection is None or self.connection.closed:
                import psycopg

                params = connection.get_connection_params()
                params.pop("cursor_factory", None)
                params.pop("context", None)
                params.pop("prepare_threshold", None)
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


@dataclass(frozen=True)
class OrderUpdateValue:
    """What `OrderUpdate` resolves from."""

    position: str
    order: Any


@dataclass(frozen=True)
class EnvelopeValue:
    """What `OrderEventEnvelope` resolves from."""

    position: str
    type: str
    order_id: str
    sequence: int
    occurred_at: datetime


def _update(feed: Feed, event: LiveEvent) -> Any:
    with tenant_reads(feed.tenant_id):
        return order_update(feed, event, OrmOrderReader())


class LiveOrders:
    """The subscriptions' service: feeds made into GraphQL values, one hub per process."""

    _hubs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __init__(self, hub: LiveHub | None = None) -> None:
        self.hub = hub or self.process_hub()

    @classmethod
    def process_hub(cls) -> LiveHub:
        """The hub of the running event loop (one per ASGI process; tests run several loops)."""
        loop = asyncio.get_running_loop()
        hub = cls._hubs.get(loop)
        if hub is None:
            hub = cls._hubs[loop] = LiveHub()
        return hub

    letter = SOURCE

    async def open(self, feed: Feed, after: int | None) -> None:
        if after is not None:
            await self.hub.check_after(feed, after)

    async def updates(self, feed: Feed, after: int | None) -> AsyncIterator[OrderUpdateValue]:
        """One update per order per batch: a client that was away, or changes that came faster
        than they are sent, get each order's latest state once, at its latest position."""
        update: Callable[[Feed, LiveEvent], Any] = database_sync_to_async(_update)
        async for batch in self.hub.follow(feed, after):
            latest: dict[str, LiveEvent] = {}
            for event in batch:
                if event.ends_change:
                    latest.pop(event.order_id, None)
                    latest[event.order_id] = event  # re-inserted: the dict keeps the latest's order
            for event in latest.values():
                order = await update(feed, event)
                if order is not None:
                    yield OrderUpdateValue(f"{SOURCE}{event.position}", order)

    async def envelopes(self, feed: Feed, after: int | None) -> AsyncIterator[EnvelopeValue]:
        async for batch in self.hub.follow(feed, after):
            for event in batch:
                yield EnvelopeValue(
                    f"{SOURCE}{event.position}", event.type, event.order_id, event.sequence, event.occurred_at
                )
