"""The relay's lag and backlog in `/metrics`, read from the outbox and delivery tables at scrape
time (registered by `WebhooksConfig.ready` with the kernel's `collect_at_scrape`)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily


class RelayBacklogCollector:
    """Relay lag and backlog, read from the outbox and delivery tables at scrape time."""

    def collect(self):
        from ordering.application import services as ordering
        from webhooks.infrastructure.models import WebhookDelivery

        outbox = ordering.outbox_feed()
        now = datetime.now(UTC)
        oldest_event = outbox.oldest_waiting("fan_out")
        oldest_due = (
            WebhookDelivery.objects.filter(status="PENDING", next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        lag = GaugeMetricFamily(
            "oms_relay_lag_seconds", "Age of the oldest work the relay has not done yet, by stage.", labels=["stage"]
        )
        lag.add_metric(["fan_out"], (now - oldest_event).total_seconds() if oldest_event else 0.0)
        lag.add_metric(["delivery"], (now - oldest_due).total_seconds() if oldest_due else 0.0)
        if settings.OMS_EVENT_STREAM_URL:
            oldest_unpublished = outbox.oldest_waiting("stream")
            lag.add_metric(["stream"], (now - oldest_unpublished).total_seconds() if oldest_unpublished else 0.0)
        yield lag
        backlog = GaugeMetricFamily("oms_relay_backlog", "Deliveries waiting, by status.", labels=["status"])
        backlog.add_metric(["pending"], WebhookDelivery.objects.filter(status="PENDING").count())
        backlog.add_metric(["dead"], WebhookDelivery.objects.filter(status="DEAD").count())
        yield backlog
        by_tenant = GaugeMetricFamily(
            "oms_relay_backlog_by_tenant",
            "Work the relay has not done yet, per tenant: events not fanned out, deliveries pending, "
            "events not published to the stream.",
            labels=["tenant", "stage"],
        )
        for tenant_id, count in outbox.waiting_by_tenant("fan_out"):
            by_tenant.add_metric([tenant_id, "fan_out"], count)
        if settings.OMS_EVENT_STREAM_URL:
            unpublished = outbox.waiting_by_tenant("stream")
            for tenant_id, count in unpublished:
                by_tenant.add_metric([tenant_id, "stream"], count)
            waiting = GaugeMetricFamily(
                "oms_stream_events_waiting", "Outbox events not yet published to the event stream."
            )
            waiting.add_metric([], sum(count for _, count in unpublished))
            yield waiting
        for tenant_id, count in (
            WebhookDelivery.objects.filter(status="PENDING")
            .order_by()
            .values("tenant_id")
            .annotate(n=Count("pk"))
            .values_list("tenant_id", "n")
        ):
            by_tenant.add_metric([tenant_id, "delivery"], count)
        yield by_tenant
