"""Publish every outbox event to the event stream (docs/events.md, "The event stream").

One publisher at a time (the store's batch holds a lock; other relays skip): it takes the next
unpublished events, at most one per order, publishes them pipelined, and marks published exactly
those the stream acknowledged. An order's next event is only taken once the previous one is
marked, so per-order order holds on the stream. When the stream is unreachable, events wait in
the outbox and the publisher retries with backoff; nothing is lost, and a re-publish (after a
crash between publish and mark) is dropped by the server's duplicate window (`Nats-Msg-Id`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from ordering.domain.events import CUSTOMER_ERASED
from webhooks.domain.stream import StreamMessage

logger = logging.getLogger(__name__)


class StreamUnavailable(Exception):
    """The stream cannot be reached or did not acknowledge in time."""


class Batch(Protocol):
    messages: list[StreamMessage]

    def mark_published(self, acked: dict[int, int]) -> None:
        """Mark these events published (position -> where the stream stored it)."""


class UnpublishedEvents(Protocol):
    def next_batch(self, limit: int) -> AbstractContextManager[Batch | None]:
        """The next unpublished events (at most one per order) under the publisher lock, or None
        when another publisher holds it. Marks made inside commit when the block ends."""

    def wait_for_events(self, seconds: float) -> None: ...

    def stream_sequences(self, tenant_id: str, order_ids: list[str]) -> list[int]:
        """Where the stream stored these orders' events."""


class EventStream(Protocol):
    def ensure_stream(self) -> None: ...

    def publish(self, messages: list[StreamMessage]) -> dict[int, int]:
        """Publish all, pipelined; the positions the stream acknowledged, each with the sequence
        it stored it at. Raises StreamUnavailable when none could be."""

    def erase(self, sequences: list[int]) -> None:
        """Delete these messages, their content overwritten (a message already gone is no
        error). Raises StreamUnavailable."""


@dataclass
class StreamPublisher:
    events: UnpublishedEvents
    stream: EventStream
    batch_size: int = 1000
    max_backoff_seconds: float = 30.0
    sleep: Callable[[float], None] = time.sleep

    def publish_once(self) -> int:
        """Publish until nothing is left (or another publisher has the lock). Returns how many."""
        published = 0
        while True:
            with self.events.next_batch(self.batch_size) as batch:
                if not batch or not batch.messages:
                    return published
                acked = self.stream.publish(batch.messages)  # nothing acknowledged: raises, nothing marked
                batch.mark_published(acked)
                self._erase_what_erasures_name(batch.messages, acked)  # fails: the marks roll back
                missing = len(batch.messages) - len(acked)
            published += len(acked)  # the marks committed with the block
            if missing:
                raise StreamUnavailable(f"{missing} of {len(batch.messages)} events were not acknowledged")

    def _erase_what_erasures_name(self, messages: list[StreamMessage], acked: dict[int, int]) -> None:
        """A `customer.erased` event on its way out: the stream's earlier messages of the orders it
        names are deleted (docs/privacy.md), before its publication is marked."""
        for message in messages:
            if message.event_type == CUSTOMER_ERASED and message.position in acked:
                order_ids = json.loads(message.body)["data"]["order_ids"]
                sequences = self.events.stream_sequences(message.tenant_id, order_ids)
                if sequences:
                    self.stream.erase(sequences)
                    logger.info("erased %d stream message(s) of %d order(s)", len(sequences), len(order_ids))

    def run_forever(self, should_stop: Callable[[], bool], poll_seconds: float = 1.0) -> None:
        failures = 0
        while not should_stop():
            try:
                if failures:
                    self.stream.ensure_stream()
                published = self.publish_once()
                failures = 0
            except StreamUnavailable as error:
                failures += 1
                wait = min(self.max_backoff_seconds, 0.5 * 2 ** (failures - 1))
                logger.warning(
                    "event stream unavailable (%s); events wait in the outbox, retrying in %.1f s", error, wait
                )
                _sleep_unless(should_stop, wait, self.sleep)
                continue
            if not published and not should_stop():
                self.events.wait_for_events(poll_seconds)


def _sleep_unless(should_stop: Callable[[], bool], seconds: float, sleep: Callable[[float], None]) -> None:
    deadline = time.monotonic() + seconds
    while not should_stop() and time.monotonic() < deadline:
        sleep(min(0.1, seconds))
