"""Behind PgBouncer in transaction mode (docs/production.md, "Behind a pooler").

A cluster of the test's own (tests/pg_cluster.py) behind a PgBouncer of the test's own
(tests/pg_bouncer.py) with ONE server connection: gunicorn (2 workers) and the relay connect
through it with `DATABASE_POOLER=transaction` (no prepared statements, no server-side cursors, no
LISTEN). Two tenants' shoppers place orders at the same time, so their transactions take turns on
that one server connection; each tenant sees its own orders only, every order is delivered to its
tenant's subscriber, and the database's own tenant scope (row-level security) does not outlive a
transaction on the shared connection.
"""

from __future__ import annotations

import threading
import time

import jwt
import psycopg
import pytest
from django.db import connection

from tests.faults.test_database_restart import CHECKOUT, PLACE, SECRET, Stack, manage
from tests.pg_bouncer import PgBouncer
from tests.pg_bouncer import unavailable_reason as no_bouncer
from tests.pg_cluster import unavailable_reason as no_cluster
from tests.webhooks.receiver import Receiver

pytestmark = [
    pytest.mark.skipif(no_cluster() is not None, reason=str(no_cluster())),
    pytest.mark.skipif(no_bouncer() is not None, reason=str(no_bouncer())),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="runs in the PostgreSQL pass of the suite"),
]

TENANTS = ("demo", "globex")
ORDERS = "{ orders(first: 50) { totalCount edges { node { id number } } } }"


def token(tenant: str, sub: str, roles: list[str]) -> str:
    now = int(time.time())
    claims = {"sub": sub, "tenant_id": tenant, "roles": roles, "iat": now, "exp": now + 3600}
    return jwt.encode({**claims, "iss": "oms-demo", "aud": "oms"}, SECRET, algorithm="HS256")


class PooledStack(Stack):
    """The restart test's stack (gunicorn, a relay, a subscriber), its processes connected
    through PgBouncer, with a second tenant and its own subscriber."""

    def __init__(self) -> None:
        self.bouncer: PgBouncer | None = None
        super().__init__()

    def prepare(self) -> None:  # called by Stack before it starts gunicorn and the relay
        manage(self.env, "seed_demo", "--tenant", "globex")
        self.other_receiver = Receiver("whsec_placeholder")
        added = manage(self.env, "subscriptions", "globex", "add", self.other_receiver.url)
        self.other_receiver.secret = added.strip().splitlines()[-1]
        self.bouncer = PgBouncer(self.cluster.port, pool_size=1).start()
        self.direct_url = self.url
        self.env = {**self.env, "DATABASE_URL": self.bouncer.url("oms"), "DATABASE_POOLER": "transaction"}

    def close(self) -> None:
        super().close()
        self.other_receiver.stop()
        if self.bouncer is not None:
            self.bouncer.stop()


@pytest.fixture(scope="module")
def pooled():
    running = PooledStack()
    yield running
    running.close()


def test_two_tenants_interleaved_on_one_pooled_connection_never_cross(pooled):
    placed: dict[str, list[dict]] = {tenant: [] for tenant in TENANTS}
    problems: list[object] = []

    def shop(tenant: str, shopper: int) -> None:
        bearer = token(tenant, f"shopper-{shopper}", ["customer"])
        for n in range(12):
            status, body, _ = pooled.post(CHECKOUT, {"key": f"{tenant}-{shopper}-{n}"}, bearer)
            payload = body.get("data", {}).get("checkoutItems") if status == 200 else None
            if not payload or payload["errors"]:
                problems.append((tenant, status, body))
                return
            key = f"place-{tenant}-{shopper}-{n}"
            status, body, _ = pooled.post(PLACE, {"id": payload["order"]["id"], "key": key}, bearer)
            payload = body.get("data", {}).get("placeOrder") if status == 200 else None
            if not payload or payload["errors"]:
                problems.append((tenant, status, body))
                return
            placed[tenant].append(payload["order"])

    # One shopper a tenant, both at once: each holds at most one request, within its fair share.
    shoppers = [threading.Thread(target=shop, args=(tenant, 1)) for tenant in TENANTS]
    for thread in shoppers:
        thread.start()
    for thread in shoppers:
        thread.join(120)
    assert problems == []
    assert {tenant: len(orders) for tenant, orders in placed.items()} == {"demo": 12, "globex": 12}

    for tenant in TENANTS:
        status, body, _ = pooled.post(ORDERS, {}, token(tenant, "staff-1", ["staff"]))
        assert status == 200, body
        seen = {edge["node"]["id"] for edge in body["data"]["orders"]["edges"]}
        with psycopg.connect(pooled.direct_url, autocommit=True) as owner:  # a superuser: every row
            rows = owner.execute("SELECT id::text FROM ordering_order WHERE tenant_id = %s", [tenant]).fetchall()
        assert seen == {row[0] for row in rows} >= {order["id"] for order in placed[tenant]}, tenant
        assert body["data"]["orders"]["totalCount"] == len(rows)

    # Every event reaches its own tenant's subscriber (the relay polls: no LISTEN through the pooler).
    expected = dict.fromkeys(TENANTS, 12 * 3)  # created, placed and status_changed per order
    receivers = {"demo": pooled.receiver, "globex": pooled.other_receiver}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(len(receivers[t].events) < expected[t] for t in TENANTS):
        time.sleep(0.2)
    for tenant in TENANTS:
        events = receivers[tenant].events
        assert len(events) == expected[tenant], (tenant, len(events))
        assert {event["tenant_id"] for event in events} == {tenant}


def test_a_tenant_scope_does_not_outlive_its_transaction_on_the_shared_connection(pooled):
    """Row-level security through the pooler: the scope the app sets is transaction-local, so the
    next transaction on the same server connection (one in the pool) starts with none."""
    status, body, _ = pooled.post(CHECKOUT, {"key": "scope-1"}, token("demo", "shopper-1", ["customer"]))
    assert status == 200 and body["data"]["checkoutItems"]["errors"] == [], body
    with psycopg.connect(pooled.bouncer.url("oms"), autocommit=True, prepare_threshold=None) as client:
        with client.transaction():
            client.execute("SET LOCAL ROLE oms_tenant")
            client.execute("SELECT set_config('app.tenant_id', 'demo', true)")
            scoped_pid, scoped = client.execute("SELECT pg_backend_pid(), count(*) FROM ordering_order").fetchone()
        with client.transaction():
            client.execute("SET LOCAL ROLE oms_tenant")
            pid, setting, unscoped = client.execute(
                "SELECT pg_backend_pid(), coalesce(current_setting('app.tenant_id', true), ''), "
                "(SELECT count(*) FROM ordering_order)"
            ).fetchone()
    with psycopg.connect(pooled.direct_url, autocommit=True) as owner:  # a superuser: no row-level security
        demo_orders = owner.execute("SELECT count(*) FROM ordering_order WHERE tenant_id = 'demo'").fetchone()[0]
    assert scoped == demo_orders >= 1 and pid == scoped_pid  # the same server connection both times
    assert (setting, unscoped) == ("", 0)
