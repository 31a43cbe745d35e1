"""A subscriber that answers 503 for a long stretch, then recovers (issue 15, docs/production.md
"Failure modes"): nothing is lost, one order's events still go out in order, what reached the
attempt limit is dead, shown in the admin and redeliverable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from ordering.infrastructure.models import OutboxEvent
from tests.ordering.conftest import Shop, seed_catalog
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_outbound_delivery import relay, subscribe
from webhooks.infrastructure.models import WebhookDelivery, WebhookSubscription


@pytest.fixture
def shop(gql, tenant) -> Shop:
    seed_catalog(tenant.id)
    return Shop(gql, tenant)


def test_a_long_outage_loses_nothing_and_keeps_each_orders_order(shop, admin_client, settings):
    settings.OMS_RELAY_MAX_ATTEMPTS = 4
    settings.OMS_RELAY_BACKOFF_BASE_SECONDS = 1
    settings.OMS_RELAY_BACKOFF_CAP_SECONDS = 2
    receiver = Receiver(subscribe(shop.tenant.id, "http://127.0.0.1:9/"), status=503)
    WebhookSubscription.objects.update(url=receiver.url)
    now = datetime.now(UTC)
    clock = [now]
    work = relay(clock=lambda: clock[0])
    try:
        orders = [shop.placed(items=(("kettle", 1),)) for _ in range(4)]
        events = {
            str(e.event_id): (str(e.aggregate_id), e.sequence)
            for e in OutboxEvent.objects.filter(aggregate_id__in=[o["id"] for o in orders])
        }
        # The outage: a relay pass every 3 s of simulated time, 8 passes (24 s); every attempt is 503.
        for _ in range(8):
            work.run_once()
            clock[0] += timedelta(seconds=3)
        during = list(receiver.events)
        assert during and all(r["status"] == 503 for r in receiver.received)
        dead = WebhookDelivery.objects.filter(status="DEAD")
        assert dead.exists() and all(d.attempts == 4 for d in dead)
        # In order per order: event n+1 was never tried before event n was dead.
        for order in orders:
            tried = [e["sequence"] for e in during if e["aggregate_id"] == order["id"]]
            assert tried == sorted(tried), tried

        # The admin lists the dead deliveries.
        page = admin_client.get(reverse("admin:webhooks_webhookdelivery_changelist"), {"status__exact": "DEAD"})
        assert page.status_code == 200 and all(str(d.event.event_id) in page.content.decode() for d in dead)

        # Recovery: what is pending goes out; the dead are redelivered from the admin.
        receiver.status = 204
        dead_ids = list(dead.values_list("pk", flat=True))
        for _ in range(20):
            clock[0] += timedelta(seconds=3)
            work.run_once()
        admin_client.post(
            reverse("admin:webhooks_webhookdelivery_changelist"), {"action": "redeliver", "_selected_action": dead_ids}
        )
        for _ in range(20):
            clock[0] += timedelta(seconds=3)
            work.run_once()
    finally:
        receiver.stop()
    assert WebhookDelivery.objects.exclude(status="DELIVERED").count() == 0
    delivered = {r["event"]["id"] for r in receiver.received if r["status"] == 204}
    assert delivered == set(events)  # nothing lost
    # Events that never died went out in order, order by order.
    died = {str(d.event.event_id) for d in WebhookDelivery.objects.filter(pk__in=dead_ids)}
    for order in orders:
        kept = [e["sequence"] for e in receiver.events if e["aggregate_id"] == order["id"] and e["id"] not in died]
        firsts = list(dict.fromkeys(kept))
        assert firsts == sorted(firsts), firsts
