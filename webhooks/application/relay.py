"""The relay: fan outbox events out to subscriptions, then deliver what is due, one at a time.

Delivery guarantees (api.md, "Outbound events"):
- at least once: a delivery stays PENDING until a 2xx answer, or DEAD after the last attempt;
  a relay that dies mid-send leaves a lease that expires, and another relay retries;
- in order per order and subscription: a delivery is only due while no earlier event of the
  same order for the same subscription is still PENDING (`DeliveryStore.claim` enforces it);
- never twice at the same time: `claim` takes a row with `FOR UPDATE SKIP LOCKED` and leases it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

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


class DeliveryStore(Protocol):
    def fan_out(self, limit: int, now: datetime) -> int: ...
    def claim(self, now: datetime, lease: timedelta) -> ClaimedDelivery | None: ...
    def record(self, delivery: ClaimedDelivery, result: AttemptResult, state: NextState, at: datetime) -> None: ...


class Sender(Protocol):
    def send(self, url: str, headers: dict[str, str], body: bytes, timeout: float) -> AttemptResult: ...


@dataclass
class Relay:
    store: DeliveryStore
    sender: Sender
    policy: RetryPolicy
    timeout_seconds: float = 10.0
    clock: Callable[[], datetime] = None  # type: ignore[assignment]
    rand: Callable[[], float] = random.random
    fan_out_batch: int = 500

    def __post_init__(self) -> None:
        if self.clock is None:
            from datetime import timezone

            self.clock = lambda: datetime.now(timezone.utc)

    @property
    def lease(self) -> timedelta:
        """Long enough for one attempt to time out and be recorded."""
        return timedelta(seconds=self.timeout_seconds * 2 + 5)

    def deliver_one(self) -> bool:
        """Send the next due delivery, if any, and record the attempt. True if one was sent."""
        claimed = self.store.claim(self.clock(), self.lease)
        if claimed is None:
            return False
        headers = signed_headers(claimed.secret, claimed.event_id, int(time.time()), claimed.body)
        result = self.sender.send(claimed.url, headers, claimed.body, self.timeout_seconds)
        now = self.clock()
        self.store.record(claimed, result, after_attempt(result, claimed.attempts, now, self.policy, self.rand), now)
        return True

    def run_once(self, should_stop: Callable[[], bool] = lambda: False) -> int:
        """Fan out everything written so far, then deliver until nothing is due now. Returns the
        number of attempts made."""
        while self.store.fan_out(self.fan_out_batch, self.clock()):
            pass
        attempts = 0
        while not should_stop() and self.deliver_one():
            attempts += 1
            if attempts % 100 == 0:
                self.store.fan_out(self.fan_out_batch, self.clock())
        return attempts

    def run_forever(self, should_stop: Callable[[], bool], poll_seconds: float = 1.0,
                    sleep: Callable[[float], None] = time.sleep) -> None:
        """Until `should_stop()`; the delivery in flight is always finished and recorded."""
        while not should_stop():
            if self.run_once(should_stop) == 0:
                sleep(poll_seconds)
