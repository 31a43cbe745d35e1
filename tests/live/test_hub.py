"""The live hub's own rules (ordering/infrastructure/live/hub.py): events reach the feeds that follow
them, a subscriber that stops reading is told to resubscribe instead of holding memory, and a
tenant is read while, and only while, it has subscribers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from asgiref.sync import async_to_sync

from identity.domain.principal import Principal, Role
from ordering.application.live import LiveEvent, ReplayUnavailable, customer_feed
from ordering.infrastructure.live.hub import LiveHub

pytestmark = pytest.mark.django_db


class Source:
    letter = "o"

    def __init__(self) -> None:
        self.watched: set[str] = set()  # a source reads a tenant once, however many watch it

    async def watch(self, tenant_id, route) -> None:
        self.watched.add(tenant_id)

    async def unwatch(self, tenant_id) -> None:
        self.watched.discard(tenant_id)

    async def replay(self, feed, after, limit):
        return []


def event(position: int, customer: str = "cust-1", tenant: str = "t") -> LiveEvent:
    return LiveEvent(
        position,
        tenant,
        f"order-{position}",
        "order.placed",
        1,
        datetime.now(UTC),
        customer,
        frozenset(),
        "PENDING",
        "",
        position,
    )


def customer(user_id: str = "cust-1", tenant: str = "t") -> Principal:
    return Principal(user_id=user_id, tenant_id=tenant, roles=frozenset({Role.CUSTOMER}))


def test_events_reach_the_feeds_that_follow_them_only():
    async def scenario():
        hub = LiveHub(Source())
        mine = await hub.start(customer_feed(customer("cust-1")), None)
        theirs = await hub.start(customer_feed(customer("cust-2")), None)
        hub.route([event(1, "cust-1"), event(2, "cust-2"), event(3, "cust-1", tenant="other")])
        got = await mine.__anext__()
        other = await theirs.__anext__()
        await mine.aclose()
        still = set(hub.source.watched)
        await theirs.aclose()
        return [e.position for e in got], [e.position for e in other], still, hub.source.watched

    mine, theirs, still, watched = async_to_sync(scenario)()
    assert mine == [1] and theirs == [2]
    assert still == {"t"}, "read while one subscriber is left"
    assert watched == set(), "no longer read once its last subscriber left"


def test_a_subscriber_that_stops_reading_is_told_to_resubscribe_with_after():
    async def scenario():
        hub = LiveHub(Source(), queue_limit=2)
        following = await hub.start(customer_feed(customer()), None)
        hub.route([event(1), event(2), event(3), event(4)])  # nobody reads meanwhile
        held = following.subscriber.queue.qsize()
        with pytest.raises(ReplayUnavailable):
            await following.__anext__()
        await following.aclose()
        return held

    assert async_to_sync(scenario)() == 3  # the limit, and the event that tells it
