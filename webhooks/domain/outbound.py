"""Rules of outbound event delivery, in plain Python: which subscriptions get an event, what a
delivery's headers are, when to retry and when to give up.

A delivery succeeds on any 2xx answer. Anything else (another status, a timeout, a refused
connection) is a failed attempt: the next one waits `base * 2^(n-1)` seconds (capped), with
"equal jitter" (a random point in the upper half of that wait) so that many failed deliveries do
not retry in lockstep. After `max_attempts` failed attempts the delivery is dead.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from .signatures import sign

USER_AGENT = "OMS-Webhooks/1"


class DeliveryStatus(str, Enum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    DEAD = "DEAD"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 10.0
    cap_seconds: float = 3600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_seconds <= 0 or self.cap_seconds < self.base_seconds:
            raise ValueError("max_attempts >= 1 and 0 < base_seconds <= cap_seconds")

    def delay(self, failed_attempts: int, rand: Callable[[], float] = random.random) -> timedelta:
        """The wait after the `failed_attempts`-th failure (1-based)."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** (failed_attempts - 1))
        return timedelta(seconds=ceiling / 2 + rand() * ceiling / 2)


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    latency_ms: int
    error: str = ""
    permanent: bool = False  # retrying cannot help (a refused destination): dead at once

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class NextState:
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None


def after_attempt(
    result: AttemptResult,
    attempts_before: int,
    now: datetime,
    policy: RetryPolicy,
    rand: Callable[[], float] = random.random,
) -> NextState:
    attempts = attempts_before + 1
    if result.succeeded:
        return NextState(DeliveryStatus.DELIVERED, attempts, None)
    if attempts >= policy.max_attempts or result.permanent:
        return NextState(DeliveryStatus.DEAD, attempts, None)
    return NextState(DeliveryStatus.PENDING, attempts, now + policy.delay(attempts, rand))


def subscribed(event_types: list[str], event_type: str) -> bool:
    """An empty list means every event type."""
    return not event_types or event_type in event_types


def body_of(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()


def signed_headers(secret: str, event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, event_id, timestamp, body),
    }


def check_url(url: str) -> str:
    """An http(s) URL with a host (internal names like `http://fulfilment:8080/hooks` included);
    raises ValueError otherwise."""
    from urllib.parse import urlsplit

    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        raise ValueError(f"not an http(s) URL: {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in text):
        raise ValueError(f"not an http(s) URL: {url!r}")
    if len(text) > 500:
        raise ValueError("a URL is at most 500 characters")
    return text
