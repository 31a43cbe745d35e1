"""Deliver order events from the outbox to the tenants' webhook subscriptions.

Runs until SIGTERM or SIGINT, always finishing (and recording) the delivery in flight; `--once`
delivers everything due now and exits. Run several at once on PostgreSQL: they share the work
(`FOR UPDATE SKIP LOCKED`) and never send one event to one subscription twice at the same time.
"""

from __future__ import annotations

import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from webhooks.infrastructure.relay_factory import configured_relay


class Command(BaseCommand):
    help = "Deliver outbox events to webhook subscriptions (until SIGTERM; --once: drain and exit)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="deliver what is due now, then exit")
        parser.add_argument("--poll-seconds", type=float, default=None,
                            help="idle wait between polls (default OMS_RELAY_POLL_SECONDS)")
        parser.add_argument("--metrics-port", type=int, default=None,
                            help="serve this process's Prometheus metrics (deliveries by outcome) on "
                                 "0.0.0.0:PORT/metrics (default OMS_RELAY_METRICS_PORT; 0: off)")

    def handle(self, *args, once: bool, poll_seconds: float | None, metrics_port: int | None, **options) -> None:
        relay = configured_relay()
        port = settings.OMS_RELAY_METRICS_PORT if metrics_port is None else metrics_port
        if port and not once:
            from prometheus_client import start_http_server

            start_http_server(port)
            self.stdout.write(f"relay_events: metrics on :{port}/metrics")
        if once:
            attempts = relay.run_once()
            self.stdout.write(f"{attempts} delivery attempt(s) made.")
            return
        stopping = []

        def stop(signum, frame) -> None:
            stopping.append(signum)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write("relay_events: delivering (SIGTERM to stop)")
        self.stdout.flush()
        relay.run_forever(lambda: bool(stopping), poll_seconds or settings.OMS_RELAY_POLL_SECONDS,
                          sleep=lambda seconds: _sleep_unless(stopping, seconds))
        self.stdout.write("relay_events: stopped")


def _sleep_unless(stopping: list, seconds: float) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not stopping and time.monotonic() < deadline:
        time.sleep(min(0.1, seconds))
