"""The graphql-transport-ws rules at `/graphql/` (api.md, "Subscriptions"): each misstep closes the
socket with the protocol's code, and each limit answers with a close code or a coded error."""

from __future__ import annotations

import json
import time

import pytest
from asgiref.sync import async_to_sync

from tests.tokens import hs_token

from .client import LiveClient
from .test_order_updates import MY_UPDATES

pytestmark = pytest.mark.django_db(transaction=True)


def live(scenario):
    return async_to_sync(scenario)()


@pytest.fixture
def customer(tenant) -> str:
    return hs_token(tenant, sub="cust-1", roles=["customer"])


async def opened() -> LiveClient:
    client = LiveClient()
    assert await client.open()
    return client


def closed_with(steps) -> tuple[int, str]:
    """Run `steps(client)` on a fresh connection and return how the server closed it."""

    async def scenario():
        client = await opened()
        await steps(client)
        message = await client.receive()
        assert message["type"] == "__closed__", message
        return message["code"], message["reason"]

    return live(scenario)


def test_a_subscribe_before_the_acknowledgement_closes_4401():
    async def steps(client):
        await client.subscribe("1", MY_UPDATES)

    assert closed_with(steps) == (4401, "Unauthorized")


@pytest.mark.parametrize(
    "payload",
    [{}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic abc"}, {"Authorization": 42}],
    ids=["no token", "not a jwt", "not bearer", "not a string"],
)
def test_a_missing_or_bad_token_closes_4403(tenant, payload):
    async def steps(client):
        await client.send({"type": "connection_init", "payload": payload})

    code, reason = closed_with(steps)
    assert code == 4403 and reason.startswith("Forbidden")


def test_another_tenants_key_closes_4403(tenant, other_tenant):
    forged = hs_token(other_tenant, sub="cust-1", roles=["customer"], tenant_id=tenant.id)

    async def steps(client):
        await client.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {forged}"}})

    assert closed_with(steps)[0] == 4403


def test_a_second_init_closes_4429(customer):
    async def steps(client):
        assert await client.init(customer) == {"type": "connection_ack"}
        await client.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {customer}"}})

    assert closed_with(steps) == (4429, "Too many initialisation requests")


def test_a_duplicate_subscription_id_closes_4409(customer):
    async def steps(client):
        await client.init(customer)
        await client.subscribe("same", MY_UPDATES)
        await client.subscribe("same", MY_UPDATES)

    assert closed_with(steps) == (4409, "Subscriber for same already exists")


def test_no_init_in_time_closes_4408(settings):
    settings.OMS_LIVE_INIT_TIMEOUT_SECONDS = 0.2

    async def steps(client):
        pass

    assert closed_with(steps) == (4408, "Connection initialisation timeout")


@pytest.mark.parametrize(
    "message",
    ["not json", json.dumps({"type": "nope"}), json.dumps([1]), json.dumps({"type": "subscribe", "id": 7})],
    ids=["not json", "unknown type", "not an object", "bad subscribe"],
)
def test_a_message_outside_the_protocol_closes_4400(customer, message):
    async def steps(client):
        await client.init(customer)
        await client.send(message)

    assert closed_with(steps) == (4400, "Invalid message received")


def test_a_message_over_the_limit_closes_1009(customer, settings):
    settings.OMS_LIVE_MAX_MESSAGE_BYTES = 1000

    async def steps(client):
        await client.init(customer)
        await client.subscribe("1", MY_UPDATES + " " * 1000)

    assert closed_with(steps)[0] == 1009


def test_a_token_that_expires_closes_the_connection_at_its_exp(tenant):
    token = hs_token(tenant, sub="cust-1", roles=["customer"], exp=int(time.time()) + 2)  # still valid at init

    async def steps(client):
        assert await client.init(token) == {"type": "connection_ack"}
        await client.follow("1", MY_UPDATES)

    started = time.monotonic()
    code, reason = closed_with(steps)
    assert code == 4403 and "expired" in reason
    assert time.monotonic() - started < 5


def test_another_protocol_is_refused_4406():
    async def scenario():
        client = LiveClient(subprotocols=("graphql-ws",))
        await client.open()
        return await client.receive()

    closed = live(scenario)
    assert closed["type"] == "__closed__" and closed["code"] == 4406


def test_one_subscription_over_the_connections_limit_gets_an_error_and_the_others_go_on(customer, settings):
    settings.OMS_LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION = 2

    async def scenario():
        client = await opened()
        await client.init(customer)
        await client.follow("1", MY_UPDATES)
        await client.follow("2", MY_UPDATES)
        await client.subscribe("3", MY_UPDATES)
        refused = await client.receive()
        await client.send({"type": "complete", "id": "1"})
        assert await client.nothing_within(0.1)  # the completed one has left
        await client.follow("4", MY_UPDATES)  # room again once one completed
        await client.send({"type": "ping"})
        pong = await client.receive()
        await client.close()
        return refused, pong

    refused, pong = live(scenario)
    assert refused["type"] == "error" and refused["id"] == "3"
    assert refused["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
    assert pong == {"type": "pong"}


def test_ping_gets_pong_and_an_idle_connection_is_pinged(customer, settings):
    settings.OMS_LIVE_PING_SECONDS = 0.2

    async def scenario():
        client = await opened()
        await client.init(customer)
        await client.send({"type": "ping", "payload": {"x": 1}})
        pong = await client.receive()
        ping = await client.receive()
        await client.close()
        return pong, ping

    assert live(scenario) == ({"type": "pong"}, {"type": "ping"})


def _token(tenant, sub: str) -> str:
    return hs_token(tenant, sub=sub, roles=["customer"])


async def _init(token: str) -> tuple[LiveClient, dict]:
    client = await opened()
    return client, await client.init(token)


def test_a_token_holds_at_most_its_connections_and_gets_one_back_when_one_closes(tenant, settings):
    settings.OMS_LIVE_MAX_CONNECTIONS_PER_TOKEN = 2
    token, other = _token(tenant, "cust-1"), _token(tenant, "cust-2")

    async def scenario():
        first, _ = await _init(token)
        await _init(token)
        _, refused = await _init(token)
        _, someone_else = await _init(other)
        await first.close()
        _, again = await _init(token)
        return refused, someone_else, again

    refused, someone_else, again = live(scenario)
    assert refused["type"] == "__closed__" and refused["code"] == 1013 and refused["reason"].startswith("RATE_LIMITED")
    assert someone_else == {"type": "connection_ack"} and again == {"type": "connection_ack"}


def test_a_tenant_holds_its_share_of_the_live_capacity_while_another_holds_some(tenant, other_tenant, settings):
    settings.OMS_LIVE_MAX_CONNECTIONS = 4
    settings.OMS_ADMISSION_SHARE = 0.5

    async def scenario():
        answers = []
        answers.append((await _init(_token(other_tenant, "b-1")))[1])  # the other tenant holds one
        for n in range(3):
            answers.append((await _init(_token(tenant, f"a-{n}")))[1])
        answers.append((await _init(_token(other_tenant, "b-2")))[1])  # still room for the other
        return answers

    b1, a0, a1, a2, b2 = live(scenario)
    assert [a["type"] for a in (b1, a0, a1, b2)] == ["connection_ack"] * 4
    assert a2["type"] == "__closed__" and a2["code"] == 1013 and a2["reason"].startswith("OVER_SHARE")


def test_a_reconnect_storm_spends_the_tokens_rate_like_any_request(tenant, settings):
    settings.OMS_RATE_LIMIT_TOKEN_BURST = 2
    settings.OMS_RATE_LIMIT_TOKEN_RATE = 0.001
    token = _token(tenant, "cust-1")

    async def scenario():
        answers = []
        for _ in range(3):
            client, answer = await _init(token)
            answers.append(answer)
            await client.close()
        return answers

    first, second, third = live(scenario)
    assert first == second == {"type": "connection_ack"}
    assert third["type"] == "__closed__" and third["code"] == 1013 and third["reason"].startswith("RATE_LIMITED")


def test_a_host_not_allowed_is_refused_before_the_handshake():
    async def scenario():
        client = LiveClient(host="evil.example")
        return await client.open()

    assert live(scenario) is False
