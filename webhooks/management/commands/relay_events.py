"""Deliver order events from the outbox to the tenants' webhook subscriptions, and publish them to
the event stream when `OMS_EVENT_STREAM_URL` is set (docs/events.md).

Runs until SIGTERM or SIGINT, always finishing (and recording) the deliveries in flight, and
rides out a database restart (it waits and starts again on a new connection); `--once`
delivers (and publishes) everything due now and exits. Run several at once on PostgreSQL: they
share the deliveries (`FOR UPDATE SKIP LOCKED`) and never send one event to one subscription twice
at the same time; one of them at a time publishes to the stream.
"""

from __future__ import annotations

import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, connection

from oms_project.kernel import instrumentation
from webhooks.application.stream import StreamPublisher, StreamUnavailable
from webhooks.infrastructure.relay_factory import configured_relay

logger = logging.getLogger(__name__)
PUBLISHER_RETRY_SECONDS = 0.5
DATABASE_RETRY_SECONDS = 1.0


def stream_publisher():
    """The configured publisher, or None when no stream is configured."""
    if not settings.OMS_EVENT_STREAM_URL:
        return None
    from webhooks.infrastructure.stream import NatsEventStream, OrmUnpublishedEvents

    return StreamPublisher(
        OrmUnpublishedEvents(), NatsEventStream.from_settings(), batch_size=settings.OMS_EVENT_STREAM_BATCH
    )


class Command(BaseCommand):
    help = (
        "Deliver outbox events to webhook subscriptions and the event stream (until SIGTERM; --once: drain and exit)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="deliver what is due now, then exit")
        parser.add_argument(
            "--poll-seconds",
            type=float,
            default=None,
            help="longest idle wait between looks (default OMS_RELAY_POLL_SECONDS; "
            "new events wake the relay at once on PostgreSQL)",
        )
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=None,
            help="serve this process's Prometheus metrics (deliveries by outcome) on "
            "0.0.0.0:PORT/metrics (default OMS_RELAY_METRICS_PORT; 0: off)",
        )

    def handle(self, *args, once: bool, poll_seconds: float | None, metrics_port: int | None, **options) -> None:
        instrumentation.configure_from_environment()  # deliveries and publishes continue the events' traces
        relay = configured_relay()
        publisher = stream_publisher()
        poll = poll_seconds or settings.OMS_RELAY_POLL_SECONDS
        port = settings.OMS_RELAY_METRICS_PORT if metrics_port is None else metrics_port
        if port and not once:
            from prometheus_client import start_http_server

            start_http_server(port)
            self.stdout.write(f"relay_events: metrics on :{port}/metrics")
        if once:
            attempts = relay.run_once()
            relay.close()
            self.stdout.write(f"{attempts} delivery attempt(s) made.")
            if publisher is not None:
                self.stdout.write(f"{self._publish_once(publisher)} event(s) published to the stream.")
            return
        stopping = threading.Event()

        def stop(signum, frame) -> None:
            stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        publishing = None
        if publisher is not None:
            publishing = threading.Thread(
                target=self._publish_forever, args=(publisher, stopping, poll), name="stream-publisher"
            )
            publishing.start()
        self.stdout.write(
            "relay_events: delivering (SIGTERM to stop)"
            + (f"; publishing to {settings.OMS_EVENT_STREAM_URL}" if publisher else "")
        )
        self.stdout.flush()
        try:
            while True:
                try:
                    relay.run_forever(stopping.is_set, poll)
                    break
                except DatabaseError as error:
                    # The database went away (a restart, a failover): wait and start a fresh relay
                    # on a new connection. Leases of attempts it could not record run out, and
                    # those deliveries are sent again (at least once).
                    logger.warning(
                        "relay_events: database unavailable (%s); retrying in %.0f s", error, DATABASE_RETRY_SECONDS
                    )
                    relay.store.close()
                    connection.close()
                    if stopping.wait(DATABASE_RETRY_SECONDS):
                        break
                    relay = configured_relay()
        finally:
            stopping.set()
            relay.store.close()
            if publishing is not None:
                publishing.join()
        self.stdout.write("relay_events: stopped")

    @staticmethod
    def _publish_once(publisher: StreamPublisher) -> int:
        try:
            publisher.stream.ensure_stream()
            return publisher.publish_once()
        except StreamUnavailable as error:
            logger.warning("event stream unavailable: %s; events wait in the outbox", error)
            return 0
        finally:
            publisher.stream.close()
            publisher.events.close()
            connection.close()

    @staticmethod
    def _publish_forever(publisher: StreamPublisher, stopping: threading.Event, poll: float) -> None:
        """The publisher thread: it outlives the stream's and the database's failures (a
        deadlock with the fan-out, a restart); what it could not mark is published again."""
        try:
            try:
                publisher.stream.ensure_stream()
            except StreamUnavailable as error:
                logger.warning("event stream unavailable at start: %s; retrying", error)
            while not stopping.is_set():
                try:
                    publisher.run_forever(stopping.is_set, poll)
                except DatabaseError as error:
                    logger.warning("stream publisher: database error (%s); retrying", error)
                    connection.close()
                    stopping.wait(PUBLISHER_RETRY_SECONDS)
        finally:
            publisher.stream.close()
            publisher.events.close()
            connection.close()
