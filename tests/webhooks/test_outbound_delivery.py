"""Order events out: the outbox, subscriptions, and the relay delivering to a real HTTP receiver
that verifies every signature with the `standardwebhooks` package."""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import jsonschema
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from referencing import Registry

from ordering.infrastructure.models import OutboxEvent
from tests.conftest import free_port, requires_postgres
from tests.ordering.conftest import Shop, seed_catalog
from webhooks.domain.outbound import RetryPolicy
from webhooks.infrastructure.models import DeliveryAttempt, WebhookDelivery, WebhookSubscription
from webhooks.infrastructure.relay_factory import configured_relay

from .receiver import Receiver

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events"


@pytest.fixture
def shop(gql, tenant) -> Shop:
    seed_catalog(tenant.id)
    return Shop(gql, tenant)


def subscribe(tenant_id: str, url: str, *events: str) -> str:
    out = StringIO()
    call_command("subscriptions", tenant_id, "add", url, *(["--events", *events] if events else []), stdout=out)
    secret = out.getvalue().strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    return secret


def relay(at: datetime | None = None, **overrides):
    options = {"rand": lambda: 0.5, **overrides}
    if at is not None:
        options["clock"] = lambda: at
    return configured_relay(**options)


def lifecycle(shop: Shop) -> dict:
    order = shop.confirmed(items=(("kettle", 1),))
    shop.ok("shipOrder", shop.acme, orderId=order["id"], carrier="UPS", trackingNumber="1Z")
    shop.ok("deliverOrder", shop.staff, orderId=order["id"])
    return order


LIFECYCLE_TYPES = [
    "order.created",
    "order.placed",
    "order.status_changed",
    "order.confirmed",
    "order.status_changed",
    "order.shipped",
    "order.status_changed",
    "order.delivered",
    "order.status_changed",
]


# -- the outbox -------------------------------------------------------------------------------


def test_every_change_writes_its_events_to_the_outbox(shop):
    order = lifecycle(shop)
    rows = list(OutboxEvent.objects.order_by("position"))
    assert [r.type for r in rows] == LIFECYCLE_TYPES
    assert [r.sequence for r in rows] == list(range(1, 10))
    assert {str(r.aggregate_id) for r in rows} == {order["id"]}
    assert rows[3].data["order"]["status"] == "CONFIRMED" and rows[3].data["order"]["payment"]["amount"] == {
        "amount": "44.00",
        "currency": "USD",
    }
    assert rows[5].data["shipment"]["tracking_number"] == "1Z"
    assert all(r.correlation_id for r in rows)


def test_a_refused_or_failed_change_writes_no_event(shop):
    draft = shop.draft(items=(("kettle", 1),))
    before = OutboxEvent.objects.count()
    shop.call("deliverOrder", shop.staff, orderId=draft["id"])  # INVALID_TRANSITION
    shop.call("placeOrder", shop.customer, orderId=draft["id"], expectedVersion=7)  # CONFLICT
    assert OutboxEvent.objects.count() == before == 1


