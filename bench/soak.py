"""`make soak`: the whole stack under steady load for a while, then the checks an operator cares
about (issue 15; figures in docs/performance.md).

    make soak                                  (5 minutes)
    SOAK_SECONDS=60 BENCH_CLIENTS=4 make soak

On a fresh `oms_bench` (as `make bench`): gunicorn, one relay delivering to a local subscriber,
BENCH_CLIENTS load processes looping checkout -> place -> confirm -> ship, and an upstream
system posting a signed `product.upserted` twice a second, all for SOAK_SECONDS (and `ANALYZE`
every 30 s: this machine's PostgreSQL runs without autovacuum). Then it prints
and checks:

- no answer of 500 or more, from the API or the webhook endpoint;
- the resident memory of the gunicorn workers and of the relay, a minute in and at the end (the
  largest worker, or the relay, growing by more than SOAK_RSS_GROWTH_MB, default 30, fails the
  soak; gunicorn may have recycled workers after `max_requests` meanwhile);
- every outbox event delivered, and the relay's backlog back to zero within SOAK_DRAIN_SECONDS
  (default 60) of the load stopping.

Exits non-zero when a check fails.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime

import lifecycle
from common import results_of
from events import Receiver, start_relays, stop
from lifecycle import CLIENTS, PORT, TOKENS, HttpSession, lifecycle_calls, start_server

SECONDS = float(os.environ.get("SOAK_SECONDS", "300"))
RSS_GROWTH_MB = float(os.environ.get("SOAK_RSS_GROWTH_MB", "30"))
DRAIN_SECONDS = float(os.environ.get("SOAK_DRAIN_SECONDS", "60"))
WARM_SECONDS = min(60.0, SECONDS / 5)


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (gunicorn's workers), from /proc as `make bench` reads it."""
    return [child for child, (_, parent, _) in lifecycle.proc_stats().items() if parent == pid]


def soak_client(seconds: float, queue) -> None:
    """The lifecycle in a loop; counts answers by status instead of stopping at an error."""
    session, statuses, orders = HttpSession(), {}, 0

    def call(op, query, variables, role):
        status, body = session.post({"query": query, "variables": variables}, TOKENS[role])
        statuses[status] = statuses.get(status, 0) + 1
        payload = next(iter((body.get("data") or {}).values()), None)
        if status != 200 or not payload or payload.get("errors"):
            raise RuntimeError(f"{op}: {status} {json.dumps(body)[:300]}")
        return payload["order"]

    deadline = time.perf_counter() + seconds
    failures = []
    while time.perf_counter() < deadline:
        try:
            lifecycle_calls(call)
            orders += 1
        except RuntimeError as error:
            failures.append(str(error))
    queue.put((orders, statuses, failures[:5], len(failures)))


