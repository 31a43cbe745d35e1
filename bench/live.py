"""`make bench-live`: live order status with 2,000 subscriptions open on one ASGI process.

    make bench-live
    BENCH_SUBSCRIPTIONS=2000 BENCH_SECONDS=20 BENCH_CLIENTS=2 BENCH_LIVE_SOURCE=outbox|stream make bench-live

1. A fresh database `oms_bench_live` (BENCH_PG), migrated, with two tenants (`demo`, `demo2`)
   seeded by `seed_demo` (stock raised so nothing runs out).
2. One ASGI process (`uvicorn oms_project.asgi:application`, as production runs it) serving
   subscriptions, and gunicorn (`gunicorn.conf.py`, BENCH_WORKERS workers) serving the API. With
   BENCH_LIVE_SOURCE=stream (and BENCH_NATS), a relay process publishes the outbox to NATS and the
   ASGI process reads the stream; by default it reads the outbox (LISTEN/NOTIFY).
3. BENCH_SUBSCRIPTIONS WebSocket connections (graphql-transport-ws), one subscription each, from
   one client process, spread over both tenants: customers' `myOrderUpdates` (one customer each,
   most of them), vendors' `vendorOrderUpdates` (BENCH_VENDOR_SUBSCRIBERS, 5, per vendor and
   tenant) and staff's `orderEvents` (BENCH_STAFF_SUBSCRIBERS, 2, per tenant).
4. BENCH_CLIENTS load processes run order lifecycles (checkout, place, confirm, ship twice) over
   HTTP for BENCH_SECONDS at BENCH_RATE orders per second in all (20: 100 changes a second), each
   order for a random subscribed customer of a random tenant, and record when each change's answer
   arrived (the change is committed then).
5. Printed: commit-to-client latency p50/p95/p99 of every update matched to its change (order id
   and version; BENCH_LIVE_DETAIL=1 adds a line per feed and version), updates delivered, the
   ASGI process's memory per connection (RSS growth over the connections) and its CPU per
   delivered message (updates and envelopes), and the subscribing client's CPU.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import lifecycle
from common import recreate_database, results_of
from lifecycle import CHECKOUT, CONFIRM, PLACE, SECRET, SHIP, pct

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB_URL = f"{PG}/oms_bench_live"
SUBSCRIPTIONS = int(os.environ.get("BENCH_SUBSCRIPTIONS", "2000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "2"))
RATE = float(os.environ.get("BENCH_RATE", "20"))  # orders per second, all load processes together
WORKERS = int(os.environ.get("BENCH_WORKERS", "3"))
SOURCE = os.environ.get("BENCH_LIVE_SOURCE", "outbox")
NATS = os.environ.get("BENCH_NATS", "nats://127.0.0.1:4222")
API_PORT, LIVE_PORT = 8771, 8772
UVICORN = ["--ws", "websockets-sansio", "--lifespan", "off", "--no-access-log", "--log-level", "warning"]
TENANTS = ("demo", "demo2")
VENDORS = ("vendor-acme", "vendor-globex")
VENDOR_SUBSCRIBERS = int(os.environ.get("BENCH_VENDOR_SUBSCRIBERS", "5"))  # per tenant and vendor
STAFF_SUBSCRIBERS = int(os.environ.get("BENCH_STAFF_SUBSCRIBERS", "2"))  # per tenant
UPDATE = "position order { id version status }"


def token(tenant: str, sub: str, roles: list[str], vendor_id: str | None = None) -> str:
    import jwt

    now = int(time.time())
    claims = {"sub": sub, "tenant_id": tenant, "roles": roles, "iat": now, "exp": now + 7200, "iss": "oms-demo"}
    claims["aud"] = "oms"
    if vendor_id:
        claims["vendor_id"] = vendor_id
    return jwt.encode(claims, SECRET, algorithm="HS256")


def env(**extra: str) -> dict[str, str]:
    return lifecycle.env(DATABASE_URL=DB_URL, OMS_EVENT_STREAM_URL=NATS if SOURCE == "stream" else "", **extra)


def subscribers() -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """(tenant, token, document) per subscription, and the customers (tenant, sub) that order."""
    plan, customers = [], []
    for tenant in TENANTS:
        for vendor in VENDORS:
            for n in range(VENDOR_SUBSCRIBERS):
                plan.append((tenant, token(tenant, f"{vendor}-{n}", ["vendor"], vendor), "vendorOrderUpdates"))
        for n in range(STAFF_SUBSCRIBERS):
            plan.append((tenant, token(tenant, f"staff-{n}", ["staff"]), "orderEvents"))
    per_tenant = (SUBSCRIPTIONS - len(plan)) // len(TENANTS)
    for tenant in TENANTS:
        for n in range(per_tenant):
            customers.append((tenant, f"customer-{n}"))
            plan.append((tenant, token(tenant, f"customer-{n}", ["customer"]), "myOrderUpdates"))
    return plan, customers


def document(feed: str) -> str:
    if feed == "orderEvents":
        return "subscription { orderEvents { position type orderId sequence } }"
    return f"subscription {{ {feed} {{ {UPDATE} }} }}"


# -- the subscriber process ------------------------------------------------------------------------


def subscriber_process(plan, ready, stop, queue) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    asyncio.run(_subscribe_all(plan, ready, stop, queue))


async def _subscribe_all(plan, ready, stop, queue) -> None:
    import websockets

    arrivals: list[tuple[str, int, float]] = []
    counts = {"updates": 0, "envelopes": 0, "errors": 0}
    failures: list[str] = []
    opened = asyncio.Semaphore(100)

    async def one(index: int, tenant: str, bearer: str, feed: str, connected: asyncio.Event) -> None:
        try:
            async with opened:
                socket = await websockets.connect(
                    f"ws://127.0.0.1:{LIVE_PORT}/graphql/", subprotocols=["graphql-transport-ws"], max_queue=None
                )
                init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {bearer}"}}
                await socket.send(json.dumps(init))
                ack = json.loads(await socket.recv())
                if ack["type"] != "connection_ack":
                    raise RuntimeError(f"not acknowledged: {ack}")
                await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": document(feed)}}))
        except Exception as error:
            failures.append(f"{feed} of {tenant}: {type(error).__name__}: {error}")
            connected.set()
            return
        connected.set()
        try:
            async for raw in socket:
                now = time.time()
                message = json.loads(raw)
                if message["type"] == "ping":
                    await socket.send('{"type":"pong"}')
                    continue
                if message["type"] != "next" or "errors" in message["payload"]:
                    counts["errors"] += 1
                    continue
                data = message["payload"]["data"]
                if feed == "orderEvents":
                    counts["envelopes"] += 1
                else:
                    order = data[feed]["order"]
                    counts["updates"] += 1
                    arrivals.append((order["id"], order["version"], now, feed))
        except websockets.ConnectionClosed:
            pass

    events = [asyncio.Event() for _ in plan]
    tasks = [asyncio.create_task(one(i, *entry, events[i])) for i, entry in enumerate(plan)]
    await asyncio.gather(*(event.wait() for event in events))
    if failures:
        print(f"{len(failures)} subscriptions failed to open, e.g. {failures[0]}", file=sys.stderr)
    await asyncio.sleep(1.0)  # every subscribe message handled
    ready.set()
    cpu_from = time.process_time()
    while not stop.is_set():
        await asyncio.sleep(0.1)
    await asyncio.sleep(2.0)  # the last updates arrive
    counts["cpu"] = time.process_time() - cpu_from
    for task in tasks:
        task.cancel()
    queue.put((arrivals, counts))


# -- the load --------------------------------------------------------------------------------------


def load_process(customers, seconds, start, queue) -> None:
    import requests

    session = requests.Session()
    committed: list[tuple[str, int, float]] = []
    bearer = {}

    def call(tenant: str, sub: str, roles: list[str], query: str, variables: dict, vendor: str | None = None):
        key = (tenant, sub)
        if key not in bearer:
            bearer[key] = token(tenant, sub, roles, vendor)
        answer = session.post(
            f"http://127.0.0.1:{API_PORT}/graphql/",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {bearer[key]}"},
            timeout=30,
        )
        done = time.time()
        payload = next(iter(answer.json()["data"].values()))
        assert not payload["errors"], payload["errors"]
        order = payload["order"]
        committed.append((order["id"], order["version"], done))
        return order

    start.wait()
    rng = random.Random(os.getpid())
    began = time.monotonic()
    ends = began + seconds
    orders = 0
    while time.monotonic() < ends:
        due = began + orders * CLIENTS / RATE  # paced: the load is steady, not as much as the machine takes
        if due > time.monotonic():
            time.sleep(due - time.monotonic())
        tenant, customer = rng.choice(customers)
        order = call(tenant, customer, ["customer"], CHECKOUT, lifecycle.NEW_ORDER)
        order = call(tenant, customer, ["customer"], PLACE, {"id": order["id"]})
        payment = {"method": "card", "reference": "bench", "amount": order["total"]["amount"]}
        call(tenant, "staff-load", ["staff"], CONFIRM, {"id": order["id"], "payment": payment})
        for vendor in VENDORS:
            variables = {"id": order["id"], "carrier": "UPS", "tracking": f"1Z-{vendor}"}
            call(tenant, f"{vendor}-load", ["vendor"], SHIP, variables, vendor)
        orders += 1
    queue.put((orders, committed))


# -- the run ---------------------------------------------------------------------------------------


def setup() -> None:
    recreate_database(DB_URL)
    run = [sys.executable, "manage.py"]
    subprocess.run([*run, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env(), check=True, capture_output=True)
    for tenant in TENANTS:
        subprocess.run([*run, "seed_demo", "--tenant", tenant], cwd=ROOT, env=env(), check=True, capture_output=True)
    subprocess.run(
        ["psql", "-q", "-d", DB_URL, "-c", "UPDATE snapshots_product SET available_quantity = 100000000; ANALYZE"],
        check=True,
        capture_output=True,
    )


def start(command: list[str], **extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        command, cwd=ROOT, env=env(**extra), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )


def wait_ready(port: int, process: subprocess.Popen) -> None:
    import urllib.request

    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"port {port} did not answer: {process.stderr.read().decode()[-2000:]}")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    setup()
    processes = [
        start(
            [sys.executable, "-m", "uvicorn", "oms_project.asgi:application", "--port", str(LIVE_PORT), *UVICORN],
            OMS_LIVE_MAX_CONNECTIONS_PER_TOKEN="100",
            OMS_RATE_LIMIT_BURST="100000",
            OMS_RATE_LIMIT_RATE="100000",
        ),
        start(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "oms_project.wsgi:application"],
            WEB_CONCURRENCY=str(WORKERS),
            PORT=str(API_PORT),
            PROMETHEUS_MULTIPROC_DIR="/tmp/oms-bench-live-prom",
            OMS_ADMISSION="off",
        ),
    ]
    if SOURCE == "stream":
        processes.append(start([sys.executable, "manage.py", "relay_events"]))
    live = processes[0]
    try:
        wait_ready(LIVE_PORT, live)
        wait_ready(API_PORT, processes[1])
        plan, customers = subscribers()
        rss_before = rss_kb(live.pid)
        ready, stop, go = multiprocessing.Event(), multiprocessing.Event(), multiprocessing.Event()
        subscribed = multiprocessing.Queue()
        client = multiprocessing.Process(target=subscriber_process, args=(plan, ready, stop, subscribed))
        client.start()
        if not ready.wait(300):
            raise SystemExit("the subscriptions did not all start")
        rss_after = rss_kb(live.pid)
        loads = multiprocessing.Queue()
        workers = [
            multiprocessing.Process(target=load_process, args=(customers, SECONDS, go, loads)) for _ in range(CLIENTS)
        ]
        for worker in workers:
            worker.start()
        cpu_before = cpu_seconds(live.pid)
        go.set()
        results = results_of(loads, workers, SECONDS + 300)
        stop.set()
        arrivals, counts = results_of(subscribed, [client], 120)[0]
        cpu_used = cpu_seconds(live.pid) - cpu_before
        for worker in workers:
            worker.join()
        client.join()
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in processes:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    committed = {(order_id, version): at for _, changes in results for order_id, version, at in changes}
    latencies = [
        max(0.0, at - committed[(order_id, version)]) * 1000
        for order_id, version, at, _ in arrivals
        if (order_id, version) in committed
    ]
    if os.environ.get("BENCH_LIVE_DETAIL"):
        by: dict = {}
        for order_id, version, at, feed in arrivals:
            if (order_id, version) in committed:
                by.setdefault((feed, version), []).append((at - committed[(order_id, version)]) * 1000)
        for key, values in sorted(by.items()):
            print(f"    {key}: n={len(values)} p50 {pct(values, 0.5):.1f} p95 {pct(values, 0.95):.1f}")
    orders = sum(count for count, _ in results)
    delivered = counts["updates"] + counts["envelopes"]
    print(
        f"live: {len(plan)} subscriptions on one ASGI process ({SOURCE}), {CLIENTS} load processes "
        f"at {RATE:g} orders/s, {SECONDS:.0f} s"
    )
    print(f"  orders: {orders} ({orders / SECONDS:.1f}/s), changes committed: {len(committed)}")
    print(f"  delivered: {counts['updates']} updates, {counts['envelopes']} envelopes, {counts['errors']} errors")
    if latencies:
        print(
            f"  commit -> client: p50 {pct(latencies, 0.5):.1f} ms, p95 {pct(latencies, 0.95):.1f} ms, "
            f"p99 {pct(latencies, 0.99):.1f} ms, max {max(latencies):.1f} ms ({len(latencies)} updates matched)"
        )
    print(f"  memory: {(rss_after - rss_before) / len(plan):.1f} KiB per connection (RSS {rss_after / 1024:.0f} MiB)")
    if delivered:
        print(
            f"  CPU of the ASGI process: {cpu_used:.2f} s, {cpu_used / delivered * 1000:.3f} ms per delivered message"
        )
    print(f"  CPU of the subscribing client (on the same machine): {counts['cpu']:.2f} s")


if __name__ == "__main__":
    main()