def test_the_request_id_is_the_correlation_id(shop, client):
    from tests.ordering.conftest import mutation

    response = client.post(
        "/graphql/",
        data=json.dumps(
            {
                "query": mutation("checkoutItems"),
                "variables": {
                    "items": [{"productId": "kettle", "quantity": 1}],
                    "shippingAddress": {
                        "line1": "1 Main St",
                        "city": "Springfield",
                        "postalCode": "12345",
                        "country": "US",
                    },
                    "customer": {"email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace"},
                },
            }
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {shop.customer}",
        HTTP_X_REQUEST_ID="req-42",
    )
    assert response.json()["data"]["checkoutItems"]["errors"] == []
    assert OutboxEvent.objects.get().correlation_id == "req-42"


def after_sale(shop: Shop) -> None:
    """Every event of issue 7: review, hold, amendment, shipments and tracking, returns, refunds."""
    from ordering.application.commands import TrackingUpdate
    from ordering.application.handlers.shipments import apply_tracking_update
    from ordering.infrastructure.unit_of_work import DjangoUnitOfWork
    from snapshots.domain.catalog import PaymentOption, TaxOption
    from snapshots.domain.workflow import TenantWorkflow
    from snapshots.infrastructure.snapshot_writer import OrmSnapshotWriter

    writer = OrmSnapshotWriter()
    writer.upsert(shop.tenant.id, "tenant_workflow", TenantWorkflow(review_required=True, version=1))
    writer.upsert(
        shop.tenant.id,
        "tax_option",
        TaxOption.create({"vendor_id": "acme", "country": "US", "rate": "8.25", "inclusive": False, "version": 1}),
    )
    writer.upsert(shop.tenant.id, "payment_option", PaymentOption("card", "", "card", "Card", True, 1))
    order = shop.placed(items=(("mug", 2), ("lamp", 1)), paymentOptionId="card")
    assert order["taxTotal"]["amount"] != "0.00"
    shop.ok("escalateReviewer", shop.staff, orderId=order["id"], reviewerId="staff-1")
    shop.ok("reviewOrder", shop.staff, orderId=order["id"], decision="APPROVE")
    shop.ok("placeOnHold", shop.staff, orderId=order["id"], reason="PAYMENT_REVIEW", note="check")
    shop.ok("releaseHold", shop.staff, orderId=order["id"])
    mug = next(line for line in order["lines"] if line["vendorId"] == "acme")
    order = shop.ok(
        "confirmOrder",
        shop.staff,
        orderId=order["id"],
        payment={"method": "card", "reference": "ch", "amount": order["total"]["amount"]},
    )
    order = shop.ok("changeOrderQuantity", shop.staff, orderId=order["id"], lineId=mug["id"], quantity=1)
    pending = shop.ok("addShipment", shop.acme, orderId=order["id"])["shipments"][0]
    shop.ok("cancelShipment", shop.acme, orderId=order["id"], shipmentId=pending["id"], reason="re-pack")
    pending = shop.ok("addShipment", shop.acme, orderId=order["id"])["shipments"][1]
    shop.ok(
        "addShippingTrackingReference",
        shop.acme,
        orderId=order["id"],
        shipmentId=pending["id"],
        carrier="UPS",
        trackingNumber="T-1",
    )
    shop.ok("shipOrder", shop.globex, orderId=order["id"], carrier="FedEx", trackingNumber="T-2")
    for number in ("T-1", "T-2"):
        apply_tracking_update(
            TrackingUpdate(number, "DELIVERED", datetime.now(UTC) + timedelta(1)), DjangoUnitOfWork(shop.tenant.id)
        )
    lines = [{"lineId": mug["id"], "quantity": 1}]
    first = shop.ok("requestReturn", shop.customer, orderId=order["id"], lines=lines, reason="r")["returns"][0]
    shop.ok("rejectReturn", shop.acme, orderId=order["id"], returnId=first["id"], reason="used")
    second = shop.ok("requestReturn", shop.customer, orderId=order["id"], lines=lines, reason="r")["returns"][1]
    shop.ok("approveReturn", shop.acme, orderId=order["id"], returnId=second["id"])
    shop.ok("receiveReturn", shop.acme, orderId=order["id"], returnId=second["id"])
    shop.ok("processRefund", shop.staff, orderId=order["id"], amount="5.00", reason="r", returnId=second["id"])


def test_the_event_catalog_files_are_generated_from_the_code():
    call_command("event_catalog", "--check", stdout=StringIO())


def test_every_payload_matches_its_json_schema(shop):
    from ordering.domain.events import EVENT_TYPES

    order = shop.placed(items=(("mug", 2), ("lamp", 1)), couponCodes=["WELCOME5"])
    shop.ok("cancelOrder", shop.customer, orderId=order["id"], reason="changed my mind")
    lifecycle(shop)
    other = shop.confirmed(items=(("mug", 1), ("lamp", 1)))
    shop.ok("shipOrder", shop.acme, orderId=other["id"], carrier="UPS", trackingNumber="A")
    shop.ok("shipOrder", shop.globex, orderId=other["id"], carrier="FedEx", trackingNumber="B")
    shop.ok("deliverOrder", shop.staff, orderId=other["id"])
    shop.ok("completeOrder", shop.staff, orderId=other["id"])
    stalled = shop.confirmed(items=(("mug", 1),))
    shop.ok("markUnfulfillable", shop.staff, orderId=stalled["id"], reason="out of stock")
    shop.ok("resumeOrder", shop.staff, orderId=stalled["id"])
    assert shop.checkout(token=shop.other_customer)["errors"] == []  # cust-2's draft: the erasure cancels it
    erased = shop.gql.execute(
        'mutation { eraseCustomer(customerUserId: "cust-2", reason: "request 7", force: true) { errors { code } } }',
        token=shop.staff,
    )
    assert erased["eraseCustomer"]["errors"] == []
    after_sale(shop)

    receiver = Receiver(subscribe(shop.tenant.id, "http://127.0.0.1:9/"))
    WebhookSubscription.objects.update(url=receiver.url)
    try:
        relay().run_once()
    finally:
        receiver.stop()
    seen_types = set()
    for event in receiver.events:
        schema = json.loads((SCHEMAS / f"{event['type']}.schema.json").read_text())
        jsonschema.Draft202012Validator(
            schema, registry=Registry(), format_checker=jsonschema.FormatChecker()
        ).validate(event)
        seen_types.add(event["type"])
    assert seen_types == set(EVENT_TYPES)
    assert len(receiver.events) == OutboxEvent.objects.count()


def test_the_asyncapi_catalog_names_every_event_and_its_schema():
    import yaml

    from ordering.domain.events import EVENT_TYPES

    catalog = yaml.safe_load((SCHEMAS / "asyncapi.yaml").read_text())
    assert catalog["asyncapi"].startswith("3.")
    messages = catalog["components"]["messages"]
    assert sorted(m["name"] for m in messages.values()) == sorted(EVENT_TYPES)
    for message in messages.values():
        schema_file = SCHEMAS / message["payload"]["$ref"].removeprefix("./")
        assert json.loads(schema_file.read_text())["properties"]["type"]["const"] == message["name"]


# -- subscriptions ----------------------------------------------------------------------------


def test_subscriptions_command_adds_lists_and_removes(tenant):
    secret = subscribe(tenant.id, "http://127.0.0.1:8080/hooks", "order.placed", "order.cancelled")
    sub = WebhookSubscription.objects.get()
    assert sub.secret == secret and sub.event_types == ["order.cancelled", "order.placed"] and sub.active
    out = StringIO()
    call_command("subscriptions", tenant.id, "list", stdout=out)
    assert str(sub.pk) in out.getvalue() and secret not in out.getvalue()
    with pytest.raises(CommandError, match="unknown event type"):
        call_command("subscriptions", tenant.id, "add", "http://x.test/", "--events", "order.exploded")
    with pytest.raises(CommandError, match="not an http"):
        call_command("subscriptions", tenant.id, "add", "ftp://x.test/")
    with pytest.raises(CommandError, match="unknown tenant"):
        call_command("subscriptions", "nope", "list")
    with pytest.raises(CommandError, match="no subscription"):
        call_command("subscriptions", tenant.id, "remove", "not-a-uuid")
    assert WebhookSubscription.objects.count() == 1
    call_command("subscriptions", tenant.id, "remove", str(sub.pk), stdout=StringIO())
    assert WebhookSubscription.objects.count() == 0


# -- delivery ---------------------------------------------------------------------------------


def test_each_event_arrives_signed_once_in_order(shop, other_tenant):
    receiver = Receiver(subscribe(shop.tenant.id, "http://127.0.0.1:9/"))
    WebhookSubscription.objects.update(url=receiver.url)
    placed_only = Receiver(subscribe(shop.tenant.id, "http://127.0.0.1:9/", "order.placed"))
    WebhookSubscription.objects.filter(event_types=["order.placed"]).update(url=placed_only.url)
    subscribe(other_tenant.id, receiver.url)  # another tenant's subscription gets nothing of tenant-a
    try:
        order = lifecycle(shop)
        out = StringIO()
        call_command("relay_events", "--once", stdout=out)
    finally:
        receiver.stop()
        placed_only.stop()
    assert receiver.rejected == [] and placed_only.rejected == []
    events = receiver.events
    assert [e["type"] for e in events] == LIFECYCLE_TYPES
    assert [e["sequence"] for e in events] == list(range(1, 10))
    assert all(e["aggregate_id"] == order["id"] and e["tenant_id"] == "tenant-a" for e in events)
    assert all(r["headers"]["webhook-id"] == r["event"]["id"] for r in receiver.received)
    assert [e["type"] for e in placed_only.events] == ["order.placed"]
    assert placed_only.events[0]["id"] == events[1]["id"], "one event id for every subscription"
    assert WebhookDelivery.objects.filter(status="DELIVERED").count() == 10
    assert "10 delivery attempt(s)" in out.getvalue()
    assert DeliveryAttempt.objects.filter(status_code=204).count() == 10


def test_receiver_down_then_up_every_event_arrives_in_order(shop):
    port = free_port()
    secret = subscribe(shop.tenant.id, f"http://127.0.0.1:{port}/hooks")
    first = shop.placed(items=(("kettle", 1),))
    second = shop.placed(items=(("lamp", 1),))
    now = datetime.now(UTC)
    assert relay(at=now).run_once() == 2, "the first event of each order fails; later ones wait behind it"
    assert set(WebhookDelivery.objects.filter(attempts=1).values_list("last_error", flat=True)) != {""}
    assert WebhookDelivery.objects.filter(attempts=0).count() == 4
    shop.ok("cancelOrder", shop.customer, orderId=first["id"], reason="r")
    assert relay(at=now + timedelta(seconds=1)).run_once() == 0, "backing off"

    receiver = Receiver(secret, port=port)
    try:
        relay(at=now + timedelta(hours=2)).run_once()
    finally:
        receiver.stop()
    assert receiver.rejected == []
    for order_id, count in ((first["id"], 5), (second["id"], 3)):
        sequences = [e["sequence"] for e in receiver.events if e["aggregate_id"] == order_id]
        assert sequences == list(range(1, count + 1))
    assert WebhookDelivery.objects.exclude(status="DELIVERED").count() == 0


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_failing_receiver_backs_off_then_dead_then_redelivered_from_admin(shop, staff_client, settings):
    settings.OMS_RELAY_MAX_ATTEMPTS = 3
    settings.OMS_RELAY_BACKOFF_BASE_SECONDS = 10
    receiver = Receiver(subscribe(shop.tenant.id, "http://127.0.0.1:9/"), status=500)
    WebhookSubscription.objects.update(url=receiver.url)
    try:
        draft = shop.draft(items=(("kettle", 1),))
        shop.ok("placeOrder", shop.customer, orderId=draft["id"])
        now = datetime.now(UTC)
        clock = [now]
        work = relay(clock=lambda: clock[0])
        assert work.run_once() == 1
        delivery = WebhookDelivery.objects.get(event__sequence=1)
        assert delivery.status == "PENDING" and delivery.attempts == 1 and delivery.last_status_code == 500
        # Equal jitter with rand=0.5: 3/4 of 10 s after the first failure, 3/4 of 20 s after the second.
        assert delivery.next_attempt_at == now + timedelta(seconds=7.5)
        assert work.run_once() == 0
        clock[0] = now + timedelta(seconds=8)
        assert work.run_once() == 1
        delivery.refresh_from_db()
        assert delivery.attempts == 2 and delivery.next_attempt_at == clock[0] + timedelta(seconds=15)
        clock[0] = now + timedelta(seconds=30)
        # The third and last attempt; with event 1 dead, event 2 (order.placed) is no longer held back.
        assert work.run_once() == 2
        delivery.refresh_from_db()
        assert delivery.status == "DEAD" and delivery.attempts == 3
        assert list(delivery.attempt_log.values_list("number", "status_code")) == [(1, 500), (2, 500), (3, 500)]
        assert WebhookDelivery.objects.get(event__sequence=2).attempts == 1
        assert WebhookDelivery.objects.get(event__sequence=3).attempts == 0, "event 3 waits behind event 2"

        page = staff_client.get(reverse("admin:webhooks_webhookdelivery_changelist"), {"status__exact": "DEAD"})
        assert page.status_code == 200 and str(delivery.event.event_id) in page.content.decode()
        assert staff_client.get(reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk])).status_code == 200
        receiver.status = 200
        staff_client.post(
            reverse("admin:webhooks_webhookdelivery_changelist"),
            {"action": "redeliver", "_selected_action": [delivery.pk]},
        )
        delivery.refresh_from_db()
        assert delivery.status == "PENDING" and delivery.attempts == 0
        clock[0] = datetime.now(UTC)
        work.run_once()
    finally:
        receiver.stop()
    delivery.refresh_from_db()
    assert delivery.status == "DELIVERED" and delivery.attempt_log.count() == 4
    assert [r["status"] for r in receiver.received][-1] == 200


