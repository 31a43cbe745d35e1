"""The event stream's adapters: the outbox's unpublished events (ORM), and NATS JetStream (nats-py).

`NatsEventStream` owns an asyncio loop of its own and is driven from one thread (the relay's
publisher thread): each call runs its coroutine to completion on that loop, so the thread's
Django database work happens between calls, never inside a running loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from oms_project.kernel import nats_connection, tracing
from oms_project.kernel.metrics import STREAM_PUBLISHED
from ordering.application import services as ordering
from ordering.application.event_payloads import envelope
from ordering.application.outbox import RoundRobin, quota
from webhooks.application.stream import StreamUnavailable
from webhooks.domain.outbound import body_of
from webhooks.domain.stream import STREAM_SUBJECTS, StreamMessage

from .outbound import OutboxListener

logger = logging.getLogger(__name__)
STREAM_LOCK = 0x4F4D5353  # pg_try_advisory_xact_lock key: one publisher at a time
WINDOW = 4  # unpublished events read per batch slot: room to skip further events of one order


@dataclass
class _Batch:
    messages: list[StreamMessage]

    def mark_published(self, acked: dict[int, int]) -> None:
        ordering.outbox_feed().mark("stream", sorted(acked), timezone.now(), sequences=acked)


class OrmUnpublishedEvents:
    def __init__(self) -> None:
        self._listener = OutboxListener()
        self._feed = ordering.outbox_feed()
        self._tenants = RoundRobin(self._feed, "stream")

    @contextmanager
    def next_batch(self, limit: int) -> Iterator[_Batch | None]:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [STREAM_LOCK])
                    if not cursor.fetchone()[0]:
                        yield None  # another relay is publishing
                        return
            # Round-robin between tenants (ordering/application/outbox.py): each tenant with
            # events waiting gets an equal part of the batch, its oldest first.
            tenants = self._tenants.next_tenants()
            each = quota(limit, tenants) if tenants else 0
            yield _Batch(
                [
                    StreamMessage(
                        event.position,
                        event.event_id,
                        event.tenant_id,
                        event.type,
                        body_of(
                            envelope(
                                event_id=event.event_id,
                                event_type=event.type,
                                occurred_at=event.occurred_at,
                                tenant_id=event.tenant_id,
                                aggregate_id=event.aggregate_id,
                                sequence=event.sequence,
                                correlation_id=event.correlation_id,
                                data=event.data,
                            )
                        ),
                        event.trace_parent,
                    )
                    for tenant in tenants
                    for event in self._feed.first_per_order("stream", tenant, each, each * WINDOW)
                ]
            )

    def wait_for_events(self, seconds: float) -> None:
        self._listener.wait(seconds)

    def stream_sequences(self, tenant_id: str, order_ids: list[str]) -> list[int]:
        return self._feed.stream_sequences(tenant_id, order_ids)

    def close(self) -> None:
        self._listener.close()


class NatsEventStream:
    """JetStream over nats-py: the stream created or updated at start, publishes pipelined.

    A first connection that does not succeed within `connect_seconds` (retrying every half second)
    is StreamUnavailable; once connected, the client reconnects for ever."""

    connect_seconds = 3.0

    def __init__(
        self, url: str, *, name: str, max_age_days: float, duplicate_window_seconds: float, ack_timeout_seconds: float
    ) -> None:
        self.url, self.name = url, name
        self.max_age = max_age_days * 86400
        self.duplicate_window = max(120.0, duplicate_window_seconds)
        self.ack_timeout = ack_timeout_seconds
        self.loop = asyncio.new_event_loop()
        self.nc = None
        self.js = None

    @classmethod
    def from_settings(cls) -> NatsEventStream:
        return cls(
            settings.OMS_EVENT_STREAM_URL,
            name=settings.OMS_EVENT_STREAM_NAME,
            max_age_days=settings.OMS_EVENT_STREAM_MAX_AGE_DAYS,
            duplicate_window_seconds=settings.OMS_EVENT_STREAM_DUPLICATE_WINDOW_SECONDS,
            ack_timeout_seconds=settings.OMS_EVENT_STREAM_ACK_TIMEOUT_SECONDS,
        )

    def _run(self, coroutine):
        return self.loop.run_until_complete(coroutine)

    async def _connect(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            return
        try:
            # A drop and the return are logged by the kernel's connection; a failed publish by the publisher.
            self.nc = await nats_connection.connect(self.url, within=self.connect_seconds, client="relay")
        except Exception as error:
            self.nc = None
            raise StreamUnavailable(f"cannot connect to {self.url}: {type(error).__name__}: {error}") from None
        self.js = self.nc.jetstream(timeout=self.ack_timeout)

    def ensure_stream(self) -> None:
        """Create the stream, or bring an existing one to this configuration."""
        self._run(self._ensure_stream())

    async def _ensure_stream(self) -> None:
        from nats.js.api import StorageType, StreamConfig
        from nats.js.errors import BadRequestError, NotFoundError

        await self._connect()
        config = StreamConfig(
            name=self.name,
            subjects=[STREAM_SUBJECTS],
            storage=StorageType.FILE,
            duplicate_window=self.duplicate_window,
            max_age=self.max_age,
        )
        try:
            try:
                await self.js.stream_info(self.name)
            except NotFoundError:
                await self.js.add_stream(config)
            else:
                await self.js.update_stream(config)
        except BadRequestError as error:
            raise StreamUnavailable(f"stream {self.name}: {error}") from None
        except Exception as error:
            raise StreamUnavailable(f"stream {self.name}: {type(error).__name__}: {error}") from None

    def publish(self, messages: list[StreamMessage]) -> dict[int, int]:
        return self._run(self._publish(messages))

    def erase(self, sequences: list[int]) -> None:
        self._run(self._erase(sequences))

    async def _erase(self, sequences: list[int]) -> None:
        from nats.js.errors import NotFoundError

        if self.js is None:
            await self._ensure_stream()
        manager = self.nc.jsm(timeout=self.ack_timeout)
        try:
            for sequence in sequences:
                try:
                    # Not `no_erase`: the server overwrites the message's content, then deletes it.
                    await manager.delete_msg(self.name, sequence)
                except NotFoundError:
                    pass  # gone already (an earlier erasure, or aged out)
        except Exception as error:
            raise StreamUnavailable(f"stream {self.name}: {type(error).__name__}: {error}") from None

    async def _publish(self, messages: list[StreamMessage]) -> dict[int, int]:
        if self.js is None:
            await self._ensure_stream()
        pending: list[tuple[int, asyncio.Future]] = []
        spans = {}
        try:
            # No stall timeout: a batch stays below nats-py's in-flight limit, and without one each
            # publish queues its message without yielding, so a batch goes out in one write.
            for message in messages:
                headers = message.headers
                spans[message.position] = tracing.started(
                    message.trace_parent,
                    f"{message.subject} publish",
                    headers,
                    kind=tracing.PRODUCER,
                    attributes={
                        "messaging.system": "nats",
                        "messaging.destination.name": message.subject,
                        "messaging.message.id": message.event_id,
                        "oms.tenant_id": message.tenant_id,
                    },
                )
                future = await self.js.publish_async(message.subject, message.body, headers=headers)
                pending.append((message.position, future))
            if pending:
                await asyncio.wait([future for _, future in pending], timeout=self.ack_timeout)
        except Exception as error:
            logger.debug("publish interrupted: %s", error)
        acked = {
            position: future.result().seq
            for position, future in pending
            if future.done() and not future.cancelled() and future.exception() is None
        }
        for _, future in pending:
            if not future.done():
                future.cancel()
        for position, span in spans.items():
            tracing.finished(span, None if position in acked else "no acknowledgement from the stream")
        STREAM_PUBLISHED.inc(len(acked))
        if messages and not acked:
            raise StreamUnavailable(f"no acknowledgement from {self.url} within {self.ack_timeout} s")
        return acked

    def close(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            try:
                self._run(self.nc.close())
            except Exception:  # closing a broken connection
                pass
        self.loop.close()