def upstream(secret: str, stopping: threading.Event, counts: dict) -> None:
    """product.upserted for the lamp twice a second, signed as Standard Webhooks."""
    from standardwebhooks.webhooks import Webhook

    signer, version = Webhook(secret), 1000
    while not stopping.wait(0.5):
        version += 1
        body = json.dumps(
            {
                "type": "product.upserted",
                "data": {
                    "product_id": "prod-lamp",
                    "vendor_id": "vendor-globex",
                    "sku": "GLX-LAMP",
                    "name": "Desk lamp",
                    "price": {"amount": "54.90", "currency": "USD"},
                    "active": True,
                    "version": version,
                    "attributes": {"soak": str(version)},
                },
            }
        )
        msg_id, at = f"msg_{uuid.uuid4().hex}", datetime.now(UTC)
        request = urllib.request.Request(
            f"http://127.0.0.1:{PORT}/webhooks/{lifecycle.TENANT}/",
            body.encode(),
            {
                "Content-Type": "application/json",
                "webhook-id": msg_id,
                "webhook-timestamp": str(int(at.timestamp())),
                "webhook-signature": signer.sign(msg_id, at, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        counts[status] = counts.get(status, 0) + 1


def autovacuum_stand_in(stopping: threading.Event) -> None:
    """ANALYZE every 30 s, as autovacuum keeps statistics on any production server (this machine's
    shared PostgreSQL runs with it off; without this the relay's queries are planned for the empty
    tables of the start, and slow down as the deliveries table grows)."""
    while not stopping.wait(30):
        lifecycle.analyze()


def backlog() -> tuple[int, int]:
    """(outbox events not yet fanned out, deliveries not yet delivered)."""
    from ordering.infrastructure.models import OutboxEvent
    from webhooks.infrastructure.models import WebhookDelivery

    return (
        OutboxEvent.objects.filter(dispatched_at__isnull=True).count(),
        WebhookDelivery.objects.exclude(status="DELIVERED").count(),
    )


def main() -> int:
    print(f"make soak: {SECONDS:.0f} s, {CLIENTS} load processes, one relay, upstream webhooks twice a second")
    lifecycle.setup()
    lifecycle.django_setup()
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("webhook_secret", lifecycle.TENANT, "generate", stdout=out)
    inbound_secret = out.getvalue().strip().splitlines()[-1]
    from webhooks.domain.signatures import new_secret
    from webhooks.infrastructure.models import WebhookSubscription

    secret = new_secret()
    receiver = Receiver(secret)
    WebhookSubscription.objects.create(tenant_id=lifecycle.TENANT, url=receiver.url, secret=secret)
    from django.db import connection

    connection.close()

    server = start_server()
    relays = start_relays(1)
    stopping, webhook_counts = threading.Event(), {}
    posting = threading.Thread(target=upstream, args=(inbound_secret, stopping, webhook_counts), daemon=True)
    analyzing = threading.Thread(target=autovacuum_stand_in, args=(stopping,), daemon=True)
    queue = multiprocessing.Queue()
    loaders = [multiprocessing.Process(target=soak_client, args=(SECONDS, queue)) for _ in range(CLIENTS)]
    try:
        posting.start()
        analyzing.start()
        for p in loaders:
            p.start()
        time.sleep(WARM_SECONDS)
        workers = children(server.pid)
        start_rss = {pid: rss_mb(pid) for pid in workers + [r.pid for r in relays]}
        results = results_of(queue, loaders, SECONDS + 600)
        end_workers = children(server.pid)  # gunicorn recycles a worker after max_requests
        end_rss = {pid: rss_mb(pid) for pid in end_workers + [r.pid for r in relays]}
        stopping.set()
        posting.join()
        load_stopped = time.perf_counter()
        while backlog() != (0, 0) and time.perf_counter() - load_stopped < DRAIN_SECONDS:
            time.sleep(0.5)
        drained_in = time.perf_counter() - load_stopped
        left = backlog()
    finally:
        stopping.set()
        for p in loaders:
            p.join(timeout=30)
        stop(relays)
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        receiver.shutdown()

    from ordering.infrastructure.models import OutboxEvent

    orders = sum(r[0] for r in results)
    statuses: dict[int, int] = {}
    for _, counted, _, _ in results:
        for status, n in counted.items():
            statuses[status] = statuses.get(status, 0) + n
    failures = sum(r[3] for r in results)
    events = OutboxEvent.objects.count()
    print(
        f"\nload: {orders} orders through their whole lifecycle in {SECONDS:.0f} s ({orders / SECONDS:.1f}/s); "
        f"API answers by status {dict(sorted(statuses.items()))}; failed lifecycles {failures}"
    )
    for _, _, sample, _ in results:
        for line in sample:
            print(f"  {line}")
    print(f"upstream webhooks by status {dict(sorted(webhook_counts.items()))}")
    relay_pids = [r.pid for r in relays]
    recycled = sorted(set(workers) - set(end_workers))
    print(f"memory (RSS MB, {WARM_SECONDS:.0f} s in -> end):")
    print(
        "  gunicorn workers: "
        + ", ".join(f"{start_rss[pid]:.1f}" for pid in workers)
        + " -> "
        + ", ".join(f"{end_rss[pid]:.1f}" for pid in end_workers)
        + (f" ({len(recycled)} recycled by max_requests meanwhile)" if recycled else "")
    )
    for pid in relay_pids:
        print(f"  relay {pid}: {start_rss[pid]:.1f} -> {end_rss[pid]:.1f} ({end_rss[pid] - start_rss[pid]:+.1f})")
    print(
        f"events: {events} in the outbox, {receiver.received} deliveries received; backlog {left} "
        f"{'drained' if left == (0, 0) else 'NOT drained'} {drained_in:.1f} s after the load stopped"
    )

    problems = []
    if any(status >= 500 for status in list(statuses) + list(webhook_counts)):
        problems.append("answers of 500 or more")
    if failures:
        problems.append(f"{failures} lifecycles failed")
    worker_growth = max(end_rss[pid] for pid in end_workers) - max(start_rss[pid] for pid in workers)
    grown = [pid for pid in relay_pids if end_rss[pid] - start_rss[pid] > RSS_GROWTH_MB]
    if worker_growth > RSS_GROWTH_MB or grown:
        problems.append(f"memory grew by more than {RSS_GROWTH_MB:.0f} MB")
    if left != (0, 0):
        problems.append(f"backlog not drained: {left}")
    if receiver.received < events:
        problems.append(f"only {receiver.received} of {events} events delivered")
    print("soak: " + ("OK" if not problems else "FAILED: " + "; ".join(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
