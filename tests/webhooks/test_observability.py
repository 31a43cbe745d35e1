"""/metrics (request metrics, business counters, relay lag) and JSON logs with the request id
and the tenant on every line."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from prometheus_client.parser import text_string_to_metric_families

from oms_project.kernel.observability import ContextFilter, OmsJsonFormatter
from ordering.infrastructure.models import OutboxEvent
from tests.conftest import database_url_for_subprocesses, free_port, requires_postgres
from tests.ordering.conftest import Shop, seed_catalog
from webhooks.infrastructure.models import WebhookDelivery, WebhookSubscription

from .receiver import Receiver
from .test_inbound_webhooks import customer_event
from .test_outbound_delivery import subscribe

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def shop(gql, tenant) -> Shop:
    seed_catalog(tenant.id)
    return Shop(gql, tenant)


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_and_order_transitions(client, shop):
    before = scrape(client)
    order = shop.placed()
    shop.ok("cancelOrder", shop.customer, orderId=order["id"], reason="changed my mind")
    after = scrape(client)
    for event in ("order.created", "order.placed", "order.cancelled"):
        assert (
            value(after, "oms_order_transitions_total", event=event)
            == value(before, "oms_order_transitions_total", event=event) + 1
        ), event
    assert (
        value(after, "oms_order_transitions_total", event="order.status_changed")
        == value(before, "oms_order_transitions_total", event="order.status_changed") + 2
    )
    posts = dict(method="POST", view="oms_project.graphql_view.OmsGraphQLView")
    assert value(after, "django_http_requests_total_by_view_transport_method_total", transport="http", **posts) >= 3


def test_a_refused_change_counts_no_transition(client, shop):
    before = scrape(client)
    payload = shop.call("placeOrder", shop.customer, orderId="00000000-0000-0000-0000-000000000000")
    assert payload["errors"][0]["code"] == "NOT_FOUND"
    after = scrape(client)
    assert value(after, "oms_order_transitions_total", event="order.placed") == value(
        before, "oms_order_transitions_total", event="order.placed"
    )


def test_metrics_count_webhook_receipts_by_outcome(client, sender):
    before = scrape(client)
    assert sender.post(customer_event()).status_code == 204
    assert sender.post(customer_event(), secret="whsec_" + "A" * 32).status_code == 401
    after = scrape(client)
    applied = value(after, "oms_webhook_receipts_total", outcome="applied")
    assert applied == value(before, "oms_webhook_receipts_total", outcome="applied") + 1
    refused = {
        k: v for k, v in after.items() if k[0] == "oms_webhook_receipts_total" and k[1] != (("outcome", "applied"),)
    }
    assert sum(refused.values()) == sum(v for k, v in before.items() if k in refused) + 1


def test_metrics_count_deliveries_and_show_relay_lag(client, shop):
    receiver = Receiver(subscribe(shop.tenant.id, "http://127.0.0.1:9/"))
    WebhookSubscription.objects.update(url=receiver.url)
    try:
        shop.placed()
        OutboxEvent.objects.update(occurred_at=datetime.now(UTC) - timedelta(seconds=90))
        waiting = scrape(client)
        assert value(waiting, "oms_relay_lag_seconds", stage="fan_out") >= 90
        delivered_before = value(waiting, "oms_webhook_deliveries_total", outcome="delivered")
        call_command("relay_events", "--once", stdout=io.StringIO())
    finally:
        receiver.stop()
    done = scrape(client)
    assert len(receiver.events) == 3  # created, placed, status_changed
    assert value(done, "oms_webhook_deliveries_total", outcome="delivered") == delivered_before + 3
    assert value(done, "oms_relay_lag_seconds", stage="fan_out") == 0
    assert value(done, "oms_relay_lag_seconds", stage="delivery") == 0
    assert value(done, "oms_relay_backlog", status="pending") == 0
    assert value(done, "oms_relay_backlog", status="dead") == 0
    WebhookDelivery.objects.filter(pk=WebhookDelivery.objects.order_by("id").first().pk).update(status="DEAD")
    assert value(scrape(client), "oms_relay_backlog", status="dead") == 1


def test_metrics_can_require_a_scrape_token(client, settings, db):
    settings.OMS_METRICS_TOKEN = "scrape-secret"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    scrape(client, HTTP_AUTHORIZATION="Bearer scrape-secret")


@pytest.fixture
def json_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(OmsJsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(previous)


def test_every_log_line_of_a_request_is_json_with_its_request_id_and_tenant(shop, json_log):
    response = shop.gql._client.post(
        "/graphql/",
        data=json.dumps({"query": "{ orders { totalCount } }"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {shop.staff}",
        HTTP_X_REQUEST_ID="req-42",
    )
    assert response.status_code == 200 and response["X-Request-ID"] == "req-42"
    lines = json_log()
    access = [line for line in lines if line["logger"] == "oms.access"]
    assert access and access[-1]["status"] == 200 and access[-1]["path"] == "/graphql/"
    assert all(line["request_id"] == "req-42" and line["tenant_id"] == "tenant-a" for line in access)
    assert {"time", "level", "message", "duration_ms"} <= set(access[-1])


def test_a_request_without_an_id_gets_one_and_the_webhook_log_names_its_tenant(sender, json_log):
    response = sender.post(customer_event())
    rid = response["X-Request-ID"]
    assert len(rid) == 32
    lines = [line for line in json_log() if line["request_id"] == rid]
    assert {line["logger"] for line in lines} >= {"oms.access", "webhooks.api.views"}
    assert all(line["tenant_id"] == "tenant-a" for line in lines)


def test_djangos_own_request_lines_carry_the_ids_too(shop, json_log):
    response = shop.gql._client.get(
        "/graphql/",
        {"query": 'mutation { placeOrder(orderId: "x") { errors { code } } }'},
        HTTP_AUTHORIZATION=f"Bearer {shop.staff}",
        HTTP_X_REQUEST_ID="req-7",
    )
    assert response.status_code == 405
    django_lines = [line for line in json_log() if line["logger"] == "django.request"]
    assert django_lines and all(
        line["request_id"] == "req-7" and line["tenant_id"] == "tenant-a" for line in django_lines
    )


def test_an_unsafe_request_id_is_replaced(client, db):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert response["X-Request-ID"] != "bad id\nwith newline" and len(response["X-Request-ID"]) == 32


def delivered_count(port: int) -> list[float]:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return [
        s.value
        for f in text_string_to_metric_families(body)
        for s in f.samples
        if s.name == "oms_webhook_deliveries_total" and s.labels == {"outcome": "delivered"}
    ]


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_relay_process_serves_its_metrics_and_stops_on_sigterm(shop):
    """A real `relay_events` process against the test database: it delivers, counts what it
    delivered on its own /metrics, and exits cleanly on SIGTERM."""
    receiver = Receiver(subscribe(shop.tenant.id, "http://127.0.0.1:9/"))
    WebhookSubscription.objects.update(url=receiver.url)
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms_project.settings_test",
        "LOG_FORMAT": "json",
        "DATABASE_URL": database_url_for_subprocesses(),
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "relay_events", "--poll-seconds", "0.1", "--metrics-port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        shop.placed()
        deadline = time.monotonic() + 30
        while len(receiver.events) < 3 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.1)
        assert len(receiver.events) == 3
        # The receiver has the third event before the relay records its outcome: poll the counter.
        delivered = delivered_count(port)
        while delivered != [3.0] and time.monotonic() < deadline:
            time.sleep(0.1)
            delivered = delivered_count(port)
        assert delivered == [3.0]
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    finally:
        receiver.stop()
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "relay_events: stopped" in out
    logs = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    deliveries = [line for line in logs if line["logger"] == "webhooks.infrastructure.outbound"]
    assert len(deliveries) == 3 and all(line["tenant_id"] == "tenant-a" for line in deliveries)
