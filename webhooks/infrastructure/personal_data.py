"""The relay's part of a customer erasure (docs/privacy.md): a subscriber's answer recorded with an
attempt (`HTTP 500: <its body>`) may echo what it was sent. Registered with ordering as an erasure
participant by `WebhooksConfig.ready`; runs in the erasure's transaction."""

from __future__ import annotations

from oms_project.kernel.rewrite import rewrite_field
from ordering.domain.privacy import scrubber

from .models import DeliveryAttempt, WebhookDelivery, WebhookSubscription


def erase_from_deliveries(tenant_id: str, order_ids: list[str], erased: set[str]) -> None:
    scrubbed = scrubber(erased)
    # By subscription and order: the index the relay keeps its per-order queues in.
    subscriptions = WebhookSubscription.objects.filter(tenant_id=tenant_id).values("id")
    deliveries = WebhookDelivery.objects.filter(
        tenant_id=tenant_id, subscription__in=subscriptions, aggregate_id__in=order_ids
    )
    rewrite_field(deliveries.exclude(last_error=""), "last_error", scrubbed)
    attempts = DeliveryAttempt.objects.filter(tenant_id=tenant_id, delivery__in=deliveries)
    rewrite_field(attempts.exclude(error=""), "error", scrubbed)
