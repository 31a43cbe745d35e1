"""Live order status over graphql-transport-ws (api.md, "Subscriptions"): what each principal
receives as orders change, in order, and what it never receives."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from tests.ordering.conftest import Shop, seed_catalog

from .client import LiveClient, call

pytestmark = pytest.mark.django_db(transaction=True)

UPDATE = "position order { id status version lines { vendorId } payment { reference } }"
MY_UPDATES = f"subscription($after: String) {{ myOrderUpdates(after: $after) {{ {UPDATE} }} }}"
ORDER_UPDATED = f"subscription($id: ID!, $after: String) {{ orderUpdated(orderId: $id, after: $after) {{ {UPDATE} }} }}"
VENDOR_UPDATES = f"subscription {{ vendorOrderUpdates {{ {UPDATE} }} }}"
ORDER_EVENTS = (
    "subscription($filter: OrderEventsFilter) "
    "{ orderEvents(filter: $filter) { position type orderId sequence occurredAt } }"
)


@pytest.fixture
def shop(gql, tenant) -> Shop:
    seed_catalog(tenant.id)
    return Shop(gql, tenant)


def live(scenario):
    """Run an async scenario from a synchronous test (the test client's calls stay on this thread)."""
    return async_to_sync(scenario)()


async def connected(token: str) -> LiveClient:
    client = LiveClient()
    assert await client.open()
    ack = await client.init(token)
    assert ack == {"type": "connection_ack"}, ack
    return client


async def next_payload(client: LiveClient, id_: str = "1") -> dict:
    message = await client.receive()
    assert message.get("type") == "next" and message.get("id") == id_, message
    assert "errors" not in message["payload"], message
    return message["payload"]["data"]


def test_a_customer_sees_its_order_placed_confirmed_and_shipped_in_order(shop):
    async def scenario():
        draft = await call(shop.draft, (("mug", 1),))
        client = await connected(shop.customer)
        await client.follow("1", MY_UPDATES)
        await call(shop.ok, "placeOrder", shop.customer, orderId=draft["id"])
        placed = (await next_payload(client))["myOrderUpdates"]
        payment = {"method": "card", "reference": "ch_1", "amount": draft["total"]["amount"]}
        await call(shop.ok, "confirmOrder", shop.staff, orderId=draft["id"], payment=payment)
        confirmed = (await next_payload(client))["myOrderUpdates"]
        await call(shop.ok, "shipOrder", shop.acme, orderId=draft["id"], carrier="UPS", trackingNumber="1Z")
        shipped = (await next_payload(client))["myOrderUpdates"]
        await client.close()
        return placed, confirmed, shipped

    placed, confirmed, shipped = live(scenario)
    assert [u["order"]["status"] for u in (placed, confirmed, shipped)] == ["PENDING", "CONFIRMED", "SHIPPED"]
    assert [u["order"]["version"] for u in (placed, confirmed, shipped)] == [2, 3, 4]
    positions = [int(u["position"][1:]) for u in (placed, confirmed, shipped)]
    assert positions == sorted(positions) and len(set(positions)) == 3
    assert confirmed["order"]["payment"]["reference"] == "ch_1"


def test_a_reconnect_with_after_gets_what_it_missed_in_order_then_live_updates(shop):
    async def scenario():
        draft = await call(shop.draft, (("mug", 1),))
        client = await connected(shop.customer)
        await client.follow("1", ORDER_UPDATED, {"id": draft["id"]})
        await call(shop.ok, "placeOrder", shop.customer, orderId=draft["id"])
        placed = (await next_payload(client))["orderUpdated"]
        await client.close()  # offline while the order is confirmed and shipped
        payment = {"method": "card", "reference": "ch_1", "amount": draft["total"]["amount"]}
        await call(shop.ok, "confirmOrder", shop.staff, orderId=draft["id"], payment=payment)
        await call(shop.ok, "shipOrder", shop.acme, orderId=draft["id"], carrier="UPS", trackingNumber="1Z")
        again = await connected(shop.customer)
        await again.follow("1", ORDER_UPDATED, {"id": draft["id"], "after": placed["position"]})
        missed = [(await next_payload(again))["orderUpdated"]]
        assert await again.nothing_within(0.3)
        await call(shop.ok, "deliverOrder", shop.staff, orderId=draft["id"])
        live_one = (await next_payload(again))["orderUpdated"]
        assert await again.nothing_within(0.3)
        await again.close()
        return placed, missed, live_one

    placed, missed, live_one = live(scenario)
    assert int(missed[0]["position"][1:]) > int(placed["position"][1:])
    assert [u["order"]["version"] for u in missed] == [4], "what was missed: the order's latest state, once"
    assert live_one["order"]["status"] == "DELIVERED"


def test_another_customers_and_another_tenants_orders_never_arrive(shop, other_tenant, gql):
    other_shop = Shop(gql, other_tenant)
    seed_catalog(other_tenant.id)

    async def scenario():
        client = await connected(shop.customer)
        await client.follow("1", MY_UPDATES)
        await call(other_shop.placed, (("mug", 1),))  # the same user id, in another tenant
        await call(shop.checkout, (("mug", 1),), token=shop.other_customer)  # another customer here
        quiet = await client.nothing_within(0.5)
        mine = await call(shop.draft, (("mug", 1),))
        update = (await next_payload(client))["myOrderUpdates"]
        await client.close()
        return quiet, mine, update

    quiet, mine, update = live(scenario)
    assert quiet, "an update of someone else's order arrived"
    assert update["order"]["id"] == mine["id"]


def test_a_vendor_sees_placed_orders_with_its_lines_only(shop):
    async def scenario():
        client = await connected(shop.globex)
        await client.follow("1", VENDOR_UPDATES)
        draft = await call(shop.draft, (("mug", 1), ("lamp", 1)))
        assert await client.nothing_within(0.3), "a cart is not the vendor's business"
        await call(shop.ok, "placeOrder", shop.customer, orderId=draft["id"])
        placed = (await next_payload(client))["vendorOrderUpdates"]
        await call(shop.placed, (("mug", 1),))  # acme's only: not globex's
        quiet = await client.nothing_within(0.5)
        await client.close()
        return placed, quiet

    placed, quiet = live(scenario)
    assert placed["order"]["status"] == "PENDING"
    assert [line["vendorId"] for line in placed["order"]["lines"]] == ["globex"]
    assert placed["order"]["payment"] is None
    assert quiet


def test_staff_follow_every_event_or_the_types_they_filter(shop):
    async def scenario():
        everything = await connected(shop.staff)
        await everything.follow("1", ORDER_EVENTS)
        placed_only = await connected(shop.staff)
        await placed_only.follow("p", ORDER_EVENTS, {"filter": {"types": ["order.placed"]}})
        order = await call(shop.placed, (("mug", 1),))
        events = [(await next_payload(everything))["orderEvents"] for _ in range(2)]
        filtered = (await next_payload(placed_only, "p"))["orderEvents"]
        quiet = await placed_only.nothing_within(0.3)
        await everything.close()
        await placed_only.close()
        return order, events, filtered, quiet

    order, events, filtered, quiet = live(scenario)
    assert [(e["type"], e["sequence"]) for e in events] == [("order.created", 1), ("order.placed", 2)]
    assert {e["orderId"] for e in events} == {order["id"]}
    assert filtered["type"] == "order.placed" and quiet


@pytest.mark.parametrize(
    ("token_of", "query", "variables", "code"),
    [
        ("customer", VENDOR_UPDATES, {}, "FORBIDDEN"),
        ("acme", MY_UPDATES, {}, "FORBIDDEN"),
        ("customer", ORDER_EVENTS, {}, "FORBIDDEN"),
        ("staff", ORDER_EVENTS, {"filter": {"types": ["order.teleported"]}}, "INVALID"),
        ("customer", MY_UPDATES, {"after": "x12"}, "INVALID"),
        ("customer", MY_UPDATES, {"after": "s12"}, "REPLAY_UNAVAILABLE"),
        ("customer", MY_UPDATES, {"after": "o999999"}, "REPLAY_UNAVAILABLE"),
        ("customer", ORDER_UPDATED, {"id": "00000000-0000-0000-0000-000000000000"}, "NOT_FOUND"),
        ("customer", "{ me { userId } }", {}, "BAD_REQUEST"),
        ("customer", "subscription { nope }", {}, "GRAPHQL_VALIDATION_FAILED"),
    ],
)
def test_a_subscription_refused_gets_an_error_with_a_code_and_the_connection_stays(
    shop, token_of, query, variables, code
):
    async def scenario():
        client = await connected(getattr(shop, token_of))
        await client.subscribe("1", query, variables)
        refused = await client.receive()
        await client.send({"type": "ping"})
        pong = await client.receive()
        await client.close()
        return refused, pong

    refused, pong = live(scenario)
    assert refused["type"] == "error" and refused["id"] == "1", refused
    assert [error["extensions"]["code"] for error in refused["payload"]] == [code]
    assert pong == {"type": "pong"}


def test_an_order_another_customer_cannot_read_is_not_found(shop):
    async def scenario():
        order = await call(shop.draft, (("mug", 1),))
        client = await connected(shop.other_customer)
        await client.subscribe("1", ORDER_UPDATED, {"id": order["id"]})
        refused = await client.receive()
        await client.close()
        return refused

    refused = live(scenario)
    assert refused["type"] == "error" and refused["payload"][0]["extensions"]["code"] == "NOT_FOUND"


def test_an_update_carries_every_field_the_order_query_gives(shop):
    from tests.ordering.conftest import ORDER_FIELDS

    document = f"subscription {{ myOrderUpdates {{ position order {{ {ORDER_FIELDS} }} }} }}"

    async def scenario():
        draft = await call(shop.draft, (("mug", 1), ("lamp", 1)))
        client = await connected(shop.customer)
        await client.follow("1", document)
        await call(shop.ok, "placeOrder", shop.customer, orderId=draft["id"])
        update = (await next_payload(client))["myOrderUpdates"]
        await client.close()
        return update, await call(shop.order, draft["id"], shop.customer)

    update, queried = live(scenario)
    assert update["order"] == queried
