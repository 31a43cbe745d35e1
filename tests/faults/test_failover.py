"""The primary's machine dies mid-sale and a standby takes over (docs/production.md, "Highly
available PostgreSQL").

pg_auto_failover of the test's own (tests/pg_auto_failover.py: a monitor, nodes `a` and `b`,
synchronous replication) serves gunicorn (2 workers) and the relay, both connected with the
multi-host URL (`target_session_attrs=read-write`), and read replicas routed to node `b`. Client
threads check out and place orders with idempotency keys, retrying what failed with the same key.
Node `a`'s keeper and postmaster are killed with SIGKILL; the monitor promotes `b`. During the
switch every answer is 503 DATABASE_UNAVAILABLE (never a 500, never a hang); the same processes
serve again within 15 s; every acknowledged order exists once, with its number and its events;
the relay delivers every event; reads keep working.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from django.db import connection

from tests.faults.test_database_restart import Shopper, Stack, token
from tests.pg_auto_failover import Formation
from tests.pg_auto_failover import unavailable_reason as no_failover

pytestmark = [
    pytest.mark.skipif(no_failover() is not None, reason=str(no_failover())),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="runs in the PostgreSQL pass of the suite"),
]
ORDERS = "{ orders(first: 5) { totalCount } }"


class FailoverStack(Stack):
    """The restart test's stack (gunicorn, a relay, a subscriber) on a pg_auto_failover formation."""

    def start_database(self) -> tuple[str, str]:
        self.formation = Formation().start()
        with psycopg.connect(self.formation.node_url("a", "postgres"), autocommit=True) as primary:
            primary.execute('CREATE DATABASE "oms"')
        return self.formation.url("oms", connect_timeout="2"), self.formation.dir

    def extra_environment(self) -> dict[str, str]:
        return {
            "DATABASE_REPLICA_URLS": self.formation.node_url("b", "oms") + "?connect_timeout=2",
            "OMS_REPLICA_STICKY_SECONDS": "0",
        }

    def destroy_database(self) -> None:
        self.formation.destroy()


class TimedShopper(Shopper):
    """A shopper that also notes when each call was answered, and how; a call nobody answered is
    unexpected here (the switch must answer 503, never hang up), and it retries sooner."""

    retry_seconds = 0.1
    silence_is_unexpected = True

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.answered: list[tuple[float, int]] = []  # (when, HTTP status)

    def heard(self, status: int) -> None:
        self.answered.append((time.monotonic(), status))


def test_a_primary_lost_mid_sale_loses_no_acknowledged_order(request):
    stack = FailoverStack()
    request.addfinalizer(stack.close)
    staff = token("staff-1", ["staff"])
    assert stack.post(ORDERS, {}, staff)[0] == 200  # a read, routed to the replica (node b)
    stop = threading.Event()
    shoppers = [TimedShopper(stack, name, stop) for name in ("a", "b", "c")]
    for shopper in shoppers:
        shopper.start()
    time.sleep(2)
    before = sum(len(s.orders) for s in shoppers)
    killed = time.monotonic()
    stack.formation.kill("a")
    deadline = killed + 60
    while time.monotonic() < deadline and stack.formation.states().get("b") not in ("wait_primary", "primary"):
        time.sleep(0.2)
    time.sleep(2)  # orders placed on the new primary
    stop.set()
    for shopper in shoppers:
        shopper.join(timeout=60)
        assert not shopper.is_alive(), (
            stack.formation.states(),
            [(round(when - killed, 1), status) for when, status in shopper.answered[-5:]],
            shopper.unexpected[-2:],
            stack.formation.log_tail(),
        )

    # During the switch: 503 DATABASE_UNAVAILABLE only, never a 500, never a hang; back within 15 s.
    assert all(not s.unexpected for s in shoppers), [s.unexpected[:3] for s in shoppers]
    refused = sum(len(s.unavailable) for s in shoppers)
    assert refused > 0 and max(t for s in shoppers for t in s.unavailable) < 5.0
    first_served = min(when for s in shoppers for when, status in s.answered if when > killed and status == 200)
    without_service = first_served - killed
    assert without_service < 15, without_service
    assert stack.server.poll() is None and stack.relay.poll() is None  # the same processes
    print(f"\nfailover: {without_service:.1f} s without service, {refused} requests refused with 503")

    placed = {key: order for s in shoppers for key, order in s.orders.items()}
    assert len(placed) > before >= 3
    with psycopg.connect(stack.url) as conn:  # the new primary
        assert conn.info.port == stack.formation.ports["b"]
        rows = conn.execute(
            "SELECT id::text, number FROM ordering_order WHERE customer_user_id LIKE 'shopper-%'"
        ).fetchall()
        events = {
            str(event_id): (str(order_id), kind)
            for event_id, order_id, kind in conn.execute(
                "SELECT e.event_id, e.aggregate_id, e.type FROM ordering_outbox_event e "
                "JOIN ordering_order o ON o.id = e.aggregate_id WHERE o.customer_user_id LIKE 'shopper-%'"
            )
        }
    numbers = dict(rows)
    # Every acknowledged placement exists once with its number, and the retried keys made no other.
    assert len(rows) == len(numbers) == len(placed)
    assert {order["id"]: order["number"] for order in placed.values()} == numbers
    for order in placed.values():
        kinds = sorted(kind for order_id, kind in events.values() if order_id == order["id"])
        assert kinds == ["order.created", "order.placed", "order.status_changed"], (order["number"], kinds)
    # The relay (reconnected through the host list) delivers every event.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not set(events) <= {r["event"]["id"] for r in stack.receiver.received}:
        time.sleep(0.5)
    assert set(events) <= {r["event"]["id"] for r in stack.receiver.received}
    # Reads keep working (the replica is now the primary; the router's health check decides).
    status, body, _ = stack.post(ORDERS, {}, staff)
    assert status == 200 and body["data"]["orders"]["totalCount"] >= len(placed), body
