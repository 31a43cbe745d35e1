"""The outbox reader of the live hub (ordering/infrastructure/live/outbox.py): positions come from a
sequence, so a transaction holding a lower position may commit after a higher one. Its event must
still reach subscribers, once; a position that never commits (a rollback) is given up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from asgiref.sync import async_to_sync

from ordering.application.live import LiveEvent
from ordering.infrastructure.live.outbox import OutboxSource

pytestmark = pytest.mark.django_db


def event(position: int) -> LiveEvent:
    return LiveEvent(
        position, "t", f"order-{position}", "order.placed", 1, datetime.now(UTC), "c", frozenset(), "PENDING", ""
    )


class Outbox:
    """What has committed so far, as the reader would find it."""

    def __init__(self, *positions: int) -> None:
        self.committed = set(positions)

    def latest(self) -> int:
        return 0

    def events_after(self, high: int, limit: int) -> list[LiveEvent]:
        return [event(p) for p in sorted(self.committed) if p > high][:limit]

    def events(self, positions: list[int]) -> list[LiveEvent]:
        return [event(p) for p in sorted(self.committed) if p in positions]


def reader(outbox: Outbox, settle: float) -> tuple[OutboxSource, list[int]]:
    source = OutboxSource(poll_seconds=0.01, settle_seconds=settle)
    source.reader = outbox
    routed: list[int] = []
    source.route = lambda events: routed.extend(e.position for e in events)
    source.tenants = {"t"}
    return source, routed


def test_a_position_that_commits_late_is_routed_once_when_it_does():
    outbox = Outbox(1, 2, 4)  # 3 is still in its transaction
    source, routed = reader(outbox, settle=60)

    async def scenario():
        gaps: dict[int, float] = {}
        high = await source._route_once(0, gaps)
        assert (high, set(gaps)) == (4, {3})
        outbox.committed.add(3)
        high = await source._route_once(high, gaps)
        assert gaps == {}
        high = await source._route_once(high, gaps)
        return high

    assert async_to_sync(scenario)() == 4
    assert routed == [1, 2, 4, 3]


def test_a_position_that_never_commits_is_given_up_after_the_settle_time():
    outbox = Outbox(1, 3)  # 2 was rolled back
    source, routed = reader(outbox, settle=0)

    async def scenario():
        gaps: dict[int, float] = {}
        await source._route_once(0, gaps)
        assert set(gaps) == {2}
        await source._route_once(3, gaps)
        return gaps

    assert async_to_sync(scenario)() == {}
    assert routed == [1, 3]
