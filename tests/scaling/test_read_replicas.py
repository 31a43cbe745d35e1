"""Reads on a real streaming replica (issue 16, docs/scaling.md).

A primary and a hot-standby replica of the test's own (`pg_basebackup -R`, tests/pg_cluster.py),
both logging every statement; gunicorn (one worker) on the primary with
`DATABASE_REPLICA_URLS` naming the replica. Queries read the replica; a client reads its own
write at once; with replay paused, reads go back to the primary once the lag passes the limit;
with the replica stopped, everything still answers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.conftest import free_port
from tests.demo_stack import LAMP_CHECKOUT, demo_token, stop_process
from tests.pg_cluster import statements_in, streaming_pair, unavailable_reason

ROOT = Path(__file__).resolve().parent.parent.parent
SECRET = "replica-test-hs256-secret-" + "x" * 40
MAX_LAG = 1.0
pytestmark = [
    pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason())),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="runs in the PostgreSQL pass of the suite"),
]

CHECKOUT = LAMP_CHECKOUT
PLACE = "mutation($id: ID!) { placeOrder(orderId: $id) { order { id status } errors { code message } } }"
ORDER = "query($id: ID!) { order(id: $id) { id status } }"
ORDERS = "{ orders(first: 50) { totalCount edges { node { id status } } } }"
INVOICE = "query($id: ID!) { invoice(orderId: $id) { number } }"


def token(sub: str, roles: list[str]) -> str:
    return demo_token(SECRET, sub, roles)


def lsn(url: str, query: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query).fetchone()[0]


class Stack:
    def __init__(self) -> None:
        self.primary, self.replica = streaming_pair()
        self.primary_url = self.primary.create_database("oms")
        self.replica_url = self.replica.url("oms")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "oms_project.settings",
            "DATABASE_URL": self.primary_url,
            "SECRET_KEY": "replica-test-only",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "OMS_DEMO_HS256_SECRET": SECRET,
            "OMS_METRICS_PUBLIC": "1",
            "OMS_EVENT_STREAM_URL": "",
            "OMS_AUTH_CACHE_SECONDS": "0",
            "OMS_SECURE_COOKIES": "0",
        }  # the admin over plain http here
        self.env = env
        for args in (["migrate", "--noinput", "-v0"], ["seed_demo"]):
            subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)
        self.caught_up()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "oms_project.wsgi:application"],
            cwd=ROOT,
            env={
                **env,
                "DATABASE_REPLICA_URLS": self.replica_url,
                "OMS_REPLICA_MAX_LAG_SECONDS": str(MAX_LAG),
                "WEB_CONCURRENCY": "1",
                "GUNICORN_BIND": f"127.0.0.1:{self.port}",
                "PROMETHEUS_MULTIPROC_DIR": os.path.join(self.primary.dir, "prom"),
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for _ in range(150):
            if self.get("/readyz")[0] == 200:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("gunicorn never became ready")

    def caught_up(self, timeout: float = 30) -> None:
        target = lsn(self.primary_url, "SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if lsn(self.replica_url, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"):
                return
            time.sleep(0.05)
        raise AssertionError("the replica never caught up")

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.base + path, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except OSError:
            return 0, ""

    def post(self, query: str, variables: dict, bearer: str, headers: dict | None = None) -> tuple[dict, dict]:
        request = urllib.request.Request(
            self.base + "/graphql/",
            json.dumps({"query": query, "variables": variables}).encode(),
            {"Content-Type": "application/json", "Authorization": f"Bearer {bearer}", **(headers or {})},
        )
        with urllib.request.urlopen(request, timeout=20) as response:
            return json.loads(response.read()), dict(response.headers)

    def placed(self, bearer: str, key: str) -> tuple[dict, str]:
        body, _ = self.post(CHECKOUT, {"key": key}, bearer)
        draft = body["data"]["checkoutItems"]["order"]
        body, headers = self.post(PLACE, {"id": draft["id"]}, bearer)
        assert body["data"]["placeOrder"]["errors"] == [], body
        return body["data"]["placeOrder"]["order"], headers["X-Read-After"]

    def admin_session(self):
        """Sign an operator in through the login form; returns a GET that keeps the session."""
        import http.cookiejar
        import re
        import urllib.parse

        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "createsuperuser",
                "--noinput",
                "--username",
                "op",
                "--email",
                "op@example.com",
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
            env={**self.env, "DJANGO_SUPERUSER_PASSWORD": "op-password-long-enough"},
        )
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        form = opener.open(self.base + "/admin/login/", timeout=10).read().decode()
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        data = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": csrf, "username": "op", "password": "op-password-long-enough", "next": "/admin/"}
        ).encode()
        request = urllib.request.Request(self.base + "/admin/login/", data, {"Referer": self.base + "/admin/login/"})
        assert "log out" in opener.open(request, timeout=10).read().decode().lower()
        return lambda path: opener.open(self.base + path, timeout=10).read().decode()

    def reads(self) -> tuple[int, int]:
        """Statements on the order table so far: (primary, replica)."""
        return statements_in(self.primary, "ordering_order"), statements_in(self.replica, "ordering_order")

    def close(self) -> None:
        stop_process(self.server, group=True)
        self.replica.destroy()
        self.primary.destroy()


@pytest.fixture
def stack():
    running = Stack()
    yield running
    running.close()


def metric(stack: Stack, name: str) -> float:
    status, text = stack.get("/metrics")
    assert status == 200
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def test_reads_use_the_replica_follow_the_callers_writes_and_fall_back(stack):
    customer, staff = token("replica-customer", ["customer"]), token("replica-staff", ["staff"])

    # A client reads its own write at once: the primary's position after the write is remembered
    # for its `sub` (one gunicorn worker here), and sent back as X-Read-After for any process.
    order, position = stack.placed(customer, "k-1")
    body, _ = stack.post(ORDER, {"id": order["id"]}, customer)
    assert body["data"]["order"] == {"id": order["id"], "status": "PENDING"}
    body, _ = stack.post(ORDER, {"id": order["id"]}, staff, {"X-Read-After": position})
    assert body["data"]["order"]["status"] == "PENDING"

    # Reads hit the replica: the order table's statements grow there, not on the primary.
    stack.caught_up()
    time.sleep(1.2)  # the health check (once a second) sees the replica caught up
    before = stack.reads()
    for _ in range(5):
        body, _ = stack.post(ORDERS, {}, staff)
        assert body["data"]["orders"]["totalCount"] >= 1
    primary, replica = stack.reads()
    assert primary == before[0] and replica >= before[1] + 5, (before, (primary, replica))
    assert metric(stack, 'oms_replica_reads_total{database="replica_0"}') >= 5

    # The admin's list and detail pages too (an operator, signed in on the primary).
    admin = stack.admin_session()
    before = stack.reads()
    assert order["id"] in admin("/admin/ordering/order/")
    assert order["id"] in admin(f"/admin/ordering/order/{order['id']}/change/")
    primary, replica = stack.reads()
    assert primary == before[0] and replica >= before[1] + 2, (before, (primary, replica))
    # The dashboard reads its rollup there too; an invoice's first request writes, so it runs on
    # the primary although the replica qualifies (docs/documents.md).
    assert 'id="dashboard-data"' in admin("/admin/?tenant=demo")
    body, _ = stack.post(INVOICE, {"id": order["id"]}, staff)
    assert body["data"]["invoice"]["number"] == "INV-000001", body

    # Replay paused: once the lag passes the limit, reads go back to the primary (and see writes).
    with psycopg.connect(stack.replica_url, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    late, _ = stack.placed(customer, "k-2")
    time.sleep(MAX_LAG + 1.5)
    before = stack.reads()
    body, _ = stack.post(ORDER, {"id": late["id"]}, staff)
    assert body["data"]["order"]["status"] == "PENDING", "read from the primary"
    assert stack.reads()[0] > before[0] and stack.reads()[1] == before[1]
    assert metric(stack, 'oms_replica_fallbacks_total{reason="lag"}') >= 1
    assert metric(stack, 'oms_replica_lag_seconds{replica="replica_0"}') > MAX_LAG
    with psycopg.connect(stack.replica_url, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_resume()")

    # Replica stopped: everything still answers, from the primary.
    stack.replica.stop("immediate")
    time.sleep(1.2)  # past the last health check (which still saw it lagging)
    for _ in range(3):
        started = time.perf_counter()
        body, _ = stack.post(ORDERS, {}, staff)
        assert body["data"]["orders"]["totalCount"] >= 2 and time.perf_counter() - started < 2.0
    assert stack.placed(customer, "k-3")[0]["status"] == "PENDING"
    assert metric(stack, 'oms_replica_fallbacks_total{reason="down"}') >= 1


def test_row_level_security_holds_on_the_replica(stack):
    """The tenant role and its policies replicate: a scoped session on the replica sees only its
    tenant's rows, and one without the tenant setting sees none."""
    stack.placed(token("rls-customer", ["customer"]), "k-rls")
    stack.caught_up()
    with psycopg.connect(stack.replica_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM ordering_order").fetchone()[0] >= 1  # the owner sees all
        with conn.transaction():
            conn.execute("SELECT set_config('role', 'oms_tenant', true), set_config('app.tenant_id', 'demo', true)")
            assert conn.execute("SELECT count(*) FROM ordering_order").fetchone()[0] >= 1
        with conn.transaction():
            conn.execute("SELECT set_config('role', 'oms_tenant', true), set_config('app.tenant_id', 'other', true)")
            assert conn.execute("SELECT count(*) FROM ordering_order").fetchone()[0] == 0
