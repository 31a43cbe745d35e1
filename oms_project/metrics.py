"""Prometheus metrics: business counters, database-derived gauges, and the `/metrics` view.

Request metrics (latency, status, method, per view) come from django-prometheus's middleware.
Business counters are incremented where the fact becomes true: after a unit of work commits
(orders by transition), when a webhook answer is chosen (receipts by outcome), when the relay
records an attempt (deliveries by outcome; the relay serves its own `/metrics`, see
`relay_events --metrics-port`). Relay lag and backlog are read from the database at scrape time,
so they are right whichever process is behind.

Under gunicorn, set PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py does) so every worker's counters
are summed into one answer.
"""

from __future__ import annotations

import hmac
import os
from datetime import datetime, timezone

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

ORDER_TRANSITIONS = Counter(
    "oms_order_transitions", "Order events committed, by event type (order.placed, order.shipped, ...).",
    ["event"])
WEBHOOK_RECEIPTS = Counter(
    "oms_webhook_receipts", "Inbound snapshot webhooks, by outcome (applied, duplicate, stale, or the refusal code).",
    ["outcome"])
INTERNAL_ERRORS = Counter(
    "oms_internal_errors", "Unexpected faults answered with code INTERNAL, by where they surfaced (graphql, http).",
    ["source"])
STREAM_PUBLISHED = Counter(
    "oms_stream_published", "Outbox events the event stream acknowledged (relay_events with OMS_EVENT_STREAM_URL).")
WEBHOOK_DELIVERIES = Counter(
    "oms_webhook_deliveries", "Outbound delivery attempts recorded by the relay, by outcome (delivered, retry, dead).",
    ["outcome"])


class RelayBacklogCollector:
    """Relay lag and backlog, read from the outbox and delivery tables at scrape time."""

    def collect(self):
        from ordering.infrastructure.models import OutboxEvent
        from webhooks.infrastructure.models import WebhookDelivery

        now = datetime.now(timezone.utc)
        oldest_event = (OutboxEvent.objects.filter(dispatched_at__isnull=True)
                        .order_by("position").values_list("occurred_at", flat=True).first())
        oldest_due = (WebhookDelivery.objects.filter(status="PENDING", next_attempt_at__lte=now)
                      .order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first())
        lag = GaugeMetricFamily("oms_relay_lag_seconds",
                                "Age of the oldest work the relay has not done yet, by stage.", labels=["stage"])
        lag.add_metric(["fan_out"], (now - oldest_event).total_seconds() if oldest_event else 0.0)
        lag.add_metric(["delivery"], (now - oldest_due).total_seconds() if oldest_due else 0.0)
        if settings.OMS_EVENT_STREAM_URL:
            oldest_unpublished = (OutboxEvent.objects.filter(published_at__isnull=True).order_by("position")
                                  .values_list("occurred_at", flat=True).first())
            lag.add_metric(["stream"], (now - oldest_unpublished).total_seconds() if oldest_unpublished else 0.0)
        yield lag
        backlog = GaugeMetricFamily("oms_relay_backlog", "Deliveries waiting, by status.", labels=["status"])
        backlog.add_metric(["pending"], WebhookDelivery.objects.filter(status="PENDING").count())
        backlog.add_metric(["dead"], WebhookDelivery.objects.filter(status="DEAD").count())
        yield backlog


def process_registry():
    """This process's metrics, or every gunicorn worker's when running multi-process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.OMS_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return HttpResponse("metrics need the scrape token\n", status=401, content_type="text/plain")
    database = CollectorRegistry(auto_describe=False)
    database.register(RelayBacklogCollector())
    body = generate_latest(process_registry()) + generate_latest(database)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
