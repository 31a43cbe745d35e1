"""GraphQL over Server-Sent Events (graphql-sse, distinct connections mode) at `/graphql/` of the
ASGI process: the same subscriptions for networks that block WebSockets."""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import async_to_sync

from ordering.infrastructure.live import LiveOrders
from tests.tokens import hs_token

from .client import SseClient, call
from .test_order_updates import MY_UPDATES, VENDOR_UPDATES, shop  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def live(scenario):
    return async_to_sync(scenario)()


async def started(client: SseClient) -> None:
    hub = LiveOrders.process_hub()
    before = hub.started()
    assert await client.open() == 200
    deadline = asyncio.get_running_loop().time() + 5
    while hub.started() <= before:
        assert asyncio.get_running_loop().time() < deadline, "the subscription did not start"
        await asyncio.sleep(0.005)


def test_a_customer_follows_its_order_over_sse(shop):
    async def scenario():
        draft = await call(shop.draft, (("mug", 1),))
        stream = SseClient({"query": MY_UPDATES}, shop.customer)
        await started(stream)
        await call(shop.ok, "placeOrder", shop.customer, orderId=draft["id"])
        event = await stream.event()
        await stream.close()
        return stream.headers, event

    headers, (name, data) = live(scenario)
    assert headers["content-type"].startswith("text/event-stream") and headers["cache-control"] == "no-cache"
    assert name == "next" and data["data"]["myOrderUpdates"]["order"]["status"] == "PENDING"


def test_a_refused_operation_is_a_next_event_with_errors_then_complete(shop):
    async def scenario():
        stream = SseClient({"query": VENDOR_UPDATES}, shop.customer)
        assert await stream.open() == 200
        return await stream.event(), await stream.event()

    (name, data), (end, _) = live(scenario)
    assert name == "next" and data["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert end == "complete"


@pytest.mark.parametrize(
    ("token", "body", "host", "status", "code"),
    [
        (None, {"query": MY_UPDATES}, "testserver", 401, "UNAUTHENTICATED"),
        ("bad", {"query": MY_UPDATES}, "testserver", 401, "UNAUTHENTICATED"),
        ("customer", b"not json", "testserver", 400, "BAD_REQUEST"),
        ("customer", {"query": MY_UPDATES}, "evil.example", 400, "BAD_REQUEST"),
        ("customer", {"query": "x" * 300_000}, "testserver", 413, "PAYLOAD_TOO_LARGE"),
    ],
)
def test_a_bad_request_is_answered_before_any_stream(shop, token, body, host, status, code):
    token = getattr(shop, token) if token in ("customer",) else token

    async def scenario():
        stream = SseClient(body, token, host=host)
        answered = await stream.open()
        return answered, await stream.body_json()

    answered, answer = live(scenario)
    assert answered == status and answer["errors"][0]["extensions"]["code"] == code


def test_an_expiring_token_ends_the_stream_at_its_exp(tenant):
    token = hs_token(tenant, sub="cust-1", roles=["customer"], exp=int(time.time()) + 2)  # still valid at the request

    async def scenario():
        stream = SseClient({"query": MY_UPDATES}, token)
        await started(stream)
        return await stream.event(timeout=8), await stream.event()

    (name, data), (end, _) = live(scenario)
    assert name == "next" and data["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert end == "complete"


def test_a_client_that_leaves_ends_its_subscription(shop):
    async def scenario():
        stream = SseClient({"query": MY_UPDATES}, shop.customer)
        await started(stream)
        hub = LiveOrders.process_hub()
        following = hub.started()
        await stream.close()
        return following, hub.started()

    following, after = live(scenario)
    assert following == 1 and after == 0


def test_a_subscription_posted_as_a_plain_request_is_a_bad_request(gql, shop):
    response = gql.post(MY_UPDATES, token=shop.customer)
    body = response.json()
    assert body.get("data") is None and body["errors"][0]["extensions"]["code"] == "BAD_REQUEST", body
    assert response.status_code == 400
