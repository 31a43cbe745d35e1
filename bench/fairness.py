"""`make bench-fairness`: the noisy-neighbour benchmark (docs/performance.md, "Fair share").

    make bench-fairness
    FAIR_SECONDS=20 FAIR_LOUD_CLIENTS=96 FAIR_RELAY_EVENTS=200000 make bench-fairness

On PostgreSQL (BENCH_PG), behind gunicorn started by `gunicorn.conf.py` with its default worker
count and nothing else configured (admission on with its defaults, the machine-local store):

1. Two tenants, `quiet` and `loud`, seeded by `seed_demo` on a fresh database `oms_bench_fair`.
2. The quiet tenant alone: one client starting an order (checkoutItems, then placeOrder) every
   100 ms; p50 / p99 per call and errors.
3. The loud tenant alone (the quiet one not served for the last 2.5 s): 8 clients placing orders
   back to back (checkout + place), waiting as told by `Retry-After` when refused, as a retrying
   storefront client does; orders per second. Then the same with `OMS_ADMISSION=off` (the server
   restarted with it), and both once more in the other order; the means are compared.
4. The flood: the loud tenant's FAIR_LOUD_CLIENTS clients (96) as in 3, and the quiet client as
   in 2, at once: the quiet tenant's p50 / p99 and errors, the loud tenant's orders per second,
   its 429s, and any 5xx or timeout. Then the same flood with `OMS_ADMISSION=off`, for comparison.
5. In-process: the CPU of one refused API call (429 OVER_SHARE) through Django's WSGI handler, as
   gunicorn calls it (`time.thread_time`, the mean of 3,000), next to one `{ me }` served.
6. The relay: tenant A with FAIR_RELAY_EVENTS (200,000) events waiting in the outbox, each for
   A's one subscription, then tenant B places an order: the delay from B's answer to B's
   subscriber receiving `order.placed`, with A's subscriber answering at once, then taking 10 s
   per delivery.

Load clients are threads in FAIR_PROCESSES (8) processes, each with its own connection.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from common import recreate_database, results_of

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB_URL = f"{PG}/oms_bench_fair"
SECONDS = float(os.environ.get("FAIR_SECONDS", "20"))
LOUD_CLIENTS = int(os.environ.get("FAIR_LOUD_CLIENTS", "96"))
SOLO_CLIENTS = 8
PROCESSES = int(os.environ.get("FAIR_PROCESSES", "8"))
RELAY_EVENTS = int(os.environ.get("FAIR_RELAY_EVENTS", "200000"))
PORT = int(os.environ.get("BENCH_PORT", "8766"))
SECRET = "bench-hs256-secret-" + "x" * 40
QUIET, LOUD = "quiet", "loud"
ACTIVE_WINDOW = 2.5  # a little over the seconds a tenant counts as being served (oms_project/admission)

ORDER_FIELDS = "id version status total { amount }"
CHECKOUT = (
    "mutation($items: [CheckoutItemInput!]!, $address: AddressInput!, $customer: CustomerInput, "
    "$shipping: [ShippingOptionSelectionInput!]) { checkoutItems(items: $items, shippingAddress: $address, "
    f"customer: $customer, shippingOptions: $shipping) {{ order {{ {ORDER_FIELDS} }} errors {{ code message }} }} }}"
)
PLACE = f"mutation($id: ID!) {{ placeOrder(orderId: $id) {{ order {{ {ORDER_FIELDS} }} errors {{ code message }} }} }}"
NEW_ORDER = {
    "items": [{"productId": "prod-mug", "quantity": 1}, {"productId": "prod-kettle", "quantity": 1}],
    "address": {"line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "US"},
    "customer": {"email": "bench@example.com", "firstName": "Bench", "lastName": "Customer"},
    "shipping": [{"vendorId": "vendor-acme", "shippingOptionId": "ship-acme-std"}],
}


def env(**extra: str) -> dict[str, str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OMS_ADMISSION", "OMS_RATE_LIMIT", "OMS_SERVING", "WEB_CONCURRENCY"))
    }
    return {
        **base,
        "DATABASE_URL": DB_URL,
        "SECRET_KEY": "bench-only",
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "OMS_DEMO_HS256_SECRET": SECRET,
        "OMS_METRICS_PUBLIC": "1",
        **extra,
    }


def token(tenant: str, sub: str) -> str:
    import jwt

    now = int(time.time())
    return jwt.encode(
        {
            "sub": sub,
            "tenant_id": tenant,
            "roles": ["customer"],
            "iat": now,
            "exp": now + 7200,
            "iss": "oms-demo",
            "aud": "oms",
        },
        SECRET,
        algorithm="HS256",
    )


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


# -- clients --------------------------------------------------------------------------------------


class Client:
    """One storefront client: its own token and connection; on 429 it waits `Retry-After`."""

    def __init__(self, tenant: str, sub: str) -> None:
        self.token = token(tenant, sub)
        self.connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        self.timings: list[float] = []
        self.orders = self.refused = self.errors = self.server_errors = self.timeouts = 0

    def call(self, query: str, variables: dict) -> dict | None:
        """The mutation's payload, or None when refused (after waiting as told) or failed."""
        started = time.perf_counter()
        try:
            self.connection.request(
                "POST",
                "/graphql/",
                json.dumps({"query": query, "variables": variables}).encode(),
                {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
            )
            response = self.connection.getresponse()
            body = response.read()
            if response.will_close:
                self.connection.close()
        except (TimeoutError, OSError):
            self.connection.close()
            self.timeouts += 1
            return None
        self.timings.append((time.perf_counter() - started) * 1000)
        if response.status == 429:
            self.refused += 1
            time.sleep(float(response.headers.get("Retry-After", "1")))
            return None
        if response.status >= 500:
            self.server_errors += 1
            return None
        payload = next(iter(json.loads(body)["data"].values())) if response.status == 200 else None
        if payload is None or payload["errors"]:
            self.errors += 1
            return None
        return payload["order"]

    def order(self) -> bool:
        draft = self.call(CHECKOUT, NEW_ORDER)
        if draft is None:
            return False
        placed = self.call(PLACE, {"id": draft["id"]})
        if placed is not None:
            self.orders += 1
        return placed is not None

    def summary(self) -> dict:
        return {
            "timings": self.timings,
            "orders": self.orders,
            "refused": self.refused,
            "errors": self.errors,
            "server_errors": self.server_errors,
            "timeouts": self.timeouts,
        }


def loud_process(first: int, count: int, seconds: float, queue) -> None:
    clients = [Client(LOUD, f"loud-{first + i}") for i in range(count)]
    deadline = time.perf_counter() + seconds

    def loop(client: Client) -> None:
        while time.perf_counter() < deadline:
            try:
                client.order()
            except Exception as error:  # counted, and the client goes on (a broken answer)
                client.errors += 1
                print(f"loud client: {type(error).__name__}: {error}", file=sys.stderr)

    threads = [threading.Thread(target=loop, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put(("loud", [c.summary() for c in clients]))


def quiet_process(seconds: float, queue) -> None:
    client = Client(QUIET, "quiet-1")
    deadline = time.perf_counter() + seconds
    next_start = time.perf_counter()
    while next_start < deadline:
        time.sleep(max(0.0, next_start - time.perf_counter()))
        try:
            client.order()
        except Exception as error:
            client.errors += 1
            print(f"quiet client: {type(error).__name__}: {error}", file=sys.stderr)
        next_start += 0.1
    queue.put(("quiet", [client.summary()]))


def run(loud_clients: int, quiet: bool, seconds: float = SECONDS) -> dict:
    queue = multiprocessing.Queue()
    processes = []
    if loud_clients:
        per = max(1, -(-loud_clients // PROCESSES))
        for first in range(0, loud_clients, per):
            processes.append(
                multiprocessing.Process(
                    target=loud_process, args=(first, min(per, loud_clients - first), seconds, queue)
                )
            )
    if quiet:
        processes.append(multiprocessing.Process(target=quiet_process, args=(seconds, queue)))
    started = time.perf_counter()
    for p in processes:
        p.start()
    results = results_of(queue, processes, seconds + 300)
    elapsed = time.perf_counter() - started
    for p in processes:
        p.join()
    quiet_result = next((batch for kind, batch in results if kind == "quiet"), None)
    loud = [s for kind, batch in results if kind == "loud" for s in batch]
    out = {"elapsed": elapsed}
    if loud:
        out["loud_orders_per_s"] = sum(s["orders"] for s in loud) / seconds
        out["loud_refused"] = sum(s["refused"] for s in loud)
        out["loud_5xx"] = sum(s["server_errors"] for s in loud)
        out["loud_timeouts"] = sum(s["timeouts"] for s in loud)
        out["loud_errors"] = sum(s["errors"] for s in loud)
    if quiet_result:
        q = quiet_result[0]
        out.update(
            quiet_p50=pct(q["timings"], 0.5),
            quiet_p99=pct(q["timings"], 0.99),
            quiet_calls=len(q["timings"]),
            quiet_slowest=sorted(q["timings"])[-5:],
            quiet_orders=q["orders"],
            quiet_errors=q["errors"] + q["server_errors"] + q["timeouts"] + q["refused"],
        )
    return out


# -- the server -----------------------------------------------------------------------------------


def setup() -> None:
    recreate_database(DB_URL)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env(),
        check=True,
        capture_output=True,
    )
    for tenant in (QUIET, LOUD, "relay-a", "relay-b"):
        subprocess.run(
            [sys.executable, "manage.py", "seed_demo", "--tenant", tenant],
            cwd=ROOT,
            env=env(),
            check=True,
            capture_output=True,
        )
    subprocess.run(
        ["psql", "-q", "-d", DB_URL, "-c", "UPDATE snapshots_product SET available_quantity = 100000000; ANALYZE"],
        check=True,
        capture_output=True,
    )


def start_server(**extra: str) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "oms_project.wsgi:application"],
        cwd=ROOT,
        env=env(
            PORT=str(PORT),
            GUNICORN_BIND=f"127.0.0.1:{PORT}",
            PROMETHEUS_MULTIPROC_DIR="/tmp/oms-bench-fair-prom",
            **extra,
        ),
        stdout=subprocess.DEVNULL,
        stderr=open("/tmp/oms-bench-fair-gunicorn.log", "ab"),  # noqa: SIM115 (the server outlives this call)
        start_new_session=True,
    )
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/readyz", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not become ready: see /tmp/oms-bench-fair-gunicorn.log")


def stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(30)


def workers_of(server: subprocess.Popen) -> int:
    return len([p for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == server.pid])


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except OSError:
        return -1
    return int(text[text.rindex(")") + 2 :].split()[1])


# -- in-process: what a refusal costs -------------------------------------------------------------


def refusal_cost(calls: int = 3000) -> tuple[float, float]:
    """CPU ms (thread time, mean) of one refused call and of one `{ me }` served, in-process
    through Django's WSGI handler, as gunicorn calls it (every middleware and the view)."""
    os.environ.update(
        {k: v for k, v in env().items() if k in ("DATABASE_URL", "SECRET_KEY", "ALLOWED_HOSTS", "LOG_LEVEL", "DEBUG")}
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_project.settings")
    sys.path.insert(0, str(ROOT))
    import io
    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)  # the access line and the refusal warning are not the cost measured
    from django.core.handlers.wsgi import WSGIHandler

    from oms_project.kernel import admission

    app, body = WSGIHandler(), json.dumps({"query": "{ me { userId } }"}).encode()
    authorization = f"Bearer {token(QUIET, 'probe')}"

    def call() -> str:
        status = []
        answer = app(
            {
                "REQUEST_METHOD": "POST",
                "PATH_INFO": "/graphql/",
                "SERVER_NAME": "127.0.0.1",
                "SERVER_PORT": "8000",
                "HTTP_HOST": "127.0.0.1",
                "CONTENT_TYPE": "application/json",
                "CONTENT_LENGTH": str(len(body)),
                "HTTP_AUTHORIZATION": authorization,
                "wsgi.input": io.BytesIO(body),
                "wsgi.url_scheme": "http",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "REMOTE_ADDR": "127.0.0.1",
            },
            lambda line, headers: status.append(line),
        )
        b"".join(answer)
        answer.close()
        return status[0][:3]

    def measure(expected: str) -> float:
        for _ in range(200):  # warm: caches, connections, the allocator
            assert call() == expected
        started = time.thread_time()
        for _ in range(calls):
            call()
        return (time.thread_time() - started) * 1000 / calls

    served = measure("200")
    lane = admission.lane()
    limits = lane.limits_of(QUIET)
    for i in range(lane.capacity):  # every slot the tenant may hold, held elsewhere
        lane.store.admit(QUIET, "elsewhere", f"held-{i}", limits, 10_000)
    refused = measure("429")
    return refused, served


# -- the relay ------------------------------------------------------------------------------------


class Receiver:
    """A subscriber: records when each event arrives; `delay` seconds per delivery."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.arrivals: dict[str, float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.delay:
                    time.sleep(receiver.delay)
                event = json.loads(body)
                receiver.arrivals.setdefault(f"{event.get('type')}:{event.get('aggregate_id')}", time.time())
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()


def psql(sql: str) -> str:
    return subprocess.run(
        ["psql", "-qAt", "-d", DB_URL, "-c", sql], check=True, capture_output=True, text=True
    ).stdout.strip()


def relay_delay(slow_seconds: float) -> tuple[float, int]:
    """B's order.placed delivery delay (s) while A has RELAY_EVENTS events waiting; A's waiting
    events when B's arrived."""
    a_receiver, b_receiver = Receiver(delay=slow_seconds), Receiver()
    psql("TRUNCATE webhooks_delivery_attempt, webhooks_delivery, webhooks_subscription, ordering_outbox_event")
    for tenant, receiver in (("relay-a", a_receiver), ("relay-b", b_receiver)):
        psql(
            f"INSERT INTO webhooks_subscription (id, tenant_id, url, secret, event_types, active, description, "
            f"created_at) VALUES (gen_random_uuid(), '{tenant}', '{receiver.url}', 'whsec_{'x' * 32}', '[]', true, "
            f"'', now())"
        )
    # A's backlog: RELAY_EVENTS copies of one real event of A's, written straight into the outbox.
    a = Client("relay-a", "relay-a-customer")
    a.order()
    psql(f"""INSERT INTO ordering_outbox_event (tenant_id, event_id, type, aggregate_id, sequence, occurred_at,
                 correlation_id, data, created_at, trace_parent)
             SELECT tenant_id, gen_random_uuid(), type, gen_random_uuid(), 1, now(), correlation_id, data, now(), ''
               FROM ordering_outbox_event, generate_series(1, {RELAY_EVENTS})
              WHERE tenant_id = 'relay-a' AND type = 'order.placed' LIMIT {RELAY_EVENTS}; ANALYZE""")
    relay = subprocess.Popen(
        [sys.executable, "manage.py", "relay_events"],
        cwd=ROOT,
        env=env(OMS_WEBHOOK_ALLOW_HTTP="1", OMS_WEBHOOK_ALLOWED_DESTINATIONS="127.0.0.1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        time.sleep(3)  # the relay is busy with A's backlog
        b = Client("relay-b", "relay-b-customer")
        draft = b.call(CHECKOUT, NEW_ORDER)
        placed = b.call(PLACE, {"id": draft["id"]})
        answered = time.time()
        key = f"order.placed:{placed['id']}"
        while key not in b_receiver.arrivals and time.time() - answered < 120:
            time.sleep(0.01)
        delay = b_receiver.arrivals.get(key, float("inf")) - answered
        waiting = int(
            psql("SELECT count(*) FROM ordering_outbox_event WHERE tenant_id = 'relay-a' AND dispatched_at IS NULL")
        ) + int(psql("SELECT count(*) FROM webhooks_delivery WHERE tenant_id = 'relay-a' AND status = 'PENDING'"))
        return delay, waiting
    finally:
        os.killpg(relay.pid, signal.SIGKILL)
        relay.wait()
        a_receiver.close()
        b_receiver.close()


def main() -> None:
    os.chdir(ROOT)
    print(
        f"make bench-fairness: PostgreSQL {PG}, gunicorn.conf.py defaults, {os.cpu_count()} cores, "
        f"{SECONDS:.0f} s a phase, {LOUD_CLIENTS} loud clients"
    )
    setup()
    rows = []
    alone_on, alone_off = [], []
    server = start_server()
    print(f"gunicorn: {workers_of(server)} workers")
    try:
        run(SOLO_CLIENTS, True, 3)  # warm-up: every worker has its connection and its caches
        quiet_alone = run(0, True)
        rows.append(("quiet alone", quiet_alone))
        time.sleep(ACTIVE_WINDOW)  # the quiet tenant is no longer being served: the loud one is alone
        alone_on.append(run(SOLO_CLIENTS, False))
        rows.append((f"loud alone ({SOLO_CLIENTS} clients)", alone_on[-1]))
        flood = run(LOUD_CLIENTS, True)
        rows.append((f"flood ({LOUD_CLIENTS} loud clients) + quiet", flood))
    finally:
        stop(server)
    server = start_server(OMS_ADMISSION="off")
    try:
        run(SOLO_CLIENTS, True, 3)
        alone_off.append(run(SOLO_CLIENTS, False))
        rows.append((f"loud alone ({SOLO_CLIENTS}), admission off", alone_off[-1]))
        flood_off = run(LOUD_CLIENTS, True)
        rows.append(("flood + quiet, admission off", flood_off))
    finally:
        stop(server)
    # The tenant alone once more each way, the other way round (the machine drifts over a run).
    for extra, into, name in (({"OMS_ADMISSION": "off"}, alone_off, "admission off"), ({}, alone_on, "admission on")):
        server = start_server(**extra)
        try:
            run(SOLO_CLIENTS, False, 3)
            time.sleep(ACTIVE_WINDOW)
            into.append(run(SOLO_CLIENTS, False))
            rows.append((f"loud alone ({SOLO_CLIENTS}), {name}, again", into[-1]))
        finally:
            stop(server)
    loud_alone = {"loud_orders_per_s": sum(r["loud_orders_per_s"] for r in alone_on) / len(alone_on)}
    loud_off = {"loud_orders_per_s": sum(r["loud_orders_per_s"] for r in alone_off) / len(alone_off)}

    print()
    print(
        f"{'phase':44} {'quiet p50':>10} {'quiet p99':>10} {'q. errors':>9} {'loud ord/s':>10} "
        f"{'loud 429':>9} {'5xx':>5} {'timeouts':>8}"
    )
    for name, r in rows:
        q = lambda k, f="{:.1f}", r=r: f.format(r[k]) if k in r else "-"
        print(
            f"{name:44} {q('quiet_p50'):>10} {q('quiet_p99'):>10} {q('quiet_errors', '{}'):>9} "
            f"{q('loud_orders_per_s'):>10} {q('loud_refused', '{}'):>9} {q('loud_5xx', '{}'):>5} "
            f"{q('loud_timeouts', '{}'):>8}"
        )
    target = 3 * quiet_alone["quiet_p99"] + 10
    print()
    print(
        f"quiet p99 under the flood: {flood['quiet_p99']:.1f} ms (target <= 3 x {quiet_alone['quiet_p99']:.1f} + 10 = "
        f"{target:.1f} ms; admission off: {flood_off['quiet_p99']:.1f} ms)"
    )
    print(
        f"loud orders/s under the flood: {flood['loud_orders_per_s']:.1f} = "
        f"{flood['loud_orders_per_s'] / loud_alone['loud_orders_per_s']:.0%} of alone (the mean of its two runs, "
        f"{loud_alone['loud_orders_per_s']:.1f}; target >= 50%)"
    )
    print(
        f"loud alone with admission: {loud_alone['loud_orders_per_s']:.1f} orders/s = "
        f"{loud_alone['loud_orders_per_s'] / loud_off['loud_orders_per_s']:.0%} of admission off "
        f"({loud_off['loud_orders_per_s']:.1f}, the mean of two runs each; target >= 80%)"
    )

    server = start_server()
    try:
        refused, served = refusal_cost()
    finally:
        stop(server)
    print(
        f"in-process CPU per call: a refused call (429 OVER_SHARE) {refused:.3f} ms, a served {{ me }} {served:.3f} ms "
        "(target: a refusal < 0.3 ms)"
    )

    server = start_server()
    try:
        for slow in (0.0, 10.0):
            delay, waiting = relay_delay(slow)
            print(
                f"relay: tenant B's order.placed delivered {delay:.2f} s after its answer, with tenant A's "
                f"subscriber {'taking 10 s a delivery' if slow else 'answering at once'} and {waiting:,} of A's "
                f"events still waiting (target <= 2 s)"
            )
    finally:
        stop(server)


if __name__ == "__main__":
    main()
