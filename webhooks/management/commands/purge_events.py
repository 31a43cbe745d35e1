"""Purge old outbox events that are done: `manage.py purge_events --older-than 7d [--include-dead]`.

An event is purged, with its deliveries and their attempt log, once it is older than the given
age (by when it was written), has been fanned out, every one of its deliveries is DELIVERED and,
when the event stream is configured (`OMS_EVENT_STREAM_URL`), the stream has acknowledged it.
Events with a dead delivery are kept (redeliver them from the admin) unless `--include-dead`.
Batches of `--batch` events, each in its own short transaction, and rows another process holds
are skipped: safe to run while relays run.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from ordering.application import services as ordering
from ordering.application.outbox import Stage
from webhooks.infrastructure.models import DeliveryAttempt, WebhookDelivery

from .tail_events import parse_duration

PURGE_SQL = """
WITH doomed AS (
    SELECT e.tenant_id, e.position FROM ordering_outbox_event AS e
     WHERE e.created_at < %(cutoff)s AND e.dispatched_at IS NOT NULL
       AND (%(ignore_stream)s OR e.published_at IS NOT NULL)
       AND NOT EXISTS (SELECT 1 FROM webhooks_delivery AS d
                        WHERE d.event_id = e.position AND d.tenant_id = e.tenant_id AND d.status <> ALL(%(done)s))
     ORDER BY e.position LIMIT %(batch)s
       FOR UPDATE SKIP LOCKED
),
attempts AS (
    DELETE FROM webhooks_delivery_attempt AS a USING webhooks_delivery AS d, doomed
     WHERE a.tenant_id = d.tenant_id AND a.delivery_id = d.id
       AND d.tenant_id = doomed.tenant_id AND d.event_id = doomed.position
),
deliveries AS (
    DELETE FROM webhooks_delivery AS d USING doomed
    WHERE d.tenant_id = doomed.tenant_id AND d.event_id = doomed.position
)
DELETE FROM ordering_outbox_event AS e USING doomed
WHERE e.tenant_id = doomed.tenant_id AND e.position = doomed.position
"""


class Command(BaseCommand):
    help = "Delete outbox events older than an age that are delivered (and published), in batches."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--older-than", required=True, help="age: 90s, 10m, 2h, 7d")
        parser.add_argument(
            "--include-dead",
            action="store_true",
            help="purge events whose deliveries died too (they are lost for good)",
        )
        parser.add_argument("--batch", type=int, default=1000)

    def handle(self, *args, older_than: str, include_dead: bool, batch: int, **options) -> None:
        if batch < 1:
            raise CommandError("--batch must be at least 1")
        cutoff = timezone.now() - parse_duration(older_than)
        done = ["DELIVERED", "DEAD"] if include_dead else ["DELIVERED"]
        ignore_stream = not settings.OMS_EVENT_STREAM_URL
        total = 0
        while True:
            purged = self._purge_batch(cutoff, done, ignore_stream, batch)
            total += purged
            if purged < batch:
                break
        self.stdout.write(f"{total} event(s) purged (written before {cutoff.isoformat()}).")

    @staticmethod
    def _purge_batch(cutoff, done: list[str], ignore_stream: bool, batch: int) -> int:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        PURGE_SQL, {"cutoff": cutoff, "ignore_stream": ignore_stream, "done": done, "batch": batch}
                    )
                    return cursor.rowcount
            # Elsewhere: the oldest handled events, window by window, less those with a delivery
            # that is not done.
            outbox = ordering.outbox_feed()
            stages: tuple[Stage, ...] = ("fan_out",) if ignore_stream else ("fan_out", "stream")
            positions: list[int] = []
            after = 0
            while len(positions) < batch:
                candidates = outbox.handled_before(cutoff, stages, batch, after=after)
                if not candidates:
                    break
                unfinished = set(
                    WebhookDelivery.objects.filter(event_id__in=candidates)
                    .exclude(status__in=done)
                    .values_list("event_id", flat=True)
                )
                positions += [p for p in candidates if p not in unfinished][: batch - len(positions)]
                after = candidates[-1]
            DeliveryAttempt.objects.filter(delivery__event_id__in=positions).delete()
            WebhookDelivery.objects.filter(event_id__in=positions).delete()
            outbox.delete(positions)
            return len(positions)
