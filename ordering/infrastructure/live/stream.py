"""The event stream (NATS JetStream, docs/events.md) as the live hub's event source, when
`OMS_EVENT_STREAM_URL` is set: positions are `s<stream sequence>`.

For each tenant that has subscribers in this process, one ordered consumer reads the tenant's
subjects (`oms.<tenant>.orders.>`) from the stream's next sequence when the first subscriber
came: an ephemeral consumer that the server forgets when the process stops, never one per
subscriber. After a reconnect each consumer is made again from the first sequence not yet routed
(a restarted server forgets ephemeral consumers), and a sequence routed once is never routed
again. So a NATS restart loses nothing: events the relay publishes while the server is down wait
in the outbox and reach subscribers once it is back, and subscribers keep their connections.

A replay reads the tenant's subjects from `after + 1` with a consumer of its own, until nothing is
pending. Events the stream no longer holds (older than its retention) are REPLAY_UNAVAILABLE.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import Any

from oms_project.kernel import nats_connection
from ordering.application.live import (
    Feed,
    LiveEvent,
    LiveUnavailable,
    ReplayUnavailable,
    event_of,
    same_change_or_before,
)
from webhooks.domain.stream import tenant_subjects

from .hub import Route

logger = logging.getLogger(__name__)


def stream_event(sequence: int, body: bytes) -> LiveEvent:
    """A stream message (the webhook envelope) as the feeds route it."""
    envelope = json.loads(body)
    return event_of(
        sequence,
        envelope["tenant_id"],
        envelope["aggregate_id"],
        envelope["type"],
        envelope["sequence"],
        datetime.fromisoformat(envelope["occurred_at"]),
        envelope.get("data"),
    )


class StreamSource:
    letter = "s"
    connect_seconds = 3.0  # a first connection that takes longer is LIVE_UNAVAILABLE

    def __init__(self, url: str, stream: str, replay_wait_seconds: float = 5.0) -> None:
        self.url, self.stream = url, stream
        self.replay_wait = replay_wait_seconds
        self.nc: Any = None
        self.js: Any = None
        self.consumers: dict[str, Any] = {}
        self.routes: dict[str, Route] = {}
        self.next_seq: dict[str, int] = {}  # per tenant: the first stream sequence not yet routed
        self._lock = asyncio.Lock()
        self._resuming: asyncio.Task[None] | None = None

    async def _jetstream(self) -> Any:
        if self.nc is not None and not self.nc.is_closed:
            return self.js

        async def reconnected() -> None:  # the drop and the return are logged by the kernel's connection
            self._resuming = asyncio.create_task(self._resume())

        try:
            self.nc = await nats_connection.connect(
                self.url, within=self.connect_seconds, client="live", reconnected=reconnected
            )
        except Exception as failure:
            self.nc = None
            raise LiveUnavailable(f"the event stream cannot be reached ({type(failure).__name__})") from None
        self.js = self.nc.jetstream()
        return self.js

    async def watch(self, tenant_id: str, route: Route) -> None:
        async with self._lock:
            if tenant_id in self.consumers:
                return
            js = await self._jetstream()
            try:
                start = (await js.stream_info(self.stream)).state.last_seq + 1
                self.next_seq[tenant_id] = start
                self.routes[tenant_id] = route
                self.consumers[tenant_id] = await self._consumer(tenant_id, start)
            except LiveUnavailable:
                raise
            except Exception as failure:
                self.next_seq.pop(tenant_id, None)
                raise LiveUnavailable(f"the event stream cannot be read ({type(failure).__name__})") from None

    async def _consumer(self, tenant_id: str, start: int) -> Any:
        """An ordered consumer of the tenant's subjects from stream sequence `start`."""
        from nats.js.api import ConsumerConfig, DeliverPolicy

        async def deliver(message: Any) -> None:
            sequence = message.metadata.sequence.stream
            if sequence < self.next_seq.get(tenant_id, 0):
                return  # delivered already (a consumer re-created after a reconnect)
            self.next_seq[tenant_id] = sequence + 1
            try:
                self.routes[tenant_id]([stream_event(sequence, message.data)])
            except Exception:  # one bad message never stops the tenant's feed
                logger.exception("live: a stream message could not be routed")

        return await self.js.subscribe(
            tenant_subjects(tenant_id),
            stream=self.stream,
            cb=deliver,
            ordered_consumer=True,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start),
        )

    async def _resume(self) -> None:
        """After a reconnect, each tenant's consumer again, from the first sequence not delivered
        (the server may have restarted and forgotten the ephemeral ones); retried until it works."""
        while True:
            async with self._lock:
                try:
                    for tenant_id, old in list(self.consumers.items()):
                        try:
                            await old.unsubscribe()
                        except Exception as failure:
                            logger.debug("live: dropping the old consumer failed: %s", failure)
                        self.consumers[tenant_id] = await self._consumer(tenant_id, self.next_seq[tenant_id])
                    return
                except Exception as failure:
                    logger.warning("live: resuming the stream consumers failed (%s); retrying", failure)
            await asyncio.sleep(0.5)

    async def unwatch(self, tenant_id: str) -> None:
        async with self._lock:
            subscription = self.consumers.pop(tenant_id, None)
            self.routes.pop(tenant_id, None)
            self.next_seq.pop(tenant_id, None)
            if subscription is not None:
                try:
                    await subscription.unsubscribe()
                except Exception as failure:  # the server forgets an ordered consumer on its own
                    logger.debug("live: unsubscribe failed: %s", failure)

    async def replay(self, feed: Feed, after: int, limit: int) -> list[LiveEvent]:
        from nats.js.api import ConsumerConfig, DeliverPolicy
        from nats.js.errors import NotFoundError

        js = await self._jetstream()
        try:
            state = (await js.stream_info(self.stream)).state
        except Exception as failure:
            raise LiveUnavailable(f"the event stream cannot be read ({type(failure).__name__})") from None
        if after + 1 < state.first_seq:
            raise ReplayUnavailable(
                "the events after this position are no longer kept: reload the order and subscribe without after"
            )
        seen: LiveEvent | None = None
        if after:
            try:
                raw = await js.get_msg(self.stream, seq=after)
                if raw.data:
                    seen = stream_event(after, raw.data)
            except NotFoundError:
                pass
        if not limit or after >= state.last_seq:
            return []
        subscription = await js.subscribe(
            tenant_subjects(feed.tenant_id),
            stream=self.stream,
            ordered_consumer=True,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1),
        )
        missed: list[LiveEvent] = []
        read = 0
        try:
            info = await subscription.consumer_info()
            delivered = info.delivered.consumer_seq if info.delivered else 0
            if not info.num_pending and not delivered:
                return []  # nothing of this tenant's after the position (pushed ones wait in the subscription)
            while True:
                message = await subscription.next_msg(timeout=self.replay_wait)
                read += 1
                if read > limit:
                    raise ReplayUnavailable(
                        f"more than {limit} events followed this position: reload and subscribe again"
                    )
                event = stream_event(message.metadata.sequence.stream, message.data)
                if feed.follows(event):
                    missed.append(event)
                if message.metadata.num_pending == 0:
                    break
        except TimeoutError:
            pass  # nothing more came: what arrived is what there is
        finally:
            await subscription.unsubscribe()
        return same_change_or_before(missed, seen) if seen is not None else missed