def test_an_inactive_subscription_is_paused(shop):
    """Queued deliveries wait while it is inactive and resume after; events raised while it is
    inactive are not queued for it."""
    from webhooks.infrastructure.outbound import OrmDeliveryStore

    receiver = Receiver(subscribe(shop.tenant.id, "http://127.0.0.1:9/"))
    WebhookSubscription.objects.update(url=receiver.url)
    try:
        queued = shop.draft()
        OrmDeliveryStore().fan_out(500, datetime.now(UTC))
        WebhookSubscription.objects.update(active=False)
        shop.draft()
        relay().run_once()
        assert receiver.received == []
        WebhookSubscription.objects.update(active=True)
        relay().run_once()
    finally:
        receiver.stop()
    assert [(e["type"], e["aggregate_id"]) for e in receiver.events] == [("order.created", queued["id"])]


def test_the_relay_stops_between_deliveries():
    """Once asked to stop, the relay claims nothing new, and every delivery it had started is
    finished and recorded before it returns."""
    from webhooks.application.relay import ClaimedDelivery, Relay
    from webhooks.domain.outbound import AttemptResult

    class Store:
        claimed, recorded, stopped = 0, 0, False

        def fan_out(self, limit, now):
            return 0

        def claim(self, now, lease, limit, skip_subscriptions=(), per_subscription=None):
            assert not self.stopped, "claimed after the stop"
            self.claimed += 2
            return [
                ClaimedDelivery(self.claimed - i, "t", "http://x", "whsec_" + "A" * 32, "e", b"{}", 0, "s")
                for i in range(2)
            ]

        def record(self, outcomes):
            self.recorded += len(outcomes)

        def wait_for_events(self, seconds):
            pass

    class Sender:
        def send(self, url, headers, body, timeout):
            time.sleep(0.01)
            return AttemptResult(204, 10)

    store = Store()
    calls = itertools.count()

    def should_stop():
        if next(calls) >= 3:
            store.stopped = True
        return store.stopped

    Relay(store, Sender(), RetryPolicy()).run_forever(should_stop, sleep=lambda s: None)
    assert store.claimed >= 2 and store.recorded == store.claimed


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_relay_workers_share_the_work_without_overlap_or_loss(tenant):
    seed_catalog(tenant.id)
    from django.test import Client

    from tests.conftest import GraphQLClient

    shop = Shop(GraphQLClient(Client()), tenant)
    secret_a = subscribe(tenant.id, "http://127.0.0.1:9/")
    receiver = Receiver(secret_a, delay=0.01)
    WebhookSubscription.objects.update(url=receiver.url)
    try:
        orders = [shop.confirmed(items=(("kettle", 1),)) for _ in range(6)]
        for order in orders[:3]:
            shop.ok("shipOrder", shop.acme, orderId=order["id"], carrier="UPS", trackingNumber="t")
        expected = OutboxEvent.objects.count()
        errors = []

        def work():
            try:
                relay(rand=random.random).run_once()
            except Exception as error:  # pragma: no cover - surfaced below
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=work) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        relay().run_once()  # anything a worker found held back behind the other's in-flight event
    finally:
        receiver.stop()
    assert errors == []
    assert receiver.overlaps == [], "one event delivered to one subscription twice at the same time"
    ids = [e["id"] for e in receiver.events]
    assert len(ids) == len(set(ids)) == expected, "every event once, none lost"
    for order in orders:
        sequences = [e["sequence"] for e in receiver.events if e["aggregate_id"] == order["id"]]
        assert sequences == sorted(sequences) == list(range(1, len(sequences) + 1))
    assert {a.delivery_id for a in DeliveryAttempt.objects.all()} == set(
        WebhookDelivery.objects.values_list("id", flat=True)
    )
