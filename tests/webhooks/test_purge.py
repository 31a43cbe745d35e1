"""`manage.py purge_events`: old events that are done go, with their deliveries and attempts;
nothing not yet fanned out, delivered or (with a stream) published is ever removed."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ordering.infrastructure.models import OutboxEvent
from webhooks.infrastructure.models import DeliveryAttempt, WebhookDelivery, WebhookSubscription

from .receiver import Receiver
from .test_outbound_delivery import relay, shop, subscribe  # noqa: F401 (shop: a fixture)

OLD = datetime.now(UTC) - timedelta(days=30)


def purge(*args) -> str:
    out = io.StringIO()
    call_command("purge_events", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def delivered(shop):
    """Two orders' events, all delivered to one subscription, written 30 days ago."""
    receiver = Receiver(subscribe(shop.tenant.id, "http://127.0.0.1:9/"))
    WebhookSubscription.objects.update(url=receiver.url)
    try:
        orders = [shop.placed(items=(("kettle", 1),)) for _ in range(2)]
        relay().run_once()
    finally:
        receiver.stop()
    OutboxEvent.objects.update(created_at=OLD)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"DELIVERED"}
    return orders


def test_old_delivered_events_go_with_their_deliveries_and_attempts(delivered, settings):
    settings.OMS_EVENT_STREAM_URL = ""
    events = OutboxEvent.objects.count()
    assert f"{events} event(s) purged" in purge("--older-than", "7d", "--batch", "2")
    assert OutboxEvent.objects.count() == WebhookDelivery.objects.count() == DeliveryAttempt.objects.count() == 0


def test_nothing_unfinished_is_ever_purged(delivered, shop, settings):
    settings.OMS_EVENT_STREAM_URL = ""
    first, second = delivered
    recent = shop.draft(items=(("kettle", 1),))  # not old enough, and not fanned out
    OutboxEvent.objects.filter(aggregate_id=recent["id"]).update(created_at=OLD)  # old, but not dispatched
    pending = WebhookDelivery.objects.filter(aggregate_id=first["id"]).order_by("sequence").last()
    WebhookDelivery.objects.filter(pk=pending.pk).update(status="PENDING")
    dead = WebhookDelivery.objects.filter(aggregate_id=second["id"]).order_by("sequence").first()
    WebhookDelivery.objects.filter(pk=dead.pk).update(status="DEAD")
    purge("--older-than", "7d")
    kept = set(OutboxEvent.objects.values_list("position", flat=True))
    assert {pending.event_id, dead.event_id} <= kept
    assert OutboxEvent.objects.filter(aggregate_id=recent["id"]).exists()
    assert WebhookDelivery.objects.filter(pk__in=[pending.pk, dead.pk]).count() == 2
    assert DeliveryAttempt.objects.filter(delivery_id=dead.pk).exists()
    purge("--older-than", "7d", "--include-dead")
    assert not OutboxEvent.objects.filter(position=dead.event_id).exists()
    assert OutboxEvent.objects.filter(position=pending.event_id).exists()


def test_with_a_stream_only_published_events_go(delivered, settings):
    settings.OMS_EVENT_STREAM_URL = "nats://127.0.0.1:4222"
    purge("--older-than", "7d")
    assert OutboxEvent.objects.count() > 0, "not yet published: kept"
    published = OutboxEvent.objects.order_by("position").first()
    OutboxEvent.objects.filter(pk=published.pk).update(published_at=datetime.now(UTC))
    assert "1 event(s) purged" in purge("--older-than", "7d")
    assert not OutboxEvent.objects.filter(pk=published.pk).exists()


def test_recent_events_stay(delivered, settings):
    settings.OMS_EVENT_STREAM_URL = ""
    assert "0 event(s) purged" in purge("--older-than", "60d")


@pytest.mark.parametrize(
    "args, message",
    [(["--older-than", "a week"], "not a duration"), (["--older-than", "7d", "--batch", "0"], "at least 1")],
)
def test_bad_options_are_refused(db, args, message):
    OutboxEvent.objects.create(
        tenant_id=_tenant().id,
        type="order.placed",
        aggregate_id=uuid.uuid4(),
        sequence=1,
        data={},
        occurred_at=OLD,
        dispatched_at=OLD,
    )
    with pytest.raises(CommandError, match=message):
        purge(*args)
    assert OutboxEvent.objects.count() == 1


def _tenant():
    from tests.factories import TenantFactory

    return TenantFactory(id="tenant-p")


def test_an_event_kept_does_not_stop_the_purge_of_the_later_ones(delivered, settings):
    settings.OMS_EVENT_STREAM_URL = ""
    oldest = OutboxEvent.objects.order_by("position").first()
    WebhookDelivery.objects.filter(event_id=oldest.position).update(status="PENDING")
    purge("--older-than", "7d", "--batch", "1")  # the first batch's oldest candidate is kept
    assert list(OutboxEvent.objects.values_list("position", flat=True)) == [oldest.position]
