"""The batched relay (docs/events.md): concurrency without losing order, isolation between
subscriptions, wake-up on new events, and the hand-written SQL kept in step with the models."""

from __future__ import annotations

import random
import threading
import time

import pytest
from django.db import connection

from ordering.infrastructure.models import OutboxEvent
from tests.conftest import requires_postgres
from tests.ordering.conftest import Shop, seed_catalog
from webhooks.infrastructure.models import DeliveryAttempt, WebhookDelivery, WebhookSubscription
from webhooks.infrastructure.outbound import FAN_OUT_COLUMNS, RECORD_COLUMNS

from .receiver import Receiver
from .test_outbound_delivery import relay, shop, subscribe  # noqa: F401 (shop: a fixture)


def test_the_record_sql_writes_every_column_of_its_tables():
    """A column added to either model fails here until RECORD_SQL writes it (or says why not)."""
    attempt_columns = {f.column for f in DeliveryAttempt._meta.concrete_fields} - {"id"}
    assert attempt_columns == RECORD_COLUMNS["webhooks_delivery_attempt"]
    set_by_fan_out = {"id", "tenant_id", "subscription_id", "event_id", "aggregate_id", "sequence", "created_at"}
    delivery_columns = {f.column for f in WebhookDelivery._meta.concrete_fields} - set_by_fan_out
    assert delivery_columns == RECORD_COLUMNS["webhooks_delivery"]


def test_the_fan_out_sql_writes_every_column_a_new_delivery_needs():
    """Every column without a database default: the id is generated; the rest are NULL until used."""
    nullable_or_generated = {f.column for f in WebhookDelivery._meta.concrete_fields if f.null} | {"id"}
    assert {f.column for f in WebhookDelivery._meta.concrete_fields} - nullable_or_generated == FAN_OUT_COLUMNS


class FlakyReceiver(Receiver):
    """Answers 503 to a random fifth of the requests (one request at a time, so the status
    recorded is the status sent)."""

    def __init__(self, secret: str, failure_rate: float = 0.2, **kwargs) -> None:
        super().__init__(secret, **kwargs)
        self.failure_rate = failure_rate
        self.random = random.Random(7)
        self.one_at_a_time = threading.Lock()

    def _handle(self, handler, headers, body) -> None:
        with self.one_at_a_time:
            self.status = 503 if self.random.random() < self.failure_rate else 204
            super()._handle(handler, headers, body)


def shop_for(tenant) -> Shop:
    from django.test import Client

    from tests.conftest import GraphQLClient

    seed_catalog(tenant.id)
    return Shop(GraphQLClient(Client()), tenant)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_several_relays_and_a_flaky_receiver_lose_nothing_and_keep_each_orders_order(tenant, settings):
    settings.OMS_RELAY_BACKOFF_BASE_SECONDS = 0.05
    settings.OMS_RELAY_BACKOFF_CAP_SECONDS = 0.2
    settings.OMS_RELAY_MAX_ATTEMPTS = 50
    shop = shop_for(tenant)
    receiver = FlakyReceiver(subscribe(tenant.id, "http://127.0.0.1:9/"))
    WebhookSubscription.objects.update(url=receiver.url)
    try:
        for _ in range(12):
            order = shop.confirmed(items=(("kettle", 1),))
            shop.ok("shipOrder", shop.acme, orderId=order["id"], carrier="UPS", trackingNumber="t")
        expected = OutboxEvent.objects.count()
        stop = threading.Event()
        errors = []

        def work():
            try:
                relay(rand=random.random, concurrency=4, claim_batch=8).run_forever(stop.is_set, poll_seconds=0.05)
            except Exception as error:  # pragma: no cover - surfaced below
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=work) for _ in range(3)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while WebhookDelivery.objects.filter(status="DELIVERED").count() < expected and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        for thread in threads:
            thread.join(30)
    finally:
        receiver.stop()
    assert errors == []
    assert WebhookDelivery.objects.filter(status="DELIVERED").count() == expected
    assert receiver.overlaps == []
    accepted = [r["event"] for r in receiver.received if r["status"] == 204]
    assert sorted(e["id"] for e in accepted) == sorted(
        str(i) for i in OutboxEvent.objects.values_list("event_id", flat=True)
    )
    assert any(r["status"] == 503 for r in receiver.received), "the receiver did fail some requests"
    by_order: dict[str, list[int]] = {}
    for received in receiver.received:  # every request, failed ones included, in arrival order
        by_order.setdefault(received["event"]["aggregate_id"], []).append(received["event"]["sequence"])
    for sequences in by_order.values():
        assert sequences == sorted(sequences), "a later event of an order was sent before an earlier one succeeded"


def test_a_hanging_subscriber_does_not_hold_back_the_others(shop, settings):
    settings.OMS_RELAY_TIMEOUT_SECONDS = 1  # a healthy delivery behind even one hanging one would take over 1 s
    hanging = Receiver(subscribe(shop.tenant.id, "http://127.0.0.1:9/"), delay=2)
    WebhookSubscription.objects.update(url=hanging.url)
    healthy = Receiver(subscribe(shop.tenant.id, "http://127.0.0.1:9/"))
    WebhookSubscription.objects.exclude(url=hanging.url).update(url=healthy.url)
    try:
        for _ in range(6):
            shop.draft(items=(("kettle", 1),))
        started = time.monotonic()
        finished = []

        def watch():
            while len(healthy.events) < 6 and time.monotonic() - started < 10:
                time.sleep(0.02)
            finished.append(time.monotonic() - started)

        watcher = threading.Thread(target=watch)
        watcher.start()
        work = relay(concurrency=2, claim_batch=40)
        work.run_once()
        work.close()
        watcher.join()
        healthy_done = finished[0]
    finally:
        hanging.stop()
        healthy.stop()
    assert len(healthy.events) == 6
    assert healthy_done < 0.8, f"the healthy subscriber waited {healthy_done:.1f} s behind the hanging one"


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_an_idle_relay_wakes_on_new_events_without_waiting_for_its_poll(tenant):
    """NOTIFY from the outbox trigger wakes a relay whose poll interval is a minute."""
    shop = shop_for(tenant)
    receiver = Receiver(subscribe(tenant.id, "http://127.0.0.1:9/"))
    WebhookSubscription.objects.update(url=receiver.url)
    stop = threading.Event()
    work = relay()

    def run():
        try:
            work.run_forever(stop.is_set, poll_seconds=60)
        finally:
            work.store.close()
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        time.sleep(0.5)  # idle, listening
        written = time.monotonic()
        shop.draft(items=(("kettle", 1),))
        while not receiver.events and time.monotonic() - written < 10:
            time.sleep(0.02)
        woke_after = time.monotonic() - written
    finally:
        stop.set()
        # The relay is waiting on LISTEN: one more event makes it look at `stop` at once.
        shop.draft(items=(("kettle", 1),))
        thread.join(10)
        receiver.stop()
    assert receiver.events and woke_after < 2, f"delivered {woke_after:.1f} s after the write"
    assert not thread.is_alive()
