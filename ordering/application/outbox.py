"""The outbox as its consumers read it: the relay's fan-out (webhooks), its stream publisher, and
the purge of events that are done (docs/events.md).

Ordering writes the outbox in the transaction of each change (the unit of work); everything that
reads it afterwards goes through the `OutboxFeed` port (`ports.py`), which ordering's
infrastructure provides (`services.outbox_feed`). The fair-share rule of the relay lives here:
each stage serves the tenants with events waiting in turn, an equal quota each, starting after
the tenant it served last, so one tenant's backlog, however large, never stands in front of
another tenant's next event (docs/production.md, "Fair share").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

Stage = Literal["fan_out", "stream"]  # what has handled an event: fanned out, published to the stream
STAGES: tuple[Stage, ...] = ("fan_out", "stream")


@dataclass(frozen=True)
class WaitingEvent:
    """An event a stage has not handled yet, as the stage chooses among them."""

    position: int
    tenant_id: str
    type: str
    aggregate_id: str
    sequence: int


@dataclass(frozen=True)
class OutboxDocument:
    """An event with everything its envelope is made of (`event_payloads.envelope`)."""

    position: int
    event_id: str
    tenant_id: str
    type: str
    aggregate_id: str
    sequence: int
    occurred_at: datetime
    correlation_id: str
    data: dict[str, Any]
    trace_parent: str


class TenantsWaiting(Protocol):
    def tenants_waiting(self, stage: Stage, after: str, limit: int) -> list[str]:
        """Up to `limit` tenants with events `stage` has not handled, in tenant order after `after`."""


class RoundRobin:
    """Which tenants the next batch of a stage serves: up to `limit`, from the one after the
    tenant the previous batch served last, around again from the first."""

    def __init__(self, feed: TenantsWaiting, stage: Stage, limit: int = 64) -> None:
        self.feed = feed
        self.stage = stage
        self.limit = limit
        self.last = ""

    def next_tenants(self) -> list[str]:
        tenants = self.feed.tenants_waiting(self.stage, self.last, self.limit)
        if len(tenants) < self.limit and self.last:
            tenants += [
                t
                for t in self.feed.tenants_waiting(self.stage, "", self.limit - len(tenants))
                if t <= self.last and t not in tenants
            ]
        if tenants:
            self.last = tenants[-1]
        return tenants


def quota(limit: int, tenants: list[str]) -> int:
    """Each tenant's equal part of a batch of `limit` events."""
    return max(1, -(-limit // len(tenants)))
