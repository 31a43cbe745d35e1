"""Relay throughput: events delivered per second to a local receiver.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oms_bench_relay .venv/bin/python bench/relay.py
    BENCH_EVENTS=5000 BENCH_WORKERS=1,2,4 ...   (the database is dropped and rebuilt)

Writes BENCH_EVENTS outbox events (over BENCH_EVENTS/5 orders, 5 events each) for one tenant with
one subscription, starts a local HTTP receiver on 127.0.0.1 that verifies every signature
(standardwebhooks) and answers 204, then runs `manage.py relay_events --once` in N parallel
processes and prints events delivered per second for each N (events are re-queued between runs).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from common import recreate_database

ROOT = Path(__file__).resolve().parent.parent
URL = os.environ.get("DATABASE_URL", "")
EVENTS = int(os.environ.get("BENCH_EVENTS", "5000"))
WORKERS = [int(n) for n in os.environ.get("BENCH_WORKERS", "1,2,4").split(",")]


def start_receiver(secret: str) -> tuple[ThreadingHTTPServer, list]:
    from standardwebhooks.webhooks import Webhook

    verifier, received, lock = Webhook(secret), [], threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            verifier.verify(body, {k.lower(): v for k, v in self.headers.items()})
            with lock:
                received.append(1)
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, received


def main() -> None:
    if not URL.startswith("postgres"):
        sys.exit("set DATABASE_URL to a PostgreSQL database this benchmark may drop and rebuild")
    recreate_database(URL)
    # No log line per delivery in the figures (the relay processes get this environment).
    env = dict(os.environ, DEBUG="1", LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"))
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([sys.executable, "manage.py", "create_tenant", "--id", "bench", "--hs256-secret", "b" * 40],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_project.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from ordering.infrastructure.models import OutboxEvent
    from webhooks.domain.signatures import new_secret
    from webhooks.infrastructure.models import WebhookDelivery, WebhookSubscription

    secret = new_secret()
    server, received = start_receiver(secret)
    WebhookSubscription.objects.create(tenant_id="bench", url=f"http://127.0.0.1:{server.server_address[1]}/hooks",
                                       secret=secret)
    import uuid
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    rows = []
    for n in range(EVENTS // 5):
        order_id = uuid.uuid4()
        for seq in range(1, 6):
            rows.append(OutboxEvent(tenant_id="bench", type="order.status_changed", aggregate_id=order_id,
                                    sequence=seq, occurred_at=now, data={"order": {"id": str(order_id), "n": n},
                                                                         "from_status": "PENDING",
                                                                         "to_status": "CONFIRMED"}))
    OutboxEvent.objects.bulk_create(rows, batch_size=1000)
    total = len(rows)
    print(f"relay_events --once, {total:,} events over {total // 5:,} orders, 1 subscription, PostgreSQL, "
          f"receiver on 127.0.0.1 verifying signatures")
    for workers in WORKERS:
        received.clear()
        if WebhookDelivery.objects.exists():
            WebhookDelivery.objects.update(status="PENDING", attempts=0, next_attempt_at=now, delivered_at=None)
        started = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "manage.py", "relay_events", "--once"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL) for _ in range(workers)]
        for proc in procs:
            proc.wait()
        # Workers that found events held behind another's in-flight one exit early: finish the rest.
        subprocess.run([sys.executable, "manage.py", "relay_events", "--once"], cwd=ROOT, env=env,
                       stdout=subprocess.DEVNULL, check=True)
        elapsed = time.perf_counter() - started
        delivered = WebhookDelivery.objects.filter(status="DELIVERED").count()
        print(f"  {workers} worker(s): {delivered:,} delivered in {elapsed:5.1f} s = {delivered / elapsed:7.0f} events/s"
              f"  (receiver saw {len(received):,})")
    server.shutdown()


if __name__ == "__main__":
    main()
