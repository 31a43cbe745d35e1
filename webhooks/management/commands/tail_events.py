"""Print order events from the event stream as JSON lines: what downstream consumers see.

    manage.py tail_events [--tenant T] [--type placed] [--from-start | --since 10m] [--max N] [--idle-seconds S]

An ephemeral, ordered consumer (nothing is left on the server when it exits). Without
`--from-start` or `--since`, only new events are printed. Each line is the event envelope, with
the stream's sequence number added as `stream_sequence`.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from identity.domain.tenant import is_tenant_id
from webhooks.domain.stream import filter_subject

DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """`90s`, `10m`, `2h`, `7d`."""
    found = DURATION.match(text.strip())
    if not found:
        raise CommandError(f"not a duration: {text!r} (use e.g. 90s, 10m, 2h, 7d)")
    return timedelta(**{UNITS[found.group(2)]: float(found.group(1))})


class Command(BaseCommand):
    help = "Print events from the event stream as JSON lines (an ephemeral consumer)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", help="one tenant's events only")
        parser.add_argument("--type", dest="event_type", help="one event type: placed, status_changed, ...")
        start = parser.add_mutually_exclusive_group()
        start.add_argument("--from-start", action="store_true", help="every event the stream still holds")
        start.add_argument("--since", help="events of the last 90s, 10m, 2h, 7d")
        parser.add_argument("--max", type=int, default=0, help="exit after this many events")
        parser.add_argument(
            "--idle-seconds",
            type=float,
            default=0,
            help="exit after this long without a new event (default: run until Ctrl-C)",
        )
        parser.add_argument("--url", default=None, help="NATS URL (default OMS_EVENT_STREAM_URL)")

    def handle(self, *args, tenant, event_type, from_start, since, max, idle_seconds, url, **options) -> None:
        url = url or settings.OMS_EVENT_STREAM_URL
        if not url:
            raise CommandError("no event stream: set OMS_EVENT_STREAM_URL or pass --url")
        if tenant is not None and not is_tenant_id(tenant):
            raise CommandError(f"not a tenant id: {tenant!r}")
        if event_type is not None and not re.fullmatch(r"[a-z_.]{1,64}", event_type):
            raise CommandError(f"not an event type: {event_type!r}")
        start_time = datetime.now(UTC) - parse_duration(since) if since else None
        try:
            asyncio.run(self._tail(url, filter_subject(tenant, event_type), from_start, start_time, max, idle_seconds))
        except KeyboardInterrupt:
            pass

    async def _tail(self, url, subject, from_start, start_time, limit, idle_seconds) -> None:
        import nats
        from nats.js.api import ConsumerConfig, DeliverPolicy

        try:
            nc = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=3)
        except Exception as error:
            raise CommandError(f"cannot connect to {url}: {error}") from None
        try:
            js = nc.jetstream()
            if start_time is not None:
                config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=start_time)
            else:
                config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL if from_start else DeliverPolicy.NEW)
            try:
                subscription = await js.subscribe(
                    subject, stream=settings.OMS_EVENT_STREAM_NAME, ordered_consumer=True, config=config
                )
            except Exception as error:
                raise CommandError(f"cannot read stream {settings.OMS_EVENT_STREAM_NAME}: {error}") from None
            try:
                await self._print(subscription, limit, idle_seconds)
            finally:
                await subscription.unsubscribe()
        finally:
            await nc.close()

    async def _print(self, subscription, limit: int, idle_seconds: float) -> None:
        import nats

        printed = 0
        while not limit or printed < limit:
            try:
                message = await subscription.next_msg(timeout=idle_seconds or 3600)
            except nats.errors.TimeoutError:
                if idle_seconds:
                    return
                continue
            event = json.loads(message.data)
            event["stream_sequence"] = message.metadata.sequence.stream
            self.stdout.write(json.dumps(event, separators=(",", ":"), sort_keys=True))
            self.stdout.flush()
            printed += 1
