"""`make bench`: the order lifecycle over HTTP against PostgreSQL-backed gunicorn, next to the
raw-SQL limit measured with pgbench in the same run.

    make bench                                  (all of it: lifecycle, placeOrder, pgbench, list)
    BENCH_SECONDS=20 BENCH_CLIENTS=4 BENCH_WORKERS=3 BENCH_LIST_SIZES=10000,1000000 make bench

1. A fresh database `oms_bench` (BENCH_PG, default postgres://postgres@127.0.0.1:5432), migrated,
   with the demo tenant and its snapshots (`seed_demo`; the mug and the kettle get a count of
   100,000,000 units, so every placement reserves them through the conditional UPDATE of
   docs/inventory.md and none runs out), analyzed (`ANALYZE` again after step 3:
   autovacuum is off on this machine's server, see `analyze()`), served by gunicorn with
   `gunicorn.conf.py` (BENCH_WORKERS sync workers, LOG_LEVEL=WARNING).
2. In-process on PostgreSQL: 300 `me` calls and 40 lifecycles through Django's test client after
   a warm-up; wall and CPU p50 and statements (BEGIN, tenant scope and COMMIT included) per
   operation, next to issue 14's targets.
3. Lifecycle: BENCH_CLIENTS separate load processes, each looping checkout -> place -> confirm ->
   ship (two vendors, so two shipOrder calls) for BENCH_SECONDS. Prints orders per second and
   p50/p95/p99 per operation.
4. placeOrder alone: each load process first makes BENCH_DRAFTS drafts, then all place theirs at
   once; placed orders per second, and the CPU each part used per order while they placed (load
   processes, gunicorn, PostgreSQL; from /proc). Then again with gunicorn connected through a
   PgBouncer of its own in transaction mode (`DATABASE_POOLER=transaction`, as many server
   connections as workers; tests/pg_bouncer.py, skipped without Debian's pgbouncer).
5. The raw-SQL limit: `../shared/bench/raw_place.pgbench` (one order, three lines, one outbox
   row per transaction) with pgbench -c 4 -j 2 -T 15 on a database of its own, and the ratio of
   (4) to it.
6. The orders list at each of BENCH_LIST_SIZES orders per tenant (bench/orders_list.py).
7. `export_orders` over BENCH_EXPORT_ORDERS orders (bench/export.py; 0 skips it): time and the
   process's peak memory for CSV, CSV per line and XLSX.
8. The admin's dashboard for a tenant of BENCH_DASHBOARD_ORDERS orders (bench/dashboard.py; 0
   skips it): server time and statements for 30 days and a year.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from common import recreate_database, results_of

ROOT = Path(__file__).resolve().parent.parent
RAW = Path(os.environ.get("BENCH_RAW_DIR") or ROOT.parent / "shared" / "bench")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB_URL = f"{PG}/oms_bench"
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "3"))
DRAFTS = int(os.environ.get("BENCH_DRAFTS", "300"))
LIST_SIZES = os.environ.get("BENCH_LIST_SIZES", "10000,1000000")
EXPORT_ORDERS = int(os.environ.get("BENCH_EXPORT_ORDERS", "1000000"))  # bench/export.py; 0 skips it
DASHBOARD_ORDERS = int(os.environ.get("BENCH_DASHBOARD_ORDERS", "1000000"))  # bench/dashboard.py; 0 skips it
PORT = int(os.environ.get("BENCH_PORT", "8765"))
SECRET = "bench-hs256-secret-" + "x" * 40
TENANT = "demo"

ORDER_FIELDS = "id version status lines { id vendorId } total { amount }"
CHECKOUT = (
    "mutation($items: [CheckoutItemInput!]!, $address: AddressInput!, $customer: CustomerInput, "
    "$shipping: [ShippingOptionSelectionInput!]) { checkoutItems(items: $items, shippingAddress: $address, "
    "customer: $customer, shippingOptions: $shipping) "
    f"{{ order {{ {ORDER_FIELDS} }} errors {{ code message }} }} }}"
)
PLACE = f"mutation($id: ID!) {{ placeOrder(orderId: $id) {{ order {{ {ORDER_FIELDS} }} errors {{ code message }} }} }}"
CONFIRM = (
    "mutation($id: ID!, $payment: PaymentInput!) { confirmOrder(orderId: $id, payment: $payment) "
    f"{{ order {{ {ORDER_FIELDS} }} errors {{ code message }} }} }}"
)
SHIP = (
    "mutation($id: ID!, $carrier: String!, $tracking: String!) { shipOrder(orderId: $id, carrier: $carrier, "
    f"trackingNumber: $tracking) {{ order {{ {ORDER_FIELDS} }} errors {{ code message }} }} }}"
)
ITEMS = [
    {"productId": "prod-mug", "quantity": 1},
    {"productId": "prod-kettle", "quantity": 1},
    {"productId": "prod-lamp", "quantity": 1},
]
ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "US"}
CUSTOMER = {"email": "bench@example.com", "firstName": "Bench", "lastName": "Customer"}
SHIPPING = [
    {"vendorId": "vendor-acme", "shippingOptionId": "ship-acme-std"},
    {"vendorId": "vendor-globex", "shippingOptionId": "ship-globex-std"},
]
NEW_ORDER = {"items": ITEMS, "address": ADDRESS, "customer": CUSTOMER, "shipping": SHIPPING}


def env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": DB_URL,
        "SECRET_KEY": "bench-only",
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "OMS_DEMO_HS256_SECRET": SECRET,
        "OMS_METRICS_PUBLIC": "1",
        **extra,
    }


def token(sub: str, roles: list[str], vendor_id: str | None = None) -> str:
    import jwt

    now = int(time.time())
    claims = {
        "sub": sub,
        "tenant_id": TENANT,
        "roles": roles,
        "iat": now,
        "exp": now + 7200,
        "iss": "oms-demo",
        "aud": "oms",
    }
    if vendor_id:
        claims["vendor_id"] = vendor_id
    return jwt.encode(claims, SECRET, algorithm="HS256")


TOKENS = {
    "customer": token("bench-customer", ["customer"]),
    "staff": token("bench-staff", ["staff"]),
    "vendor-acme": token("bench-acme", ["vendor"], "vendor-acme"),
    "vendor-globex": token("bench-globex", ["vendor"], "vendor-globex"),
}


def lifecycle_calls(call):
    """checkout, place, confirm, ship (each vendor): `call(op, query, variables, role)` -> payload."""
    order = call("checkout", CHECKOUT, NEW_ORDER, "customer")
    order = call("place", PLACE, {"id": order["id"]}, "customer")
    payment = {"method": "card", "reference": "bench", "amount": order["total"]["amount"]}
    call("confirm", CONFIRM, {"id": order["id"], "payment": payment}, "staff")
    for vendor in ("vendor-acme", "vendor-globex"):
        call("ship", SHIP, {"id": order["id"], "carrier": "UPS", "tracking": f"1Z-{vendor}"}, vendor)


# -- the load processes -------------------------------------------------------------------------


class HttpSession:
    """One load process's connection to the server: `http.client`, kept alive when the server
    allows it and reopened when it closes. (`requests` cost about 1.4 ms of CPU per call here,
    taken from the same two cores the server and PostgreSQL run on.)"""

    def __init__(self) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)

    def post(self, payload: dict, token: str) -> tuple[int, dict]:
        self.connection.request(
            "POST",
            "/graphql/",
            json.dumps(payload).encode(),
            {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        response = self.connection.getresponse()
        body = response.read()
        if response.will_close:
            self.connection.close()
        return response.status, json.loads(body)


def _http_caller(session, timings):
    def call(op, query, variables, role):
        started = time.perf_counter()
        _, body = session.post({"query": query, "variables": variables}, TOKENS[role])
        timings.setdefault(op, []).append((time.perf_counter() - started) * 1000)
        payload = next(iter(body["data"].values()))
        if payload["errors"]:
            raise RuntimeError(f"{op}: {payload['errors']}")
        return payload["order"]

    return call


def lifecycle_client(seconds: float, queue) -> None:
    session, timings, orders = HttpSession(), {}, 0
    call = _http_caller(session, timings)
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        lifecycle_calls(call)
        orders += 1
    queue.put((orders, timings))


def floor_client(seconds: float, queue) -> None:
    """The stack's own cost: `{ me { userId } }` authenticates and resolves from the token,
    touching no order table."""
    session, timings, done = HttpSession(), [], 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        status, body = session.post({"query": "{ me { userId } }"}, TOKENS["customer"])
        assert status == 200, body
        timings.append((time.perf_counter() - started) * 1000)
        done += 1
    queue.put((done, timings))


def place_client(drafts: int, barrier, queue) -> None:
    session, timings = HttpSession(), {}
    call = _http_caller(session, timings)
    ids = [call("checkout", CHECKOUT, NEW_ORDER, "customer")["id"] for _ in range(drafts)]
    timings.clear()
    barrier.wait()
    started = time.perf_counter()
    for order_id in ids:
        call("place", PLACE, {"id": order_id}, "customer")
    queue.put((len(ids), time.perf_counter() - started, timings))


def run_clients(target, args_for) -> list:
    queue = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=target, args=(*args_for(), queue)) for _ in range(CLIENTS)]
    for p in processes:
        p.start()
    results = results_of(queue, processes, SECONDS + 600)
    for p in processes:
        p.join()
    return results


def proc_stats() -> dict[int, tuple[str, int, float]]:
    """pid -> (command, parent pid, CPU seconds used) for every process (Linux /proc)."""
    ticks, found = os.sysconf("SC_CLK_TCK"), {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    text = stat.read()
            except OSError:
                continue
            command, rest = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
            found[int(entry)] = (command, int(rest[1]), (int(rest[11]) + int(rest[12])) / ticks)
    return found


def cpu_by_part(server_pid: int, load_pids: list[int]) -> dict[str, float]:
    """CPU seconds used so far by the load processes, gunicorn (master and workers) and
    PostgreSQL (every server process)."""
    stats = proc_stats()
    tree, grew = {server_pid}, True
    while grew:
        more = {pid for pid, (_, parent, _) in stats.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return {
        "load processes": sum(stats[pid][2] for pid in load_pids if pid in stats),
        "gunicorn": sum(stats[pid][2] for pid in tree if pid in stats),
        "PostgreSQL": sum(cpu for command, _, cpu in stats.values() if command.startswith("postgres")),
    }


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


# -- steps ----------------------------------------------------------------------------------------


def setup() -> None:
    recreate_database(DB_URL)
    for args in (["migrate", "--noinput", "-v0"], ["seed_demo"]):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env(), check=True, capture_output=True)
    subprocess.run(
        [
            "psql",
            "-q",
            "-d",
            DB_URL,
            "-c",
            "UPDATE snapshots_product SET available_quantity = 100000000 "
            "WHERE product_id IN ('prod-mug', 'prod-kettle')",
        ],
        check=True,
        capture_output=True,
    )
    analyze()


def analyze() -> None:
    """Table statistics, as autovacuum keeps them on any production server. This machine's shared
    PostgreSQL runs with `autovacuum = off`, so without this a table filled during the run is
    planned as if it were still empty."""
    subprocess.run(["psql", "-q", "-d", DB_URL, "-c", "ANALYZE"], check=True, capture_output=True)


def django_setup() -> None:
    """Django in this process, on `oms_bench` with the benchmark's settings."""
    os.environ.update(
        {k: v for k, v in env().items() if k in ("DATABASE_URL", "SECRET_KEY", "ALLOWED_HOSTS", "LOG_LEVEL", "DEBUG")}
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_project.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# Issue 14's targets: statements (BEGIN, the tenant scope and COMMIT included) and CPU p50 in ms.
TARGETS = {"me": (3, 1.2), "checkout": (8, 5.0), "place": (8, 5.0), "confirm": (6, 4.0), "ship": (6, 4.0)}


def in_process_table(me_calls: int = 300, lifecycles: int = 40, warm_up: int = 5) -> dict[str, tuple]:
    """Each operation through Django's test client in this process, on PostgreSQL: wall and CPU
    p50 (ms) and the statements of the last call, after a warm-up."""
    django_setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    wall: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    counts: dict[str, int] = {}

    def measure(op, query, variables, role):
        with CaptureQueriesContext(connection) as captured:
            started, used = time.perf_counter(), time.process_time()
            response = client.post(
                "/graphql/",
                json.dumps({"query": query, "variables": variables}),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {TOKENS[role]}",
            )
            wall.setdefault(op, []).append((time.perf_counter() - started) * 1000)
            cpu.setdefault(op, []).append((time.process_time() - used) * 1000)
        counts[op] = len(captured)  # the second shipOrder overwrites the first: the one that completes it
        payload = next(iter(response.json()["data"].values()))
        if isinstance(payload, dict) and payload.get("errors"):
            raise RuntimeError(f"{op}: {payload['errors']}")
        return payload.get("order") if isinstance(payload, dict) else payload

    for _ in range(warm_up):
        lifecycle_calls(measure)
        measure("me", "{ me { userId } }", {}, "customer")
    wall.clear()
    cpu.clear()
    for _ in range(me_calls):
        measure("me", "{ me { userId } }", {}, "customer")
    for _ in range(lifecycles):
        lifecycle_calls(measure)
    connection.close()
    return {op: (pct(wall[op], 0.5), pct(cpu[op], 0.5), counts[op]) for op in TARGETS}


def print_in_process_table(table: dict[str, tuple]) -> None:
    print(
        "\nin-process on PostgreSQL (Django test client, one thread, 300 `me` and 40 lifecycles after warm-up; "
        "statements include BEGIN, the tenant scope and COMMIT):"
    )
    print(f"  {'operation':<10} {'wall p50':>9} {'CPU p50':>8} {'SQL':>4}   target (SQL, CPU)")
    for op, (wall_ms, cpu_ms, statements) in table.items():
        limit_sql, limit_cpu = TARGETS[op]
        verdict = "OK" if statements <= limit_sql and cpu_ms <= limit_cpu else "over"
        print(
            f"  {op:<10} {wall_ms:7.1f}ms {cpu_ms:6.2f}ms {statements:4d}"
            f"   <= {limit_sql}, <= {limit_cpu} ms: {verdict}"
        )


def start_server(**extra: str) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "oms_project.wsgi:application"],
        cwd=ROOT,
        env=env(WEB_CONCURRENCY=str(WORKERS), PORT=str(PORT), PROMETHEUS_MULTIPROC_DIR="/tmp/oms-bench-prom", **extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/readyz", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"gunicorn did not become ready: {server.stderr.read().decode()[-2000:]}")


def pgbench() -> float:
    script, schema = RAW / "raw_place.pgbench", RAW / "raw_place_schema.sql"
    if not script.exists():
        raise SystemExit(f"{script} not found (set BENCH_RAW_DIR to the shared bench folder)")
    url = f"{PG}/oms_bench_raw"
    recreate_database(url)
    subprocess.run(["psql", "-q", "-d", url, "-f", str(schema)], check=True, capture_output=True)
    out = subprocess.run(
        ["pgbench", "-n", "-d", url, "-f", str(script), "-c", "4", "-j", "2", "-T", "15"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(re.search(r"tps = ([0-9.]+)", out).group(1))


def place_alone(server: subprocess.Popen, label: str) -> float:
    """Each load process makes its drafts, then all place theirs at once: orders/s, and the CPU
    each part of the stack used from the moment they started placing (this process takes part in
    the barrier to read it)."""
    barrier, queue = multiprocessing.Barrier(CLIENTS + 1), multiprocessing.Queue()
    loaders = [multiprocessing.Process(target=place_client, args=(DRAFTS, barrier, queue)) for _ in range(CLIENTS)]
    for p in loaders:
        p.start()
    barrier.wait()
    cpu_before = cpu_by_part(server.pid, [p.pid for p in loaders])
    placed = [queue.get(timeout=600) for _ in loaders]
    cpu_after = cpu_by_part(server.pid, [p.pid for p in loaders])
    for p in loaders:
        p.join()
    count, wall = sum(r[0] for r in placed), max(r[1] for r in placed)
    place_ms = [v for r in placed for v in r[2]["place"]]
    rate = count / wall
    print(
        f"\n{label}: {count} drafts placed by {CLIENTS} clients in {wall:.1f} s = {rate:.1f} "
        f"orders/s (p50 {pct(place_ms, 0.5):.1f} ms, p95 {pct(place_ms, 0.95):.1f} ms, "
        f"p99 {pct(place_ms, 0.99):.1f} ms)"
    )
    print(
        "  CPU per placed order: "
        + ", ".join(f"{part} {(cpu_after[part] - cpu_before[part]) / count * 1000:.2f} ms" for part in cpu_before)
    )
    return rate


def place_through_pgbouncer() -> float | None:
    """placeOrder alone again, gunicorn connected through a PgBouncer in transaction mode
    (DATABASE_POOLER=transaction: no prepared statements), as many server connections as workers.
    Skipped (None) without Debian's pgbouncer or root."""
    sys.path.insert(0, str(ROOT))
    from tests.pg_bouncer import PgBouncer, unavailable_reason

    if unavailable_reason() is not None:
        print(f"\nplaceOrder through PgBouncer: skipped ({unavailable_reason()})")
        return None
    address = urllib.parse.urlsplit(PG)
    bouncer = PgBouncer(address.port or 5432, pool_size=WORKERS).start()
    server = start_server(DATABASE_URL=bouncer.url("oms_bench"), DATABASE_POOLER="transaction")
    try:
        analyze()
        label = f"placeOrder alone through PgBouncer (transaction mode, {WORKERS} server connections)"
        return place_alone(server, label)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        bouncer.stop()


def main() -> None:
    print(f"make bench: PostgreSQL {PG}, gunicorn {WORKERS} workers, {CLIENTS} load processes, {os.cpu_count()} cores")
    setup()
    table = in_process_table()
    print_in_process_table(table)
    counts = {op: statements for op, (_, _, statements) in table.items()}
    server = start_server()
    try:
        results = run_clients(lifecycle_client, lambda: (SECONDS,))
        orders = sum(r[0] for r in results)
        timings: dict[str, list[float]] = {}
        for _, t in results:
            for op, values in t.items():
                timings.setdefault(op, []).extend(values)
        print(
            f"\nlifecycle for {SECONDS:.0f} s: {orders} orders checked out, placed, confirmed and shipped "
            f"= {orders / SECONDS:.1f} orders/s ({sum(map(len, timings.values())) / SECONDS:.0f} requests/s)"
        )
        print(f"  {'operation':<10} {'calls':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'SQL':>4}")
        for op in ("checkout", "place", "confirm", "ship"):
            v = timings[op]
            print(f"  {op:<10} {len(v):6d} {pct(v, 0.5):8.1f} {pct(v, 0.95):8.1f} {pct(v, 0.99):8.1f} {counts[op]:4d}")

        analyze()  # the orders the lifecycle made (autovacuum's job; see analyze())
        place_rate = place_alone(server, "placeOrder alone")
        floor = run_clients(floor_client, lambda: (SECONDS / 2,))
        floor_rate = sum(r[0] for r in floor) / (SECONDS / 2)
        floor_ms = [v for r in floor for v in r[1]]
        print(
            f"the stack's floor, `{{ me {{ userId }} }}` (authentication, no order work): {floor_rate:.0f} requests/s "
            f"(p50 {pct(floor_ms, 0.5):.1f} ms, p99 {pct(floor_ms, 0.99):.1f} ms)"
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    pooled_rate = place_through_pgbouncer()

    tps = pgbench()
    print(f"raw-SQL limit ({RAW / 'raw_place.pgbench'}, pgbench -c 4 -j 2 -T 15): {tps:.0f} tps")
    print(f"placeOrder ratio: {place_rate:.1f} / {tps:.0f} = {place_rate / tps:.3f} (target 0.10)")
    print(f"floor ratio (the same stack answering `me`): {floor_rate:.0f} / {tps:.0f} = {floor_rate / tps:.3f}")
    if pooled_rate:
        ratio = pooled_rate / tps
        print(f"placeOrder through PgBouncer: {pooled_rate:.1f} / {tps:.0f} = {ratio:.3f} (direct {place_rate:.1f})")

    # The benches of their own, each a process with its database: (title, script, run it, environment).
    followers = [
        (
            f"orders list at {LIST_SIZES} orders per tenant",
            "orders_list.py",
            LIST_SIZES,
            {"DATABASE_URL": f"{PG}/oms_bench_list", "BENCH_SIZES": LIST_SIZES},
        ),
        (
            f"export_orders over {EXPORT_ORDERS:,} orders",
            "export.py",
            EXPORT_ORDERS,
            {"BENCH_EXPORT_ORDERS": str(EXPORT_ORDERS)},
        ),
        (
            f"the admin's dashboard at {DASHBOARD_ORDERS:,} orders",
            "dashboard.py",
            DASHBOARD_ORDERS,
            {"BENCH_DASHBOARD_ORDERS": str(DASHBOARD_ORDERS)},
        ),
    ]
    for title, script, wanted, env in followers:
        if wanted:
            print(f"\n{title} (bench/{script}):", flush=True)
            subprocess.run([sys.executable, f"bench/{script}"], cwd=ROOT, check=True, env={**os.environ, **env})


if __name__ == "__main__":
    main()
