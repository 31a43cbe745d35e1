"""The clients storefronts use, under Node against a live ASGI server: graphql-ws, Apollo Client's
GraphQLWsLink and graphql-sse (api.md, "Subscriptions")."""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from tests.ordering.conftest import Shop, seed_catalog

from .server import AsgiServer
from .test_order_updates import MY_UPDATES, ORDER_UPDATED, VENDOR_UPDATES

pytestmark = pytest.mark.django_db(transaction=True)

NODE = Path(__file__).resolve().parent / "node"


def _npm_ci() -> str | None:
    """Install the pinned clients (tests/live/node/package-lock.json) once; None when it works."""
    if not (shutil.which("node") and shutil.which("npm")):
        return "node and npm are needed for the Node client tests"
    if (NODE / "node_modules" / "graphql-ws").exists():
        return None
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=NODE, capture_output=True, text=True, timeout=300
    )
    return None if done.returncode == 0 else f"npm ci failed: {done.stderr[-500:]}"


class NodeClient:
    """`node live.mjs` in the background; its JSON lines read as they come."""

    def __init__(self, **options) -> None:
        self.process = subprocess.Popen(
            ["node", "live.mjs", json.dumps(options)],
            cwd=NODE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(json.loads(line))
        self.lines.put(None)

    def next_line(self, timeout: float = 10) -> dict:
        line = self.lines.get(timeout=timeout)
        assert line is not None, self.process.stderr.read()
        return line

    def until(self, key: str, timeout: float = 10) -> dict:
        while True:
            line = self.next_line(timeout)
            if key in line:
                return line[key]

    def finish(self) -> list[dict]:
        self.process.wait(30)
        rest = []
        while (line := self.lines.get(timeout=5)) is not None:
            rest.append(line)
        return rest


@pytest.fixture
def server(settings):
    problem = _npm_ci()
    if problem:
        pytest.skip(problem)
    settings.ALLOWED_HOSTS = ["127.0.0.1", "testserver"]
    running = AsgiServer().start()
    yield running
    running.stop()


@pytest.fixture
def shop(gql, tenant) -> Shop:
    seed_catalog(tenant.id)
    return Shop(gql, tenant)


def follow_order(server, shop, order_id, *, client="graphql-ws", count=1, after=None) -> NodeClient:
    """The customer's `orderUpdated` for one order, through a real client under Node."""
    variables = {"id": order_id} if after is None else {"id": order_id, "after": after}
    url = server.ws_url if client != "graphql-sse" else server.http_url
    return NodeClient(
        client=client, url=url, token=shop.customer, query=ORDER_UPDATED, variables=variables, count=count
    )


def _pay(shop, order):
    return {"method": "card", "reference": "ch_1", "amount": order["total"]["amount"]}


def test_graphql_ws_sees_the_order_placed_confirmed_and_shipped_in_order(server, shop):
    draft = shop.draft((("mug", 1),))
    client = follow_order(server, shop, draft["id"], count=3)
    server.wait_following(1)
    shop.ok("placeOrder", shop.customer, orderId=draft["id"])
    placed = client.until("next")
    shop.ok("confirmOrder", shop.staff, orderId=draft["id"], payment=_pay(shop, draft))
    confirmed = client.until("next")
    shop.ok("shipOrder", shop.acme, orderId=draft["id"], carrier="UPS", trackingNumber="1Z")
    shipped = client.until("next")
    client.finish()
    updates = [u["data"]["orderUpdated"] for u in (placed, confirmed, shipped)]
    assert [u["order"]["status"] for u in updates] == ["PENDING", "CONFIRMED", "SHIPPED"]
    assert [u["order"]["version"] for u in updates] == [2, 3, 4]


def test_a_graphql_ws_reconnect_with_after_gets_what_it_missed(server, shop):
    draft = shop.draft((("mug", 1),))
    first = follow_order(server, shop, draft["id"])
    server.wait_following(1)
    shop.ok("placeOrder", shop.customer, orderId=draft["id"])
    placed = first.until("next")["data"]["orderUpdated"]
    first.finish()
    shop.ok("confirmOrder", shop.staff, orderId=draft["id"], payment=_pay(shop, draft))
    shop.ok("shipOrder", shop.acme, orderId=draft["id"], carrier="UPS", trackingNumber="1Z")
    again = follow_order(server, shop, draft["id"], count=2, after=placed["position"])
    missed = again.until("next")["data"]["orderUpdated"]
    shop.ok("deliverOrder", shop.staff, orderId=draft["id"])
    live_one = again.until("next")["data"]["orderUpdated"]
    again.finish()
    assert missed["order"]["status"] == "SHIPPED" and live_one["order"]["status"] == "DELIVERED"


def test_another_customers_order_never_reaches_a_graphql_ws_client(server, shop):
    client = NodeClient(
        client="graphql-ws", url=server.ws_url, token=shop.other_customer, query=MY_UPDATES, count=1, timeout=2
    )
    server.wait_following(1)
    shop.placed((("mug", 1),))
    lines = client.finish()
    assert not [line for line in lines if "next" in line]


def test_a_bad_token_is_closed_4403_for_graphql_ws(server, shop):
    client = NodeClient(client="graphql-ws", url=server.ws_url, token="not-a-jwt", query=MY_UPDATES, count=1)
    closed = client.until("closed")
    client.finish()
    assert closed["code"] == 4403


def test_apollo_clients_graphql_ws_link_gets_the_vendors_view(server, shop):
    client = NodeClient(client="apollo", url=server.ws_url, token=shop.globex, query=VENDOR_UPDATES, count=1)
    server.wait_following(1)
    order = shop.placed((("mug", 1), ("lamp", 1)))
    update = client.until("next")["data"]["vendorOrderUpdates"]
    client.finish()
    assert update["order"]["id"] == order["id"]
    assert [line["vendorId"] for line in update["order"]["lines"]] == ["globex"]


def test_graphql_sse_client_follows_an_order(server, shop):
    draft = shop.draft((("mug", 1),))
    client = follow_order(server, shop, draft["id"], client="graphql-sse")
    server.wait_following(1)
    shop.ok("placeOrder", shop.customer, orderId=draft["id"])
    update = client.until("next")["data"]["orderUpdated"]
    client.finish()
    assert update["order"]["status"] == "PENDING"
