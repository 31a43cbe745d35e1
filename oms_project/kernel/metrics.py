"""Prometheus metrics: business counters, database-derived gauges, and the `/metrics` view.

Request metrics come from `RequestMetricsMiddleware`, the outermost middleware: requests by view,
transport and method, responses by status, and latency by view and method, under the names
django-prometheus uses (so its dashboards keep working), at three metric updates a request.
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
import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

# A process started with PROMETHEUS_MULTIPROC_DIR set writes its counters there from the first
# metric on, so the directory must exist first. The image sets it for every command, including
# `manage.py migrate`, which runs before gunicorn.conf.py would create it.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

ORDER_TRANSITIONS = Counter(
    "oms_order_transitions", "Order events committed, by event type (order.placed, order.shipped, ...).", ["event"]
)
WEBHOOK_RECEIPTS = Counter(
    "oms_webhook_receipts",
    "Inbound snapshot webhooks, by outcome (applied, duplicate, stale, or the refusal code).",
    ["outcome"],
)
INTERNAL_ERRORS = Counter(
    "oms_internal_errors",
    "Unexpected faults answered with code INTERNAL, by where they surfaced (graphql, http).",
    ["source"],
)
STREAM_PUBLISHED = Counter(
    "oms_stream_published", "Outbox events the event stream acknowledged (relay_events with OMS_EVENT_STREAM_URL)."
)
WEBHOOK_DELIVERIES = Counter(
    "oms_webhook_deliveries",
    "Outbound delivery attempts recorded by the relay, by outcome (delivered, retry, dead).",
    ["outcome"],
)


REQUESTS = Counter(
    "django_http_requests_total_by_view_transport_method",
    "Requests, by view, transport and method.",
    ["view", "transport", "method"],
)
RESPONSES = Counter("django_http_responses_total_by_status", "Responses, by status code.", ["status"])
LATENCY = Histogram(
    "django_http_requests_latency_seconds_by_view_method",
    "Request latency in seconds, middleware included.",
    ["view", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0),
)
REPLICA_READS = Counter(
    "oms_replica_reads", "Read-only requests, by the database that served them (docs/scaling.md).", ["database"]
)
REPLICA_FALLBACKS = Counter(
    "oms_replica_fallbacks",
    "Reads sent to the primary although replicas are configured, by reason (down, lag, behind).",
    ["reason"],
)
REPLICA_LAG = Gauge(
    "oms_replica_lag_seconds",
    "Each replica's replication lag at its last health check.",
    ["replica"],
    multiprocess_mode="max",
)
STOCK_REFUSALS = Counter(
    "oms_stock_refusals", "Order lines refused OUT_OF_STOCK when reserving (placement, amendment)."
)
PERSISTED_QUERIES = Counter(
    "oms_persisted_queries",
    "Requests naming a document by hash, by outcome: found, "
    "registered, not_found, refused (identity/domain/persisted_queries.py).",
    ["outcome"],
)
ADMIN_LOGIN_FAILURES = Counter("oms_admin_login_failures", "Failed admin sign-ins (wrong password or locked out).")
ADMIN_LOCKOUTS = Counter(
    "oms_admin_lockouts", "Admin sign-ins refused because the username and address are locked out."
)
ADMISSION_REFUSED = Counter(
    "oms_admission_refused",
    "Requests refused with 429 at admission, by tenant and reason (RATE_LIMITED, OVER_SHARE; oms_project/admission).",
    ["tenant", "reason"],
)
ADMISSION_STORE_ERRORS = Counter(
    "oms_admission_store_errors", "Admission steps whose store failed; the request was admitted (fail open)."
)
STREAM_CONNECTED = Gauge(
    "oms_stream_connected",
    "1 while this process's NATS connection is up, 0 while it is down, by client (relay, live).",
    ["client"],
    multiprocess_mode="min",
)
LIVE_CONNECTIONS = Gauge(
    "oms_live_connections", "Live (subscription) connections this process holds, by tenant.", ["tenant"]
)
LIVE_MESSAGES = Counter(
    "oms_live_messages",
    "Live connections' outcomes and messages, by kind: accepted, refused, next (an update sent), error.",
    ["kind"],
)
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


class RequestMetricsMiddleware:
    """Counts every request and times it, middleware included (first in `settings.MIDDLEWARE`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name if match is not None else None) or "<unnamed view>"
        method = request.method if request.method in _METHODS else "<invalid method>"
        REQUESTS.labels(view, "https" if request.is_secure() else "http", method).inc()
        RESPONSES.labels(str(response.status_code)).inc()
        LATENCY.labels(view, method).observe(time.perf_counter() - started)
        return response


def count_login_failure(sender: object, credentials: object = None, request: object = None, **kwargs: Any) -> None:
    """`user_login_failed` receiver."""
    ADMIN_LOGIN_FAILURES.inc()


def count_lockout(
    sender: object, request: object = None, username: str | None = None, ip_address: str | None = None, **kwargs: Any
) -> None:
    """django-axes' `user_locked_out` receiver: counted, and logged with the address (never the
    password)."""
    ADMIN_LOCKOUTS.inc()
    logging.getLogger("oms.admin").warning(
        "admin sign-in locked out for %r from %s",
        username,
        ip_address,
        extra={"username": username, "ip_address": ip_address},
    )


def require_metrics_protection() -> None:
    """A production process (DEBUG=0) does not start with `/metrics` open to anyone who reaches
    it: set `OMS_METRICS_TOKEN`, or `OMS_METRICS_PUBLIC=1` where the network keeps it private."""
    if not settings.DEBUG and not settings.OMS_METRICS_TOKEN and not settings.OMS_METRICS_PUBLIC:
        raise ImproperlyConfigured(
            "/metrics would be open: set OMS_METRICS_TOKEN (scrapers send it as a bearer token), "
            "or OMS_METRICS_PUBLIC=1 if only a private network reaches this process"
        )


class AdmissionCollector:
    """Each tenant's requests in progress and points left, read from the admission store at
    scrape time (under gunicorn every worker shares it, so one worker's answer is the server's)."""

    def collect(self) -> Iterator[Metric]:
        from oms_project.kernel.admission import lane

        in_flight = GaugeMetricFamily("oms_admission_in_flight", "Requests in progress, per tenant.", labels=["tenant"])
        remaining = GaugeMetricFamily(
            "oms_admission_budget_remaining", "Points left in the tenant's rate-limit bucket.", labels=["tenant"]
        )
        admission = lane()
        for usage in admission.usage() if admission is not None else ():
            in_flight.add_metric([usage.tenant_id], usage.in_flight)
            if usage.remaining is not None:
                remaining.add_metric([usage.tenant_id], usage.remaining)
        yield from (in_flight, remaining)


_SCRAPE_COLLECTORS: dict[str, Callable[[], Collector]] = {}


def collect_at_scrape(name: str, make: Callable[[], Collector]) -> None:
    """Add a collector that reads the database when `/metrics` is scraped (an app registers its
    own from its `AppConfig.ready`; the kernel reads no app's tables)."""
    _SCRAPE_COLLECTORS[name] = make


collect_at_scrape("admission", AdmissionCollector)


def process_registry() -> CollectorRegistry:
    """This process's metrics, or every gunicorn worker's when running multi-process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # prometheus_client leaves it untyped
        return registry
    return REGISTRY


def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.OMS_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return HttpResponse("metrics need the scrape token\n", status=401, content_type="text/plain")
    database = CollectorRegistry(auto_describe=False)
    for make in _SCRAPE_COLLECTORS.values():
        database.register(make())
    body = generate_latest(process_registry()) + generate_latest(database)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
