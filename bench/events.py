"""`make bench-events`: how fast order events leave the outbox, on PostgreSQL and the real NATS.

    make bench-events
    BENCH_EVENTS=20000 BENCH_STREAM_EVENTS=50000 BENCH_SECONDS=30 BENCH_NATS=nats://127.0.0.1:4222 make bench-events

1. Webhooks: BENCH_EVENTS outbox events (5 per order) for one subscription whose receiver (on
   127.0.0.1, in this process's threads) verifies every signature with `standardwebhooks`. The
   relay processes (`relay_events`, 1 then 2) are started first and sit idle; the events are
   written in one transaction, and the clock runs from that commit to the last delivery.
2. The stream: BENCH_STREAM_EVENTS events published by one relay process to JetStream (stream
   OMS_ORDERS on BENCH_NATS), from the commit to the last acknowledged event.
3. The outbox lag under load: the lifecycle load of `make bench` (gunicorn, BENCH_CLIENTS load
   processes for BENCH_SECONDS) with ONE relay process delivering to the receiver and publishing to
   the stream; every second, the age of the oldest event not yet delivered to every subscription
   or not yet published (now - occurred_at). Prints p50/p95/max and how long the relay took to
   catch up after the load stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import lifecycle
from lifecycle import CLIENTS, ROOT, SECONDS, env, lifecycle_client, pct, run_clients, start_server

EVENTS = int(os.environ.get("BENCH_EVENTS", "20000"))
STREAM_EVENTS = int(os.environ.get("BENCH_STREAM_EVENTS", "50000"))
NATS = os.environ.get("BENCH_NATS", "nats://127.0.0.1:4222")
RELAY_ENV = {"OMS_WEBHOOK_ALLOW_HTTP": "1", "OMS_WEBHOOK_ALLOWED_DESTINATIONS": "127.0.0.1", "OMS_EVENT_STREAM_URL": ""}


class Receiver(ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True

    def __init__(self, secret: str) -> None:
        from standardwebhooks.webhooks import Webhook

        verifier, lock, server = Webhook(secret), threading.Lock(), self
        self.received = 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                verifier.verify(body, {k.lower(): v for k, v in self.headers.items()})
                with lock:
                    server.received += 1
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"


def start_relays(count: int, **extra: str) -> list[subprocess.Popen]:
    relays = [
        subprocess.Popen(
            [sys.executable, "manage.py", "relay_events", "--poll-seconds", "1"],
            cwd=ROOT,
            env=env(**{**RELAY_ENV, **extra}),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(count)
    ]
    for relay in relays:  # idle and listening before the clock starts
        line = relay.stdout.readline()
        if "delivering" not in line:
            raise SystemExit(f"relay_events did not start: {line!r}")
    return relays


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(60)


def write_events(count: int) -> None:
    from django.db import transaction

    from ordering.infrastructure.models import OutboxEvent

    now = datetime.now(UTC)
    rows = []
    for _ in range(count // 5):
        order_id = uuid.uuid4()
        for sequence in range(1, 6):
            rows.append(
                OutboxEvent(
                    tenant_id=lifecycle.TENANT,
                    type="order.status_changed",
                    aggregate_id=order_id,
                    sequence=sequence,
                    occurred_at=now,
                    data={"order": {"id": str(order_id)}, "from_status": "PENDING", "to_status": "CONFIRMED"},
                )
            )
    with transaction.atomic():
        OutboxEvent.objects.bulk_create(rows, batch_size=2000)


def wait_until(done, limit: float = 600) -> float:
    started = time.perf_counter()
    while not done():
        if time.perf_counter() - started > limit:
            raise SystemExit("timed out")
        time.sleep(0.02)
    return time.perf_counter() - started


def webhook_rate(relays: int, receiver: Receiver) -> float:
    from webhooks.infrastructure.models import WebhookDelivery

    processes = start_relays(relays)
    try:
        before = WebhookDelivery.objects.filter(status="DELIVERED").count()
        write_events(EVENTS)
        elapsed = wait_until(lambda: WebhookDelivery.objects.filter(status="DELIVERED").count() - before >= EVENTS)
    finally:
        stop(processes)
    rate = EVENTS / elapsed
    print(
        f"  webhooks, {relays} relay process(es): {EVENTS:,} events in {elapsed:5.2f} s = {rate:7.0f} events/s "
        f"(receiver verified {receiver.received:,} so far)"
    )
    return rate


def stream_rate() -> float:
    from ordering.infrastructure.models import OutboxEvent

    OutboxEvent.objects.filter(published_at__isnull=True).update(published_at=datetime.now(UTC))
    processes = start_relays(1, OMS_EVENT_STREAM_URL=NATS)
    try:
        write_events(STREAM_EVENTS)
        elapsed = wait_until(lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists())
    finally:
        stop(processes)
    rate = STREAM_EVENTS / elapsed
    print(
        f"  stream, 1 relay process:        {STREAM_EVENTS:,} events in {elapsed:5.2f} s = {rate:7.0f} events/s "
        f"({NATS}, stream OMS_ORDERS)"
    )
    return rate


def oldest_unfinished_age() -> float:
    """now - occurred_at of the oldest event not yet delivered everywhere or not yet published."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT extract(epoch FROM now() - min(occurred_at)) FROM (
                (SELECT occurred_at FROM ordering_outbox_event WHERE dispatched_at IS NULL ORDER BY position LIMIT 1)
                UNION ALL
                (SELECT occurred_at FROM ordering_outbox_event WHERE published_at IS NULL ORDER BY position LIMIT 1)
                UNION ALL
                (SELECT e.occurred_at FROM webhooks_delivery d JOIN ordering_outbox_event e ON e.position = d.event_id
                  WHERE d.status = 'PENDING' ORDER BY d.id LIMIT 1)
            ) AS oldest""")
        value = cursor.fetchone()[0]
    return float(value or 0.0)


def lag_under_load() -> dict:
    from django.db import connection

    from ordering.infrastructure.models import OutboxEvent

    OutboxEvent.objects.filter(published_at__isnull=True).update(published_at=datetime.now(UTC))
    relays = start_relays(1, OMS_EVENT_STREAM_URL=NATS)
    server = start_server()
    samples: list[float] = []
    stop_sampling = threading.Event()

    def sample() -> None:
        while not stop_sampling.wait(1.0):
            samples.append(oldest_unfinished_age())
        connection.close()

    sampler = threading.Thread(target=sample)
    events_before = OutboxEvent.objects.count()
    try:
        sampler.start()
        started = time.perf_counter()
        results = run_clients(lifecycle_client, lambda: (SECONDS,))
        load_seconds = time.perf_counter() - started
        stop_sampling.set()
        sampler.join()
        catch_up = wait_until(lambda: oldest_unfinished_age() == 0.0, limit=300)
    finally:
        stop_sampling.set()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        stop(relays)
    orders = sum(n for n, _ in results)
    produced = OutboxEvent.objects.count() - events_before
    return {
        "orders_per_s": orders / load_seconds,
        "events_per_s": produced / load_seconds,
        "samples": samples,
        "catch_up": catch_up,
    }


def main() -> None:
    print(f"make bench-events: PostgreSQL {lifecycle.PG}, NATS {NATS}, {os.cpu_count()} cores")
    lifecycle.setup()
    lifecycle.django_setup()
    from webhooks.domain.signatures import new_secret
    from webhooks.infrastructure.models import WebhookSubscription

    secret = new_secret()
    receiver = Receiver(secret)
    subscription = WebhookSubscription.objects.create(tenant_id=lifecycle.TENANT, url=receiver.url, secret=secret)
    print("1. webhooks (relay_events idle first; clock from the commit of the events to the last delivery)")
    one = webhook_rate(1, receiver)
    two = webhook_rate(2, receiver)
    print("2. the event stream")
    WebhookSubscription.objects.filter(pk=subscription.pk).update(active=False)
    stream = stream_rate()
    WebhookSubscription.objects.filter(pk=subscription.pk).update(active=True)
    print(
        f"3. outbox lag under the lifecycle load ({CLIENTS} load processes, {SECONDS:.0f} s, gunicorn "
        f"{lifecycle.WORKERS} workers, 1 relay process: webhooks + stream)"
    )
    load = lag_under_load()
    samples = load["samples"] or [0.0]
    print(
        f"  {load['orders_per_s']:.1f} orders/s, {load['events_per_s']:.0f} events/s produced; lag sampled every "
        f"second: p50 {pct(samples, 0.5):.2f} s, p95 {pct(samples, 0.95):.2f} s, max {max(samples):.2f} s; "
        f"caught up {load['catch_up']:.1f} s after the load stopped"
    )
    print("targets (issue 32): webhooks >= 1,500 events/s (1 process), stream >= 8,000 events/s, lag p95 < 2 s")
    print(
        f"  webhooks {one:.0f} {'OK' if one >= 1500 else 'MISSED'}; 2 processes {two:.0f}; "
        f"stream {stream:.0f} {'OK' if stream >= 8000 else 'MISSED'}; "
        f"lag p95 {pct(samples, 0.95):.2f} s {'OK' if pct(samples, 0.95) < 2 else 'MISSED'}"
    )
    receiver.shutdown()


if __name__ == "__main__":
    main()
