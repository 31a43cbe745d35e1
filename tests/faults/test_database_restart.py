"""PostgreSQL restarts in the middle of a sale (issue 15, docs/production.md "Failure modes").

A cluster of the test's own (tests/pg_cluster.py) serves gunicorn and the relay; client threads
check out and place orders with idempotency keys, retrying what failed with the same key. The
cluster is stopped mid-load (`fast`, then `immediate`) and started again. While it is down every
request answers 503 DATABASE_UNAVAILABLE within a second and /readyz says 503; afterwards the
same processes serve again, every client has exactly one order per key with a number of its own,
and every event reaches the subscriber once the relay catches up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.conftest import free_port
from tests.demo_stack import LAMP_CHECKOUT, demo_token, stop_process
from tests.pg_cluster import PgCluster, unavailable_reason
from tests.webhooks.receiver import Receiver

ROOT = Path(__file__).resolve().parent.parent.parent
SECRET = "restart-test-hs256-secret-" + "x" * 40
pytestmark = [
    pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason())),
    # Its own cluster, whatever the suite's database: once per CI run is enough, in the PostgreSQL pass.
    pytest.mark.skipif(connection.vendor != "postgresql", reason="runs in the PostgreSQL pass of the suite"),
]

CHECKOUT = LAMP_CHECKOUT
PLACE = (
    "mutation($id: ID!, $key: String!) { placeOrder(orderId: $id, idempotencyKey: $key) "
    "{ order { id number status } errors { code message } } }"
)


def token(sub: str, roles: list[str]) -> str:
    return demo_token(SECRET, sub, roles)


def environment(url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms_project.settings",
        "DATABASE_URL": url,
        "SECRET_KEY": "restart-test-only",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "OMS_DEMO_HS256_SECRET": SECRET,
        "OMS_METRICS_PUBLIC": "1",
        "OMS_WEBHOOK_ALLOW_HTTP": "1",
        "OMS_WEBHOOK_ALLOWED_DESTINATIONS": "127.0.0.1",
        "OMS_RELAY_BACKOFF_BASE_SECONDS": "0.2",
        "OMS_RELAY_BACKOFF_CAP_SECONDS": "1",
        # Deliveries in flight when the database went away are claimed again when their lease
        # ends (3 x this timeout + 5 s: 35 s by default); the local subscriber answers at once.
        "OMS_RELAY_TIMEOUT_SECONDS": "2",
        "OMS_EVENT_STREAM_URL": "",
        **extra,
    }


def manage(env: dict, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


class Stack:
    """The cluster, gunicorn (2 workers), one relay and a subscriber."""

    def __init__(self) -> None:
        self.url, self.dir = self.start_database()
        self.env = environment(self.url, **self.extra_environment())
        manage(self.env, "migrate", "--noinput", "-v0")
        manage(self.env, "seed_demo")
        self.receiver = Receiver("whsec_placeholder")
        secret = manage(self.env, "subscriptions", "demo", "add", self.receiver.url).strip().splitlines()[-1]
        self.receiver.secret = secret
        self.prepare()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "oms_project.wsgi:application"],
            cwd=ROOT,
            env={
                **self.env,
                "WEB_CONCURRENCY": "2",
                "GUNICORN_BIND": f"127.0.0.1:{self.port}",
                "PROMETHEUS_MULTIPROC_DIR": os.path.join(self.dir, "prom"),
            },
            stdout=subprocess.DEVNULL,
            stderr=self._log("gunicorn"),  # a file: a pipe nobody reads would fill and block the workers
            start_new_session=True,
        )
        self.relay = subprocess.Popen(
            [sys.executable, "manage.py", "relay_events", "--poll-seconds", "0.5"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self._log("relay"),
        )
        for _ in range(150):
            if self.get("/readyz")[0] == 200:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("gunicorn never became ready")

    def start_database(self) -> tuple[str, str]:
        """The database the stack serves from: its URL, and a directory for the stack's files."""
        self.cluster = PgCluster().init()
        self.cluster.start()
        return self.cluster.create_database("oms"), self.cluster.dir

    def extra_environment(self) -> dict[str, str]:
        return {}

    def _log(self, name: str):
        return open(os.path.join(self.dir, f"{name}.log"), "w")

    def destroy_database(self) -> None:
        self.cluster.destroy()

    def prepare(self) -> None:
        """More set-up before gunicorn and the relay start (the pooler test's second tenant)."""

    def get(self, path: str) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(self.base + path, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")
        except OSError:
            return 0, {}

    def post(self, query: str, variables: dict, bearer: str) -> tuple[int, dict, float]:
        request = urllib.request.Request(
            self.base + "/graphql/",
            json.dumps({"query": query, "variables": variables}).encode(),
            {"Content-Type": "application/json", "Authorization": f"Bearer {bearer}"},
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, json.loads(response.read()), time.perf_counter() - started
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}"), time.perf_counter() - started
        except OSError:
            return 0, {}, time.perf_counter() - started

    def webhook(self) -> tuple[int, dict]:
        """A snapshot webhook (the tenant and its secrets are looked up before the signature)."""
        request = urllib.request.Request(
            self.base + "/webhooks/demo/",
            b'{"type": "vendor.upserted", "data": {}}',
            {"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def close(self) -> None:
        stop_process(self.relay)
        stop_process(self.server, group=True)
        self.receiver.stop()
        self.print_errors()
        self.destroy_database()

    def print_errors(self) -> None:
        """The processes' errors, before their directory goes: pytest shows a test's captured
        output only when it failed, and a 500 is explained by the traceback logged beside it."""
        for log in sorted(Path(self.dir).glob("*.log")):
            errors = [
                line
                for line in log.read_text(errors="replace").splitlines()
                if '"level": "ERROR"' in line and '"status_code": 503' not in line  # not the outage's own 503s
            ]
            for line in errors[-20:]:
                try:
                    entry = json.loads(line)
                except ValueError:
                    print(f"{log.name}: {line[-4000:]}")
                    continue
                # The traceback's end: the frames that raised, under the message.
                print(f"{log.name}: {entry.get('message')}\n{(entry.get('exc_info') or '')[-4000:]}")


@pytest.fixture
def stack():
    running = Stack()
    yield running
    running.close()


class Shopper(threading.Thread):
    """Checks out and places, one key per order, retrying a failed call with the same key."""

    retry_seconds = 0.2
    silence_is_unexpected = False  # a call nobody answered (status 0): retried, or also reported

    def __init__(self, stack: Stack, name: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.stack, self.label, self.stop = stack, name, stop
        self.bearer = token(f"shopper-{name}", ["customer"])
        self.orders: dict[str, dict] = {}  # checkout key -> placed order
        self.unavailable: list[float] = []  # how long each 503 took
        self.unexpected: list[tuple[int, dict]] = []

    def call(self, query: str, variables: dict) -> dict:
        while True:
            status, body, took = self.stack.post(query, variables, self.bearer)
            self.heard(status)
            if status == 200 and "data" in body:
                payload = next(iter(body["data"].values()))
                if payload["errors"]:
                    self.unexpected.append((status, body))
                return payload
            if status == 503 and body["errors"][0]["extensions"]["code"] == "DATABASE_UNAVAILABLE":
                self.unavailable.append(took)
            elif status != 0 or self.silence_is_unexpected:
                self.unexpected.append((status, body))
                if len(self.unexpected) > 20:
                    raise RuntimeError("too many unexpected answers")  # ends the thread; the test reports them
            time.sleep(self.retry_seconds)  # and again, with the same key

    def heard(self, status: int) -> None:
        """Each answer as it comes (a subclass may note it)."""

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            key = f"{self.label}-{n}"
            draft = self.call(CHECKOUT, {"key": key})["order"]
            self.orders[key] = self.call(PLACE, {"id": draft["id"], "key": f"place-{key}"})["order"]
            n += 1


def test_orders_survive_postgresql_restarts_mid_load(stack):
    stop = threading.Event()
    shoppers = [Shopper(stack, name, stop) for name in ("a", "b", "c")]
    for shopper in shoppers:
        shopper.start()
    staff = token("staff-1", ["staff"])
    outages = []
    for mode in ("fast", "immediate"):
        time.sleep(2)
        stack.cluster.stop(mode)
        time.sleep(0.5)
        status, body, took = stack.post("{ me { userId } }", {}, staff)
        outages.append((mode, status, body, took, stack.get("/readyz"), stack.webhook()))
        time.sleep(2)
        stack.cluster.start()
    time.sleep(2)
    stop.set()
    for shopper in shoppers:
        shopper.join(timeout=60)
        assert not shopper.is_alive()

    for mode, status, body, took, (ready_status, ready), (hook_status, hook) in outages:
        assert status == 503 and body["errors"][0]["extensions"]["code"] == "DATABASE_UNAVAILABLE", (mode, body)
        assert took < 1.0, (mode, took)
        assert ready_status == 503 and ready["database"] == "unreachable", (mode, ready)
        # An upstream system's webhook is told to retry (api.md: 503 DATABASE_UNAVAILABLE).
        assert hook_status == 503 and hook["code"] == "DATABASE_UNAVAILABLE", (mode, hook)
    # The same gunicorn serves again (no restart), and so does the relay.
    assert stack.server.poll() is None and stack.relay.poll() is None
    assert stack.get("/readyz")[0] == 200
    assert all(not s.unexpected for s in shoppers), [s.unexpected[:3] for s in shoppers]
    assert sum(len(s.unavailable) for s in shoppers) > 0  # the clients did meet the outages
    assert max(t for s in shoppers for t in s.unavailable) < 1.0

    placed = {key: order for s in shoppers for key, order in s.orders.items()}
    assert len(placed) >= 6 and all(order["status"] == "PENDING" for order in placed.values())
    numbers = [order["number"] for order in placed.values()]
    assert len(set(numbers)) == len(numbers)
    with psycopg.connect(stack.url) as conn:
        orders = conn.execute(
            "SELECT count(*), count(DISTINCT number), count(number) FROM ordering_order "
            "WHERE customer_user_id LIKE 'shopper-%'"
        ).fetchone()
        events = {
            str(row[0])
            for row in conn.execute(
                "SELECT event_id FROM ordering_outbox_event e JOIN ordering_order o ON o.id = e.aggregate_id "
                "WHERE o.customer_user_id LIKE 'shopper-%'"
            )
        }
        placed_events = conn.execute(
            "SELECT count(*) FROM ordering_outbox_event WHERE type = 'order.placed' AND aggregate_id IN "
            "(SELECT id FROM ordering_order WHERE customer_user_id LIKE 'shopper-%')"
        ).fetchone()[0]
    # One order per key (a retried checkout or placement found the first), one number each.
    assert orders == (len(placed), len(placed), len(placed))
    assert placed_events == len(placed)
    # Every event reaches the subscriber once the relay has caught up.
    deadline = time.time() + 60
    while time.time() < deadline and not events <= {r["event"]["id"] for r in stack.receiver.received}:
        time.sleep(0.5)
    assert events <= {r["event"]["id"] for r in stack.receiver.received}
