"""The relay: fan outbox events out to subscriptions, then deliver what is due, many at once.

Delivery guarantees (api.md, "Outbound events"):
- at least once: a delivery stays PENDING until a 2xx answer, or DEAD after the last attempt;
  a relay that dies mid-send leaves a lease that expires, and another relay retries;
- in order per order and subscription: only the head of an order's queue (its lowest PENDING
  sequence for that subscription) can be claimed, and it stays PENDING while in flight, so a
  later event of the order waits until the earlier one succeeded (or died);
- never twice at the same time: `claim` takes rows with `FOR UPDATE SKIP LOCKED` and leases them.

Fair between tenants: fan-out batches take an equal share of each tenant's waiting events, and
claims serve subscriptions round-robin (the store's `fan_out` and `claim`); fan-out and delivery
take turns, so one tenant's backlog never delays another tenant's next event by more than a turn.

How it keeps up: deliveries are claimed in batches and recorded in batches (the store does each
in a few statements, whatever the batch size); the sends go out concurrently, each subscription
in its own lane of at most `concurrency` parallel requests over kept-alive connections. A lane
that is full (a slow or dead subscriber) is left out of the next claims, so it never holds back
the other subscriptions.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Protocol

from oms_project.kernel import tracing
from webhooks.domain.outbound import AttemptResult, NextState, RetryPolicy, after_attempt, signed_headers


@dataclass(frozen=True)
class ClaimedDelivery:
    delivery_id: int
    tenant_id: str
    url: str
    secret: str
    event_id: str
    body: bytes
    attempts: int
    subscription_id: str = ""
    trace_parent: str = ""  # of the operation that raised the event (oms_project/kernel/tracing.py)


@dataclass(frozen=True)
class Outcome:
    """One attempt, as the relay records it."""

    delivery: ClaimedDelivery
    result: AttemptResult
    state: NextState
    at: datetime


class DeliveryStore(Protocol):
    def fan_out(self, limit: int, now: datetime) -> int: ...

    def claim(
        self,
        now: datetime,
        lease: timedelta,
        limit: int,
        skip_subscriptions: Collection[str] = (),
        per_subscription: int | None = None,
    ) -> list[ClaimedDelivery]:
        """Lease up to `limit` due heads of their order's queue, none of `skip_subscriptions`, at
        most `per_subscription` of one subscription, the subscriptions taken in turn."""

    def record(self, outcomes: list[Outcome]) -> None:
        """Record a batch of attempts and the deliveries' next states."""

    def wait_for_events(self, seconds: float) -> None:
        """Return when new events may have been written (or after `seconds`)."""


class Sender(Protocol):
    def send(self, url: str, headers: dict[str, str], body: bytes, timeout: float) -> AttemptResult: ...


