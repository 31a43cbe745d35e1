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
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection

from oms_project.kernel.tenancy import tenant_reads
from ordering.application.live import Feed, LiveEvent, ReplayUnavailable, SentVersions, update_view

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
    behind: int = 0  # the position of its last event when it fell too far behind (0: it has not)


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
            if self.subscriber.behind:
                raise ReplayUnavailable(
                    "this subscription fell too far behind its events: subscribe again with the last position "
                    "you saw as after"
                )
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
    def __init__(self, source: EventSource, replay_limit: int | None = None, queue_limit: int = 10_000) -> None:
        self.source = source
        self.replay_limit = settings.OMS_LIVE_REPLAY_LIMIT if replay_limit is None else replay_limit
        self.queue_limit = queue_limit  # events waiting for one subscriber before it is dropped
        self.subscribers: set[_Subscriber] = set()
        # tenant -> Feed.key -> subscribers: an event is offered only to feeds that may follow it
        self.index: dict[str, dict[tuple[str, str], set[_Subscriber]]] = {}
        self.recent = RecentOrders()

    @property
    def letter(self) -> str:
        return self.source.letter

    async def start(self, feed: Feed, after: int | None) -> Following:
        """Register the feed, make sure its tenant is read, and fetch what it missed: a refusal
        (LIVE_UNAVAILABLE, REPLAY_UNAVAILABLE) comes from here, before anything is sent."""
        subscriber = _Subscriber(feed)
        self.subscribers.add(subscriber)
        self.index.setdefault(feed.tenant_id, {}).setdefault(feed.key, set()).add(subscriber)
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
            feeds = self.index.get(event.tenant_id)
            if not feeds:
                continue
            for key in event.feed_keys():
                for subscriber in feeds.get(key, ()):
                    if subscriber.behind or not subscriber.feed.follows(event):
                        continue
                    if subscriber.queue.qsize() >= self.queue_limit:
                        # A subscriber that does not read (a stalled client) holds no more memory:
                        # it is told to subscribe again with `after` (the replay catches it up).
                        subscriber.behind = event.position
                        subscriber.queue.put_nowait(event)  # wakes it to be told
                        continue
                    subscriber.queue.put_nowait(event)

    async def leave(self, subscriber: _Subscriber) -> None:
        if subscriber not in self.subscribers:
            return
        self.subscribers.discard(subscriber)
        feed = subscriber.feed
        feeds = self.index.get(feed.tenant_id, {})
        same = feeds.get(feed.key, set())
        same.discard(subscriber)
        if not same:
            feeds.pop(feed.key, None)
        if not feeds:
            self.index.pop(feed.tenant_id, None)
            await self.source.unwatch(feed.tenant_id)

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


def reads(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` (database reads) run from the event loop: on PostgreSQL in a pool of threads,
    so reads for many feeds go in parallel, each thread with its connection; elsewhere (SQLite)
    in Django's one thread for synchronous work, where SQLite wants its readers."""
    return database_sync_to_async(function, thread_sensitive=connection.vendor != "postgresql")


def _read_order(tenant_id: str, order_id: str) -> Any:
    with tenant_reads(tenant_id):
        return OrmOrderReader().get(tenant_id, order_id)


class _Recent(OrderedDict[Any, Any]):
    """At most `size` entries, the least recently used dropped first."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def keep(self, key: Any, value: Any) -> Any:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)
        return value


class RecentOrders:
    """The orders the process's feeds were sent lately, read once for all of them: a change that
    reaches the customer, the vendors and staff of an order is one read, whoever reads it first.
    An order is read again once an event says it has a newer version than the one held. The
    values the feeds send are shared too (one per event and view), so the transport can answer
    a document it already ran for one of them without running it again."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self.orders: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self.read = reads(_read_order)
        self.reading: dict[tuple[str, str], asyncio.Future[Any]] = {}
        self.values = _Recent(size)

    def update_value(self, letter: str, event: LiveEvent, view: Any) -> OrderUpdateValue:
        key = ("update", event.position, id(view))
        value = self.values.get(key)
        if value is None or value.order is not view:
            value = self.values.keep(key, OrderUpdateValue(f"{letter}{event.position}", view))
        return value

    def envelope(self, letter: str, event: LiveEvent) -> EnvelopeValue:
        key = ("envelope", event.position)
        value = self.values.get(key)
        if value is None:
            position = f"{letter}{event.position}"
            value = self.values.keep(
                key, EnvelopeValue(position, event.type, event.order_id, event.sequence, event.occurred_at)
            )
        return value

    def view(self, feed: Feed, order: Any) -> Any:
        """The feed's view of a shared order, itself shared between feeds that see the same."""
        view = update_view(feed, order)
        if view is None or view is order:
            return view
        key = ("view", id(order), feed.principal.vendor_id)
        held = self.values.get(key)
        if held is not None and held[0] is order:
            return held[1]
        return self.values.keep(key, (order, view))[1]

    async def at_least(self, event: LiveEvent) -> Any:
        """The order at the event's version or later: held, being read for another feed (then
        awaited, not read twice), or read now."""
        key = (event.tenant_id, event.order_id)
        while True:
            held = self.orders.get(key)
            if held is not None and event.version and held.version >= event.version:
                self.orders.move_to_end(key)
                return held
            reading = self.reading.get(key)
            if reading is None:
                break
            order = await asyncio.shield(reading)
            if order is None or not event.version or order.version >= event.version:
                return order
        reading = self.reading[key] = asyncio.get_running_loop().create_future()
        try:
            order = await self.read(event.tenant_id, event.order_id)
        except BaseException as error:
            reading.set_exception(error)
            reading.exception()  # retrieved: a waiter re-raises it, nobody else must
            raise
        finally:
            del self.reading[key]
        reading.set_result(order)
        if order is not None:
            self.orders[key] = order
            self.orders.move_to_end(key)
            while len(self.orders) > self.size:
                self.orders.popitem(last=False)
        return order


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
        return _Updates(following, feed, self.letter, self.hub.recent)

    async def envelopes(self, feed: Feed, after: int | None) -> AsyncIterator[EnvelopeValue]:
        following = await self.hub.start(feed, after)
        return _Envelopes(following, self.letter, self.hub.recent)


class _Updates:
    """One update per change, at most one per order per batch (SentVersions): a client that was
    away, or changes that came faster than they are sent, get each order's latest state, at the
    position of the last event it covers."""

    def __init__(self, following: Following, feed: Feed, letter: str, recent: RecentOrders) -> None:
        self.following, self.feed, self.letter = following, feed, letter
        self.sent = SentVersions()
        self.ready: list[OrderUpdateValue] = []
        self.recent = recent

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
                order = self.recent.view(self.feed, await self.recent.at_least(event))
                if order is not None:
                    self.sent.sent(event.order_id, order.version)
                    self.ready.append(self.recent.update_value(self.letter, event, order))
        return self.ready.pop(0)

    async def aclose(self) -> None:
        await self.following.aclose()


class _Envelopes:
    def __init__(self, following: Following, letter: str, recent: RecentOrders) -> None:
        self.following, self.letter, self.recent = following, letter, recent
        self.ready: list[LiveEvent] = []

    def __aiter__(self) -> _Envelopes:
        return self

    async def __anext__(self) -> EnvelopeValue:
        while not self.ready:
            self.ready = await self.following.__anext__()
        return self.recent.envelope(self.letter, self.ready.pop(0))

    async def aclose(self) -> None:
        await self.following.aclose()
