"""OpenTelemetry traces (issue 17, part 3; oms_project/kernel/tracing.py), with the SDK's in-memory
exporter: the span tree of a placeOrder (HTTP server span, GraphQL operation, its SQL), the trace
carried by the order's events into webhook deliveries and stream publishes (W3C traceparent), inbound
webhooks, and nothing personal in any attribute. The OTLP export of the app run as a process is
tested with `make run`'s server, in tests/test_development_server.py.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from oms_project.kernel import instrumentation, tracing
from ordering.infrastructure.models import OutboxEvent
from webhooks.infrastructure.models import WebhookSubscription

from .ordering.conftest import CUSTOMER, Shop, seed_catalog
from .webhooks.nats import nats_or_skip, stream_messages
from .webhooks.receiver import Receiver
from .webhooks.test_outbound_delivery import subscribe

ROOT = Path(__file__).resolve().parent.parent
EXPORTER = InMemorySpanExporter()
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))
PLACE = "mutation PlaceOrder($orderId: ID!) { placeOrder(orderId: $orderId) { order { id status } errors { code } } }"


@pytest.fixture
def spans():
    """Tracing on, into the in-memory exporter, for one test (the process's tracer provider is set once)."""
    trace.set_tracer_provider(PROVIDER)
    assert trace.get_tracer_provider() is PROVIDER, "another tracer provider was set in this process"
    instrumentation.instrument()
    EXPORTER.clear()
    yield EXPORTER
    instrumentation.uninstrument()
    EXPORTER.clear()


def by_name(finished, name):
    found = [span for span in finished if span.name == name]
    assert len(found) == 1, [span.name for span in finished]
    return found[0]


def w3c(span) -> str:
    """A span's W3C traceparent without its flags."""
    return f"00-{span.context.trace_id:032x}-{span.context.span_id:016x}"


def place(gql, shop) -> None:
    draft = shop.draft(items=(("kettle", 1),))
    assert gql.execute(PLACE, {"orderId": draft["id"]}, token=shop.customer)["placeOrder"]["errors"] == []


def every_attribute(finished) -> str:
    return json.dumps([dict(span.attributes) for span in finished], default=str)


def test_tracing_is_off_without_an_endpoint(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert instrumentation.configure_from_environment() is False
    assert not tracing.enabled() and tracing.traceparent() == ""
    with tracing.operation("mutation", "PlaceOrder", "t") as span:
        assert span is None


def test_turning_tracing_off_unwraps_the_connection(spans, tenant):
    from identity.infrastructure.models import Tenant

    Tenant.objects.count()
    assert any("db.system" in span.attributes for span in spans.get_finished_spans())
    instrumentation.uninstrument()
    spans.clear()
    Tenant.objects.count()
    assert spans.get_finished_spans() == ()
    instrumentation.instrument()  # on again, and wrapped once only
    Tenant.objects.count()
    assert len(spans.get_finished_spans()) == 1


def test_the_span_tree_of_a_place_order(spans, gql, tenant):
    seed_catalog(tenant.id)
    shop = Shop(gql, tenant)
    draft = shop.draft(items=(("kettle", 1),))
    spans.clear()
    placed = gql.execute(PLACE, {"orderId": draft["id"]}, token=shop.customer)["placeOrder"]
    assert placed["errors"] == [] and placed["order"]["status"] == "PENDING"
    finished = spans.get_finished_spans()

    server = by_name(finished, "POST graphql/")
    assert server.kind == SpanKind.SERVER and server.parent is None
    assert (
        server.attributes[
            "http.response.status_code" if "http.response.status_code" in server.attributes else "http.status_code"
        ]
        == 200
    )
    operation = by_name(finished, "mutation PlaceOrder")
    assert operation.parent.span_id == server.context.span_id
    assert dict(operation.attributes) == {
        "graphql.operation.type": "mutation",
        "graphql.operation.name": "PlaceOrder",
        "graphql.operation.root_fields": ("placeOrder",),
        "oms.tenant_id": tenant.id,
    }
    sql = [span for span in finished if span.kind == SpanKind.CLIENT and "db.system" in span.attributes]
    assert sql, [span.name for span in finished]
    assert {span.parent.span_id for span in sql} == {operation.context.span_id}
    assert all(span.context.trace_id == server.context.trace_id for span in finished)
    if connection.vendor == "postgresql":
        # The unit of work's statements, in order: its tenant scope, the order locked, its lines,
        # the snapshots priced, then one write batch (the reservation and the outbox included).
        statements = [
            s.attributes["db.statement"]
            for s in sorted(sql, key=lambda s: s.start_time)
            if not s.attributes["db.statement"].startswith(("SAVEPOINT", "RELEASE"))
        ]
        assert statements[0].startswith("SELECT set_config('role'")
        assert "FOR UPDATE OF o" in statements[1] and "snapshots_product" in statements[3]
        assert "UPDATE snapshots_product" in statements[4] and 'INSERT INTO "ordering_outbox_event"' in statements[4]
    # Never the token, the customer's details or a statement's parameters.
    everything = every_attribute(finished)
    for secret in (shop.customer, CUSTOMER["email"], CUSTOMER["lastName"], "cust-1", draft["id"]):
        assert secret not in everything

    # The events keep the operation's context: their deliveries and publishes continue this trace.
    trace_parents = set(OutboxEvent.objects.filter(type="order.placed").values_list("trace_parent", flat=True))
    assert {parent.rsplit("-", 1)[0] for parent in trace_parents} == {w3c(operation)}


def test_an_anonymous_operation_is_named_by_its_root_fields(spans, gql, tenant):
    """As in every README example: no operation name. The span still says what ran."""
    seed_catalog(tenant.id)
    shop = Shop(gql, tenant)
    draft = shop.draft(items=(("kettle", 1),))
    spans.clear()
    placed = gql.execute(
        "mutation($orderId: ID!) { placeOrder(orderId: $orderId) { order { status } errors { code } } }",
        {"orderId": draft["id"]},
        token=shop.customer,
    )["placeOrder"]
    assert placed["errors"] == []
    gql.execute(
        "query { ...Who orders(first: 1) { totalCount } ... on Query { me { userId } } } "
        "fragment Who on Query { me { roles } }",
        token=shop.customer,
    )
    names = [span.name for span in spans.get_finished_spans()]
    assert "mutation placeOrder" in names and "query me,orders" in names, names
    assert not any("anonymous" in name for name in names)
    query = by_name(spans.get_finished_spans(), "query me,orders")
    assert query.attributes["graphql.operation.root_fields"] == ("me", "orders")
    assert query.attributes["graphql.operation.name"] == ""


def test_a_query_string_is_never_recorded(spans, client, tenant):
    from .tokens import hs_token

    response = client.get(
        "/graphql/?query=query%20Me%20%7B%20me%20%7B%20userId%20%7D%20%7D&variables=%7B%22email%22%3A%22ada%40example.com%22%7D",
        HTTP_AUTHORIZATION=f"Bearer {hs_token(tenant)}",
    )
    assert response.status_code == 200
    finished = spans.get_finished_spans()
    assert by_name(finished, "query Me").parent is not None
    server = by_name(finished, "GET graphql/")
    assert server.attributes["http.url"] == "/graphql/"  # recorded as http://testserver/graphql/?query=...
    assert "?" not in every_attribute([server])
    assert "ada" not in every_attribute(finished) and "userId" not in every_attribute(finished)


def test_an_error_marks_the_operation_span(spans, gql, tenant):
    from .tokens import hs_token

    gql.post("query Bad { me { nope } }", token=hs_token(tenant))  # refused before execution: no operation span
    gql.post("query Orders { orders(first: 1000) { totalCount } }", token=hs_token(tenant))
    operation = by_name(spans.get_finished_spans(), "query Orders")
    assert not operation.status.is_ok and operation.status.description == "INVALID"


def test_a_delivery_continues_the_trace_and_sends_traceparent(spans, gql, tenant):
    seed_catalog(tenant.id)
    shop = Shop(gql, tenant)
    receiver = Receiver(subscribe(tenant.id, "http://127.0.0.1:9/", "order.placed"))
    WebhookSubscription.objects.update(url=receiver.url)
    try:
        place(gql, shop)
        operation = by_name(spans.get_finished_spans(), "mutation PlaceOrder")
        spans.clear()
        call_command("relay_events", "--once", stdout=io.StringIO())
    finally:
        receiver.stop()
    [received] = receiver.received
    delivery = by_name(spans.get_finished_spans(), "webhook deliver")
    assert delivery.kind == SpanKind.CLIENT and delivery.parent.span_id == operation.context.span_id
    assert delivery.context.trace_id == operation.context.trace_id
    assert delivery.attributes["http.response.status_code"] == 204 and delivery.status.is_ok
    assert received["headers"]["traceparent"].rsplit("-", 1)[0] == w3c(delivery)


def test_a_stream_publish_continues_the_trace_in_the_message_headers(spans, gql, tenant, tmp_path, settings):
    from webhooks.application.stream import StreamPublisher
    from webhooks.infrastructure.stream import NatsEventStream, OrmUnpublishedEvents

    server = nats_or_skip(tmp_path)
    settings.OMS_EVENT_STREAM_URL = server.url
    try:
        seed_catalog(tenant.id)
        place(gql, Shop(gql, tenant))
        operation = by_name(spans.get_finished_spans(), "mutation PlaceOrder")
        spans.clear()
        stream = NatsEventStream.from_settings()
        stream.ensure_stream()
        publisher = StreamPublisher(OrmUnpublishedEvents(), stream)
        while publisher.publish_once():
            pass
        stream.close()
        ids = {str(i) for i in OutboxEvent.objects.values_list("event_id", flat=True)}
        messages = [m for m in stream_messages(server.url, "OMS_ORDERS") if m["event"]["id"] in ids]
    finally:
        server.stop()
    publishes = [span for span in spans.get_finished_spans() if span.name == f"oms.{tenant.id}.orders.placed publish"]
    assert len(publishes) == 1 and publishes[0].kind == SpanKind.PRODUCER
    assert publishes[0].parent.span_id == operation.context.span_id
    placed = next(m for m in messages if m["event"]["type"] == "order.placed")
    assert placed["headers"]["traceparent"].rsplit("-", 1)[0] == w3c(publishes[0])


def test_an_inbound_webhook_is_traced(spans, tenant, sender):
    from .snapshots.test_domain_catalog import VENDOR

    response = sender.post({"type": "vendor.upserted", "data": VENDOR})
    assert response.status_code < 300, response.content
    finished = spans.get_finished_spans()
    received = by_name(finished, "webhook receive")
    assert received.parent.span_id == by_name(finished, "POST webhooks/<slug:tenant_id>/").context.span_id
    assert received.attributes["oms.tenant_id"] == tenant.id
    assert received.attributes["oms.webhook.outcome"] == "applied"


def test_no_log_record_and_no_span_carries_personal_data(spans, gql, tenant, caplog):
    """A whole lifecycle and an erasure, everything logged (DEBUG, every logger) and traced: not
    one email, name, phone or address line in a log record (message and extra fields) or in a
    span (name, attributes, events, status) (docs/privacy.md)."""
    from .ordering.test_customer_erasure import ERASED, PERSON, delivered, erase

    seed_catalog(tenant.id)
    shop = Shop(gql, tenant)
    loggers = [logging.getLogger(name) for name in list(logging.Logger.manager.loggerDict)]
    for logger in loggers:  # those that do not propagate to the root too
        logger.addHandler(caplog.handler)
    with caplog.at_level(logging.DEBUG):
        delivered(shop)
        refused = shop.checkout(customer={**PERSON, "email": f"not-an-email {PERSON['lastName']}"})
        assert [e["code"] for e in refused["errors"]] == ["INVALID"]
        assert erase(shop)["errors"] == []
    for logger in loggers:
        logger.removeHandler(caplog.handler)
    records = json.dumps(
        [
            {**{k: v for k, v in vars(record).items() if k != "args"}, "message": record.getMessage()}
            for record in caplog.records
        ],
        default=str,
    ).lower()
    finished = spans.get_finished_spans()
    traced = json.dumps(
        [
            {
                "name": span.name,
                "attributes": dict(span.attributes or {}),
                "events": [(event.name, dict(event.attributes or {})) for event in span.events],
                "status": span.status.description,
            }
            for span in finished
        ],
        default=str,
    ).lower()
    assert len(caplog.records) > 10 and len(finished) > 10
    assert [value for value in ERASED if value.lower() in records] == []
    assert [value for value in ERASED if value.lower() in traced] == []