class _Lanes:
    """One bounded thread pool per subscription: a slow subscriber fills its own lane only."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._lock = threading.Lock()

    def submit(self, subscription_id: str, work: Callable[[], None]) -> None:
        with self._lock:
            pool = self._pools.get(subscription_id)
            if pool is None:
                pool = self._pools[subscription_id] = ThreadPoolExecutor(
                    self.concurrency, thread_name_prefix=f"relay-{subscription_id[:8]}"
                )
        pool.submit(work)

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.shutdown(wait=True)


@dataclass
class Relay:
    store: DeliveryStore
    sender: Sender
    policy: RetryPolicy
    timeout_seconds: float = 10.0
    clock: Callable[[], datetime] = None  # type: ignore[assignment]
    rand: Callable[[], float] = random.random
    fan_out_batch: int = 500
    fan_out_seconds: float = 0.25  # fan-out's turn...
    fan_out_every: float = 0.5  # ...this often while deliveries are pending
    claim_batch: int = 200  # deliveries in flight at once, over all subscriptions
    concurrency: int = 16  # parallel requests per subscription
    _lanes: _Lanes = field(init=False, repr=False, default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.clock is None:
            self.clock = lambda: datetime.now(UTC)
        self._lanes = _Lanes(self.concurrency)

    @property
    def lease(self) -> timedelta:
        """Long enough for a claimed delivery to wait for its lane, time out and be recorded."""
        return timedelta(seconds=self.timeout_seconds * 3 + 5)

    def _attempt(self, claimed: ClaimedDelivery, done: queue.SimpleQueue[Outcome]) -> None:
        try:
            headers = signed_headers(claimed.secret, claimed.event_id, int(time.time()), claimed.body)
            with tracing.continued(
                claimed.trace_parent,
                "webhook deliver",
                {
                    "oms.tenant_id": claimed.tenant_id,
                    "oms.event_id": claimed.event_id,
                    "oms.subscription_id": claimed.subscription_id,
                    "oms.attempt": claimed.attempts + 1,
                },
                headers,
                kind=tracing.CLIENT,
            ) as span:
                result = self.sender.send(claimed.url, headers, claimed.body, self.timeout_seconds)
                if span is not None:
                    span.set_attribute("http.response.status_code", result.status_code or 0)
                    if not result.succeeded:
                        tracing.failed(span, result.error or f"HTTP {result.status_code}")
        except Exception as error:  # a sender bug must not lose the lease's outcome
            result = AttemptResult(None, 0, f"{type(error).__name__}: {error}"[:500])
        now = self.clock()
        done.put(Outcome(claimed, result, after_attempt(result, claimed.attempts, now, self.policy, self.rand), now))

    def _fan_out_for(self, seconds: float) -> None:
        """Fan out batches for at most about `seconds` (or until nothing is left): a large
        backlog is fanned out between deliveries, never in front of them all."""
        deadline = time.monotonic() + seconds
        while self.store.fan_out(self.fan_out_batch, self.clock()) and time.monotonic() < deadline:
            pass

    def run_once(self, should_stop: Callable[[], bool] = lambda: False) -> int:
        """Fan out what was written so far and deliver, until nothing is due now and nothing is in
        flight. Returns the number of attempts made. Fan-out takes turns with delivery (at most
        `fan_out_seconds` every `fan_out_every` seconds while deliveries are pending; each batch
        serves tenants round-robin), so a new event of any tenant is on its way within about a
        second whatever another tenant's backlog. Once `should_stop()` is true nothing new is
        claimed, and what is in flight is finished and recorded."""
        self._fan_out_for(self.fan_out_seconds)
        last_fan_out = time.monotonic()
        done: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        in_flight: Counter[str] = Counter()
        attempts = 0
        stopping = False
        while True:
            stopping = stopping or should_stop()
            if not stopping and time.monotonic() - last_fan_out >= self.fan_out_every:
                self._fan_out_for(self.fan_out_seconds)
                last_fan_out = time.monotonic()
            claimed = [] if stopping else self._claim(in_flight, done)
            if not claimed and not in_flight and not stopping and self.store.fan_out(self.fan_out_batch, self.clock()):
                continue  # idle, and new events: claim again at once (busy: fan-out waits for its turn)
            if not claimed and not in_flight:
                return attempts
            # Collect finished attempts into a batch, then claim again. The wait is short, so a
            # lane stuck on a slow subscriber never keeps the others waiting long.
            outcomes = _collect(done, want=max(1, min(sum(in_flight.values()), self.claim_batch // 2)))
            if outcomes:
                self.store.record(outcomes)
                attempts += len(outcomes)
                for outcome in outcomes:
                    in_flight[outcome.delivery.subscription_id] -= 1
                in_flight += Counter()  # drop the lanes that are empty now

    def _claim(self, in_flight: Counter[str], done: queue.SimpleQueue[Outcome]) -> list[ClaimedDelivery]:
        """Claim when at least half a batch is free (or nothing is in flight): few, large claims."""
        room = self.claim_batch - sum(in_flight.values())
        if in_flight and room < max(1, self.claim_batch // 2):
            return []
        full = [sub for sub, count in in_flight.items() if count >= self.concurrency * 2]
        claimed = self.store.claim(self.clock(), self.lease, room, full, per_subscription=self.concurrency * 2)
        for delivery in claimed:
            in_flight[delivery.subscription_id] += 1
            self._lanes.submit(delivery.subscription_id, partial(self._attempt, delivery, done))
        return claimed

    def run_forever(
        self, should_stop: Callable[[], bool], poll_seconds: float = 1.0, sleep: Callable[[float], None] | None = None
    ) -> None:
        """Until `should_stop()`. When idle it waits for new events (the store's wake-up, or
        `sleep`) at most `poll_seconds`, so retries that fall due are found too."""
        wait = sleep or self.store.wait_for_events
        try:
            while not should_stop():
                if self.run_once(should_stop) == 0 and not should_stop():
                    wait(poll_seconds)
        finally:
            self.close()

    def close(self) -> None:
        self._lanes.close()


def _collect(
    done: queue.SimpleQueue[Outcome], want: int, first_wait: float = 0.2, gather: float = 0.05
) -> list[Outcome]:
    """Finished attempts: the first within `first_wait` seconds, then more until `want` are in
    hand or `gather` seconds have passed since the first."""
    try:
        outcomes = [done.get(timeout=first_wait)]
    except queue.Empty:
        return []
    deadline = time.monotonic() + gather
    while len(outcomes) < want:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            outcomes.append(done.get(timeout=remaining))
        except queue.Empty:
            break
    while True:
        try:
            outcomes.append(done.get_nowait())
        except queue.Empty:
            return outcomes
