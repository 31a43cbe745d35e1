"""The relay serves tenants round-robin (docs/production.md, "Fair share"): one tenant's backlog
never stands in front of another tenant's next event, in the fan-out, the claims and the stream."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ordering.infrastructure.models import OutboxEvent
from tests.factories import TenantFactory
from webhooks.infrastructure.models import WebhookDelivery, WebhookSubscription
from webhooks.infrastructure.outbound import OrmDeliveryStore
from webhooks.infrastructure.stream import OrmUnpublishedEvents

from .receiver import Receiver
from .test_outbound_delivery import relay, subscribe

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def backlog(tenant_id: str, events: int) -> list[int]:
    """`events` events of `tenant_id` waiting in the outbox, each of its own order."""
    rows = OutboxEvent.objects.bulk_create(
        [
            OutboxEvent(
                tenant_id=tenant_id,
                type="order.placed",
                aggregate_id=uuid.uuid4(),
                sequence=1,
                data={"order": {"id": "x"}},
                occurred_at=NOW,
            )
            for _ in range(events)
        ]
    )
    return [row.position for row in rows]


@pytest.fixture
def tenants(db):
    return TenantFactory(id="loud-a"), TenantFactory(id="quiet-b")


@pytest.mark.django_db(transaction=True)
def test_a_fan_out_batch_takes_an_equal_share_of_each_tenants_waiting_events(tenants):
    a, b = tenants
    subscribe(a.id, "http://127.0.0.1:9/a")
    subscribe(b.id, "http://127.0.0.1:9/b")
    backlog(a.id, 40)
    (b_event,) = backlog(b.id, 1)  # written last, behind all of A's
    store = OrmDeliveryStore()
    assert store.fan_out(10, NOW) == 6  # 5 of A's (its half of 10), B's one
    assert OutboxEvent.objects.get(position=b_event).dispatched_at is not None
    assert WebhookDelivery.objects.filter(tenant_id=b.id).count() == 1
    assert OutboxEvent.objects.filter(tenant_id=a.id, dispatched_at__isnull=False).count() == 5
    assert (
        sorted(
            OutboxEvent.objects.filter(tenant_id=a.id, dispatched_at__isnull=False).values_list("position", flat=True)
        )
        == sorted(backlog_positions(a.id))[:5]
    )  # A's oldest first
    while store.fan_out(10, NOW):
        pass
    assert not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()
    assert WebhookDelivery.objects.count() == 41


def backlog_positions(tenant_id: str) -> list[int]:
    return list(OutboxEvent.objects.filter(tenant_id=tenant_id).values_list("position", flat=True))


@pytest.mark.django_db(transaction=True)
def test_claims_serve_the_subscriptions_in_turn(tenants):
    a, b = tenants
    subscribe(a.id, "http://127.0.0.1:9/a")
    subscribe(b.id, "http://127.0.0.1:9/b")
    backlog(a.id, 30)
    backlog(b.id, 1)
    store = OrmDeliveryStore()
    while store.fan_out(500, NOW):
        pass
    WebhookDelivery.objects.filter(tenant_id=b.id).update(next_attempt_at=NOW + timedelta(seconds=1))  # B's is newest
    later = NOW + timedelta(seconds=2)
    first = store.claim(later, timedelta(minutes=1), 10)
    second = store.claim(later, timedelta(minutes=1), 10)
    claimed = [d.tenant_id for d in first + second]
    assert b.id in claimed  # not behind A's 30, however its subscription's id sorts
    assert len(first) == 10 and claimed.count(a.id) >= 9
    # At most what a subscription's lane takes: a slow subscriber's backlog never fills a claim.
    WebhookDelivery.objects.update(lease_until=None)
    capped = [d.tenant_id for d in store.claim(later, timedelta(minutes=1), 200, per_subscription=8)]
    assert capped.count(a.id) == 8 and capped.count(b.id) == 1


@pytest.mark.django_db(transaction=True)
def test_a_stream_batch_takes_an_equal_share_of_each_tenants_unpublished_events(tenants):
    a, b = tenants
    backlog(a.id, 40)
    (b_event,) = backlog(b.id, 1)
    with OrmUnpublishedEvents().next_batch(4) as batch:
        positions = [message.position for message in batch.messages]
    assert b_event in positions and len(positions) == 3  # A's two oldest and B's one
    assert positions[:2] == sorted(backlog_positions(a.id))[:2]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("waiting", "delay"), [(3000, 0.0), (1500, 0.02)])
def test_another_tenants_event_is_delivered_while_a_backlog_drains(tenants, waiting, delay):
    """A has thousands of events waiting, for a subscriber that answers at once or one that takes
    20 ms each; B's new event reaches B's subscriber long before A's backlog is through."""
    a, b = tenants
    a_receiver = Receiver(subscribe(a.id, "http://127.0.0.1:9/a"), delay=delay)
    b_receiver = Receiver(subscribe(b.id, "http://127.0.0.1:9/b"))
    WebhookSubscription.objects.filter(tenant_id=a.id).update(url=a_receiver.url)
    WebhookSubscription.objects.filter(tenant_id=b.id).update(url=b_receiver.url)
    backlog(a.id, waiting)
    backlog(b.id, 1)
    worker = relay(concurrency=4, fan_out_batch=10)
    stop = threading.Event()
    thread = threading.Thread(target=lambda: worker.run_forever(stop.is_set, poll_seconds=0.1))
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not b_receiver.events and time.monotonic() < deadline:
            time.sleep(0.01)
        a_done_when_b_arrived = len(a_receiver.events)
    finally:
        stop.set()
        thread.join(60)
        a_receiver.stop()
        b_receiver.stop()
    assert b_receiver.events, "B's event never arrived"
    assert a_done_when_b_arrived < waiting // 3, a_done_when_b_arrived


class EndlessBacklog:
    """A store whose fan-out never runs out (10 ms a batch) and has nothing to deliver."""

    def __init__(self) -> None:
        self.fan_outs = 0

    def fan_out(self, limit, now):
        self.fan_outs += 1
        time.sleep(0.01)
        return limit

    def claim(self, now, lease, limit, skip_subscriptions=(), per_subscription=None):
        return []

    def record(self, outcomes):
        pass

    def wait_for_events(self, seconds):
        pass


def test_fan_out_takes_turns_with_delivery_instead_of_going_first_until_the_backlog_is_gone():
    from webhooks.application.relay import Relay
    from webhooks.domain.outbound import RetryPolicy

    store = EndlessBacklog()
    worker = Relay(store=store, sender=None, policy=RetryPolicy(3, 1, 10), fan_out_seconds=0.1)
    started = time.monotonic()
    worker._fan_out_for(worker.fan_out_seconds)
    assert time.monotonic() - started < 0.5 and 5 <= store.fan_outs <= 20
