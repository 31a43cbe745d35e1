"""Live order status fed by the event stream (OMS_EVENT_STREAM_URL): the relay publishes the
outbox to NATS JetStream, each ASGI process reads the tenants it has subscribers for, and a NATS
restart costs subscribers nothing but a delay."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync

from ordering.infrastructure.live import LiveOrders
from ordering.infrastructure.live.stream import StreamSource
from tests.webhooks.test_stream import nats_server  # noqa: F401 (a fixture)
from webhooks.application.stream import StreamPublisher, StreamUnavailable
from webhooks.infrastructure.stream import NatsEventStream, OrmUnpublishedEvents

from .client import call
from .test_order_updates import MY_UPDATES, ORDER_EVENTS, ORDER_UPDATED, connected, next_payload, shop  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def publisher(nats_server, settings):
    settings.OMS_EVENT_STREAM_ACK_TIMEOUT_SECONDS = 0.5  # a publish to a stopped server gives up sooner
    stream = NatsEventStream.from_settings()
    stream.connect_seconds = 1.0
    stream.ensure_stream()
    work = StreamPublisher(OrmUnpublishedEvents(), stream)
    yield work
    stream.close()


def live(scenario):
    return async_to_sync(scenario)()


def test_updates_come_from_the_stream_with_stream_positions(shop, publisher):
    async def scenario():
        assert LiveOrders.process_hub().letter == "s"
        draft = await call(shop.draft, (("mug", 1),))
        client = await connected(shop.customer)
        await client.follow("1", MY_UPDATES)
        await call(shop.ok, "placeOrder", shop.customer, orderId=draft["id"])
        assert await client.nothing_within(0.3), "nothing reaches the stream before the relay publishes it"
        await call(publisher.publish_once)
        placed = (await next_payload(client))["myOrderUpdates"]
        assert await client.nothing_within(0.3), "one update for the change, not one per event"
        await client.close()
        return placed

    placed = live(scenario)
    assert placed["position"].startswith("s") and placed["order"]["status"] == "PENDING"


def reconnected_after_confirm(shop, publisher, before_reconnect=lambda: None) -> tuple[dict, dict]:
    """A customer follows an order, sees it placed, goes away while staff confirm it, and comes
    back `after` the position it saw: (the update seen, the first update on coming back)."""

    async def scenario():
        draft = await call(shop.draft, (("mug", 1),))
        client = await connected(shop.customer)
        await client.follow("1", ORDER_UPDATED, {"id": draft["id"]})
        await call(shop.ok, "placeOrder", shop.customer, orderId=draft["id"])
        await call(publisher.publish_once)
        placed = (await next_payload(client))["orderUpdated"]
        await client.close()
        payment = {"method": "card", "reference": "ch_1", "amount": draft["total"]["amount"]}
        await call(shop.ok, "confirmOrder", shop.staff, orderId=draft["id"], payment=payment)
        await call(publisher.publish_once)
        before_reconnect()
        again = await connected(shop.customer)
        await again.follow("1", ORDER_UPDATED, {"id": draft["id"], "after": placed["position"]})
        missed = (await next_payload(again))["orderUpdated"]
        assert await again.nothing_within(0.3)
        await again.close()
        return placed, missed

    return live(scenario)


def test_a_reconnect_replays_from_the_stream(shop, publisher):
    placed, missed = reconnected_after_confirm(shop, publisher)
    assert missed["order"]["status"] == "CONFIRMED"
    assert int(missed["position"][1:]) > int(placed["position"][1:])


def test_a_replay_reads_what_the_server_pushed_before_it_asked_what_is_pending(shop, publisher, monkeypatch):
    """The replay's consumer is pushed the missed messages at once; on a busy machine they have
    all arrived before the replay asks the server what is pending (none is, then). Still a replay."""
    from nats.js.client import JetStreamContext

    consumer_info = JetStreamContext.PushSubscription.consumer_info

    async def asked_late(subscription):
        await asyncio.sleep(0.3)  # the server delivers in the meantime
        return await consumer_info(subscription)

    def ask_late() -> None:
        monkeypatch.setattr(JetStreamContext.PushSubscription, "consumer_info", asked_late)

    _, missed = reconnected_after_confirm(shop, publisher, before_reconnect=ask_late)
    assert missed["order"]["status"] == "CONFIRMED"


def test_staff_see_every_stream_event_once(shop, publisher):
    async def scenario():
        client = await connected(shop.staff)
        await client.follow("1", ORDER_EVENTS)
        order = await call(shop.placed, (("mug", 1),))
        for _ in range(3):  # one event per order per batch: three batches
            await call(publisher.publish_once)
        events = [(await next_payload(client))["orderEvents"] for _ in range(3)]
        assert await client.nothing_within(0.3)
        await client.close()
        return order, events

    order, events = live(scenario)
    assert [e["type"] for e in events] == ["order.created", "order.placed", "order.status_changed"]
    assert {e["orderId"] for e in events} == {order["id"]}


def test_subscribers_keep_their_connection_through_a_nats_restart_and_get_what_happened(shop, publisher, nats_server):
    if not nats_server.restartable:
        pytest.skip("the shared NATS server is never stopped")

    async def scenario():
        draft = await call(shop.draft, (("mug", 1),))
        client = await connected(shop.customer)
        await client.follow("1", MY_UPDATES)
        await call(nats_server.stop)
        await call(shop.ok, "placeOrder", shop.customer, orderId=draft["id"])
        with pytest.raises(StreamUnavailable):
            await call(publisher.publish_once)  # the event waits in the outbox
        await call(nats_server.start)
        for _ in range(100):
            try:
                await call(publisher.publish_once)
                break
            except StreamUnavailable:
                await client.nothing_within(0.1)
        placed = (await next_payload(client))["myOrderUpdates"]
        await client.send({"type": "ping"})
        pong = await client.receive()
        await client.close()
        return placed, pong

    placed, pong = live(scenario)
    assert placed["order"]["status"] == "PENDING"
    assert pong == {"type": "pong"}


def test_a_position_older_than_the_stream_holds_is_replay_unavailable(shop, publisher):
    async def scenario():
        client = await connected(shop.customer)
        await client.subscribe("1", MY_UPDATES, {"after": "o5"})
        other_source = await client.receive()
        await client.close()
        return other_source

    refused = live(scenario)
    assert refused["type"] == "error" and refused["payload"][0]["extensions"]["code"] == "REPLAY_UNAVAILABLE"


def test_an_unreachable_stream_refuses_new_subscriptions_with_live_unavailable(shop, settings, monkeypatch):
    settings.OMS_EVENT_STREAM_URL = "nats://127.0.0.1:9"  # nothing listens
    monkeypatch.setattr(StreamSource, "connect_seconds", 0.5)

    async def scenario():
        client = await connected(shop.customer)
        await client.subscribe("1", MY_UPDATES)
        refused = await client.receive(timeout=10)
        await client.close()
        return refused

    refused = live(scenario)
    assert refused["type"] == "error" and refused["payload"][0]["extensions"]["code"] == "LIVE_UNAVAILABLE"
