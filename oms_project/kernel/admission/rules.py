"""The rules of admission, in plain Python: what a tenant may hold and spend, and the answer.

Two mechanisms, both per tenant (docs/production.md, "Fair share"):

- **A share of the serving capacity.** While other tenants are being served (any admitted in
  the last `window` seconds), a tenant may have at most `max_in_flight(capacity)` requests in
  progress at once, across every worker that shares the store. What is left of the capacity
  stays free for the others, so a flood of one tenant is refused at the door (`OVER_SHARE`)
  instead of queueing in front of everyone. A tenant alone on the platform may use the whole
  capacity: the share is a guarantee to the others, never a cap on idle capacity
  (work-conserving; `in_flight_limit`).
- **Rate limits**, as token buckets in GCRA form (one timestamp per bucket): one bucket per
  tenant and one per caller (the token's `sub`, or the webhook door). A request spends its cost
  from both; a bucket refills at `rate` points a second up to `burst` points. A request that
  either bucket cannot pay for is refused (`RATE_LIMITED`) and nothing is spent.

The stores (`stores.py`) run `spend` atomically against shared state; the same arithmetic is
written in Lua for Redis and checked against this one by the tests.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

RATE_LIMITED = "RATE_LIMITED"
OVER_SHARE = "OVER_SHARE"


@dataclass(frozen=True)
class Limits:
    """One tenant's admission settings (the platform defaults, or the tenant's own)."""

    share: float  # of the serving capacity, 0 < share <= 1
    rate: float  # tenant bucket: points per second
    burst: float  # tenant bucket: size in points
    token_rate: float  # per caller
    token_burst: float

    def __post_init__(self) -> None:
        if not 0 < self.share <= 1:
            raise ValueError("share must be in (0, 1]")
        for name in ("rate", "burst", "token_rate", "token_burst"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")

    def max_in_flight(self, capacity: int) -> int:
        """Requests the tenant may have in progress while others are served: its share of
        `capacity`, at least one."""
        return max(1, math.floor(self.share * capacity + 1e-9))

    def in_flight_limit(self, capacity: int, others_active: bool) -> int:
        """Its share while other tenants are served, the whole capacity while it is alone."""
        return self.max_in_flight(capacity) if others_active else max(1, capacity)


def over_share_wait(spread: int, draw: Callable[[int, int], int] = random.randint) -> float:
    """How long a request refused `OVER_SHARE` is told to wait: a whole number of seconds drawn
    from 1 to `spread`. A slot frees whenever one of the tenant's requests ends, so no wait is
    exact; what matters is that the clients refused together do not all come back together.
    Told "1" each, a flood's clients came back as one herd every second, and a quiet tenant's
    request that arrived behind a herd waited for all of its refusals (docs/performance.md)."""
    return float(draw(1, max(1, spread)))


@dataclass(frozen=True)
class Bucket:
    rate: float
    burst: float

    @property
    def window(self) -> int:
        """Seconds an empty bucket takes to fill (the policy's window, `w`)."""
        return max(1, math.ceil(self.burst / self.rate))


@dataclass(frozen=True)
class BucketState:
    """What a GCRA bucket answers: whether the cost fits, its new theoretical arrival time, the
    points left after the answer, and how long until the cost would fit."""

    allowed: bool
    tat: float
    remaining: float
    retry_after: float


def gcra(tat: float | None, now: float, cost: float, bucket: Bucket) -> BucketState:
    """Spend `cost` points from a bucket whose state is `tat` (None: full) at time `now`.

    `tat` (the theoretical arrival time) is when the bucket will be full again; spending moves it
    `cost / rate` later, and the spend fits while `tat` stays within `burst / rate` seconds of
    now. A refusal leaves `tat` as it was.
    """
    base = max(tat if tat is not None else now, now)
    new_tat = base + cost / bucket.rate
    tolerance = bucket.burst / bucket.rate
    if new_tat - now <= tolerance + 1e-9:
        return BucketState(True, new_tat, max(0.0, (tolerance - (new_tat - now)) * bucket.rate), 0.0)
    return BucketState(False, base, max(0.0, (tolerance - (base - now)) * bucket.rate), new_tat - now - tolerance)


def refund(tat: float | None, now: float, points: float, bucket: Bucket) -> float | None:
    """`tat` after giving `points` back (never past a full bucket), or, with negative `points`,
    after charging them without a check (a request settling what it cost: the bucket may go
    into debt, and the next requests wait for it)."""
    if tat is None and points >= 0:
        return None
    return max(now, max(tat if tat is not None else now, now) - points / bucket.rate)


@dataclass(frozen=True)
class Verdict:
    """The store's answer to one admission or spend."""

    admitted: bool
    reason: str | None = None  # RATE_LIMITED or OVER_SHARE when refused
    retry_after: float = 0.0  # seconds
    tenant_remaining: float = 0.0  # points left in the tenant's bucket
    caller_remaining: float = 0.0
    in_flight: int = 0  # the tenant's requests in progress, this one included when admitted

    @property
    def retry_after_header(self) -> int:
        """`Retry-After` in whole seconds, at least one."""
        return max(1, math.ceil(self.retry_after - 1e-9))


def caller_key(tenant_id: str, caller: str) -> str:
    return f"{tenant_id}\x1f{caller}"
