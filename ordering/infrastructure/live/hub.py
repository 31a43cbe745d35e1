"""The hub: one per process, it reads each tenant's order events once for all the subscriptions
open in the process and routes each event in memory to the feeds that follow it. A subscriber costs
nothing while nothing happens to what it follows; a tenant is read while it has subscribers here.

Where the events come from is an `EventSource`: the outbox (`outbox.py`) or the event stream
(`stream.py`). A subscription with `after` gets what it missed from the source's replay first,
then live events; those routed to it meanwhile are not sent twice.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings

from oms_project.kernel.tenancy import tenant_reads
from ordering.application.live import Feed, LiveEvent, SentVersions, order_update

from ..order_queries import OrmOrderReader

Route = Callable[[list[LiveEvent]], None]


class EventSource(Protocol):
    letter: str  # the first character of its positions

    async def watch(self, tenant_id: str, route: Route) -> None:
        """Read the tenant's events from now on, routing each; returns once reading (an event
        committed after this returns reaches `route`). Raises LiveUnavailable if it cannot."""

    async def unwatch(self, tenant_id: str) -> None: ...

    async def replay(self, feed: Feed, after: int, limit: int) -> list[LiveEvent]:
        """The feed's events after `after`, oldest first (`limit` 0: only check `after`). Raises
        REPLAY_UNAVAILABLE if they are no longer all kept, or more than `limit`."""


@dataclass(eq=False)
class _Subscriber:
    feed: Feed
    queue: asyncio.Queue[LiveEvent] = field(default_factory=asyncio.Queue)
    started: bool = False


class Following:
    """One started subscription: what it missed (if it asked), then batches of live events. An
    async iterator whose `aclose` always leaves the hub, started or not."""

    def __init__(self, hub: LiveHub, subscriber: _Subscriber, missed: list[LiveEvent]) -> None:
        self.hub, self.subscriber = hub, subscriber
        self.missed = missed
        self.replayed = {event.position for event in missed}
        self.closed = False

    def __aiter__(self) -> Following:
        return self

    async def __anext__(self) -> list[LiveEvent]:
        if self.closed:
            raise StopAsyncIteration
        if self.missed:
            batch, self.missed = self.missed, []
            return batch
        queue = self.subscriber.queue
        while True:
            batch = [await queue.get()]
            while not queue.empty():
                batch.append(queue.get_nowait())
            batch = [event for event in batch if event.position not in self.replayed]
            if batch:
                return batch

    async def aclose(self) -> None:
        if not self.closed:
            self.closed = True
            await self.hub.leave(self.subscriber)


class LiveHub:
    def __init__(self, source: EventSource, replay_limit: int | None = None) -> None:
        self.source = source
        self.replay_limit = settings.OMS_LIVE_REPLAY_LIMIT if replay_limit is None else replay_limit
        self.subscribers: set[_Subscriber] = set()

    @property
    def letter(self) -> str:
        return self.source.letter

    async def start(self, feed: Feed, after: int | None) -> Following:
        """Register the feed, make sure its tenant is read, and fetch what it missed: a refusal
        (LIVE_UNAVAILABLE, REPLAY_UNAVAILABLE) comes from here, before anything is sent."""
        subscriber = _Subscriber(feed)
        self.subscribers.add(subscriber)
        try:
            await self.source.watch(feed.tenant_id, self.route)
            subscriber.started = True
            missed = [] if after is None else await self.source.replay(feed, after, self.replay_limit)
        except BaseException:
            await self.leave(subscriber)
            raise
        return Following(self, subscriber, missed)

    def route(self, events: list[LiveEvent]) -> None:
        for event in events:
            for subscriber in list(self.subscribers):
                if subscriber.feed.follows(event):
                    subscriber.queue.put_nowait(event)

    async def leave(self, subscriber: _Subscriber) -> None:
        self.subscribers.discard(subscriber)
        tenant_id = subscriber.feed.tenant_id
        if not any(other.feed.tenant_id == tenant_id for other in self.subscribers):
            await self.source.unwatch(tenant_id)

    def started(self) -> int:
        """How many subscriptions receive live events now (tests wait for theirs)."""
        return sum(1 for subscriber in self.subscribers if subscriber.started)


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


def _process_source() -> EventSource:
    if settings.OMS_EVENT_STREAM_URL:
        from .stream import StreamSource

        return StreamSource(settings.OMS_EVENT_STREAM_URL, settings.OMS_EVENT_STREAM_NAME)
    from .outbox import OutboxSource

    return OutboxSource()


class LiveOrders:
    """The subscriptions' service: feeds made into GraphQL values, over the process's hub."""

    _hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LiveHub] = weakref.WeakKeyDictionary()

    def __init__(self, hub: LiveHub | None = None) -> None:
        self.hub = hub or self.process_hub()

    @classmethod
    def process_hub(cls) -> LiveHub:
        """The hub of the running event loop (one per ASGI process; tests run several loops)."""
        loop = asyncio.get_running_loop()
        hub = cls._hubs.get(loop)
        if hub is None:
            hub = cls._hubs[loop] = LiveHub(_process_source())
        return hub

    @property
    def letter(self) -> str:
        return self.hub.letter

    async def updates(self, feed: Feed, after: int | None) -> AsyncIterator[OrderUpdateValue]:
        following = await self.hub.start(feed, after)
        return _Updates(following, feed, self.letter)

    async def envelopes(self, feed: Feed, after: int | None) -> AsyncIterator[EnvelopeValue]:
        following = await self.hub.start(feed, after)
        return _Envelopes(following, self.letter)


class _Updates:
    """One update per change, at most one per order per batch (SentVersions): a client that was
    away, or changes that came faster than they are sent, get each order's latest state, at the
    position of the last event it covers."""

    def __init__(self, following: Following, feed: Feed, letter: str) -> None:
        self.following, self.feed, self.letter = following, feed, letter
        self.sent = SentVersions()
        self.ready: list[OrderUpdateValue] = []
        self.update = database_sync_to_async(_update)

    def __aiter__(self) -> _Updates:
        return self

    async def __anext__(self) -> OrderUpdateValue:
        while not self.ready:
            batch = await self.following.__anext__()
            latest: dict[str, LiveEvent] = {}
            for event in batch:
                if self.sent.wants(event):
                    latest.pop(event.order_id, None)  # kept in the order of each order's last event
                    latest[event.order_id] = event
            for event in latest.values():
                order = await self.update(self.feed, event)
                if order is not None:
                    self.sent.sent(event.order_id, order.version)
                    self.ready.append(OrderUpdateValue(f"{self.letter}{event.position}", order))
        return self.ready.pop(0)

    async def aclose(self) -> None:
        await self.following.aclose()


class _Envelopes:
    def __init__(self, following: Following, letter: str) -> None:
        self.following, self.letter = following, letter
        self.ready: list[LiveEvent] = []

    def __aiter__(self) -> _Envelopes:
        return self

    async def __anext__(self) -> EnvelopeValue:
        while not self.ready:
            self.ready = await self.following.__anext__()
        event = self.ready.pop(0)
        return EnvelopeValue(
            f"{self.letter}{event.position}", event.type, event.order_id, event.sequence, event.occurred_at
        )

    async def aclose(self) -> None:
        await self.following.aclose()
