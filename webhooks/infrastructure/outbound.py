"""The relay's ports over the ORM, hand-written SQL where it saves round trips, and `http.client`.

- `fan_out`: undispatched outbox events become one delivery per matching subscription.
- `claim`: a batch of due deliveries, each the head of its order's queue for its subscription,
  locked with `FOR UPDATE SKIP LOCKED` and leased; their subscription and event come with them.
- `record`: a batch of attempts in one statement on PostgreSQL (a data-modifying CTE writes the
  attempt log and the deliveries' new states together; the ORM's two bulk statements elsewhere).
- `wait_for_events`: on PostgreSQL, `LISTEN oms_outbox` (a trigger on the outbox notifies in the
  transaction that writes events); elsewhere a plain sleep.
"""

from __future__ import annotations

import http.client
import json
import logging
import select
import threading
import time
import urllib.parse
from collections.abc import Collection
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery

from oms_project.kernel.listen import listen_params
from oms_project.kernel.metrics import WEBHOOK_DELIVERIES
from ordering.application import services as ordering
from ordering.application.event_payloads import envelope
from ordering.application.outbox import RoundRobin, quota
from webhooks.application.relay import ClaimedDelivery, Outcome
from webhooks.domain.destinations import DestinationRefused
from webhooks.domain.outbound import AttemptResult, DeliveryStatus, body_of, subscribed

from .destinations import GuardedPlainConnection, GuardedTlsConnection
from .models import DeliveryAttempt, WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)
PENDING = DeliveryStatus.PENDING.value
FAN_OUT_LOCK = 0x4F4D53  # pg_advisory_xact_lock key: one fan-out at a time
NOTIFY_CHANNEL = "oms_outbox"  # ordering migration 0008's trigger notifies it

# One statement to fan out a batch (PostgreSQL): each chosen tenant's next undispatched events
# (round-robin between tenants, ordering/application/outbox.py) (its quota) become one delivery
# per active subscription of the tenant that wants their type, and are marked dispatched. Rows are
# locked tenant by tenant in position order, as the stream's publisher locks them (ordering's
# outbox feed, `mark`): the two cannot deadlock. This statement and CLAIM_SQL read ordering's
# outbox table by name, on purpose: a delivery is made from an event in the same transaction that
# marks it handled (docs/architecture.md, "Across apps"); every other read of the outbox goes
# through the feed.
FAN_OUT_SQL = """
WITH events AS (
    SELECT e.position, e.tenant_id, e.type, e.aggregate_id, e.sequence
      FROM unnest(%(tenants)s::varchar[]) AS chosen (tenant_id)
      CROSS JOIN LATERAL (
          SELECT position, tenant_id, type, aggregate_id, sequence FROM ordering_outbox_event AS o
           WHERE o.tenant_id = chosen.tenant_id AND o.dispatched_at IS NULL
           ORDER BY o.position LIMIT %(quota)s
             FOR UPDATE) AS e
),
deliveries AS (
    INSERT INTO webhooks_delivery (tenant_id, subscription_id, event_id, aggregate_id, sequence, status, attempts,
                                   next_attempt_at, last_error, created_at)
    SELECT e.tenant_id, s.id, e.position, e.aggregate_id, e.sequence, 'PENDING', 0, %(now)s, '', %(now)s
      FROM events AS e JOIN webhooks_subscription AS s ON s.tenant_id = e.tenant_id AND s.active
     WHERE jsonb_array_length(s.event_types) = 0 OR s.event_types ? e.type
     ORDER BY e.position, s.id
    ON CONFLICT (tenant_id, subscription_id, event_id) DO NOTHING
)
UPDATE ordering_outbox_event AS o SET dispatched_at = %(now)s FROM events
 WHERE o.tenant_id = events.tenant_id AND o.position = events.position
"""
# The columns FAN_OUT_SQL writes (tests/webhooks/test_relay.py compares them with the model).
FAN_OUT_COLUMNS = {
    "tenant_id",
    "subscription_id",
    "event_id",
    "aggregate_id",
    "sequence",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
}

# One statement to claim a batch (PostgreSQL): due heads of their order's queue, locked (SKIP
# LOCKED), leased, and returned with their subscription and event. Subscriptions are served
# round-robin: their due deliveries are taken subscription by subscription, starting after the
# one the previous claim began with, and at most `per_subscription` of each (what its lane can
# take): a subscription with a large backlog, or a slow one, never fills the relay's claims.
# Rows are found by their tenant and key (docs/scaling.md).
CLAIM_SQL = """
WITH subscriptions AS (
    SELECT s.tenant_id, s.id FROM webhooks_subscription AS s
     WHERE s.active AND NOT (s.id = ANY(%(skip)s::uuid[]))
     ORDER BY s.id <= %(after)s::uuid, s.id
),
due AS (
    SELECT d.tenant_id, d.id FROM subscriptions AS s CROSS JOIN LATERAL (
        SELECT d.tenant_id, d.id FROM webhooks_delivery AS d
         WHERE d.tenant_id = s.tenant_id AND d.subscription_id = s.id
           AND d.status = 'PENDING' AND d.next_attempt_at <= %(now)s
           AND (d.lease_until IS NULL OR d.lease_until < %(now)s)
           AND d.sequence = (SELECT h.sequence FROM webhooks_delivery AS h
                              WHERE h.subscription_id = d.subscription_id AND h.aggregate_id = d.aggregate_id
                                AND h.status = 'PENDING' ORDER BY h.sequence LIMIT 1)
         ORDER BY d.next_attempt_at, d.id
         LIMIT %(per_subscription)s
           FOR UPDATE OF d SKIP LOCKED) AS d
     LIMIT %(limit)s
)
UPDATE webhooks_delivery AS d SET lease_until = %(until)s
  FROM due, webhooks_subscription AS s, ordering_outbox_event AS e
 WHERE d.tenant_id = due.tenant_id AND d.id = due.id AND s.tenant_id = d.tenant_id AND s.id = d.subscription_id
   AND e.tenant_id = d.tenant_id AND e.position = d.event_id
RETURNING d.id, d.tenant_id, d.attempts, d.subscription_id, s.url, s.secret, e.event_id, e.type, e.occurred_at,
          e.aggregate_id, e.sequence, e.correlation_id, e.data, e.trace_parent
"""
NO_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
# The relay's own bookkeeping need not wait for the WAL flush: after a crash a lost lease or
# outcome only means one more (at-least-once) attempt.
RELAXED_COMMIT = "SET LOCAL synchronous_commit TO OFF"

# One statement for a batch of outcomes (PostgreSQL): the attempt log and the deliveries' states.
RECORD_SQL = """
WITH outcome AS (
    SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::integer[], %s::timestamptz[], %s::integer[],
                         %s::integer[], %s::varchar[], %s::varchar[], %s::timestamptz[], %s::timestamptz[])
           AS o (id, tenant_id, number, attempted_at, status_code, latency_ms, error, status, next_attempt_at,
                 delivered_at)
),
updated AS (
    UPDATE webhooks_delivery AS d
       SET status = o.status, attempts = o.number, lease_until = NULL, next_attempt_at = o.next_attempt_at,
           last_status_code = o.status_code, last_error = o.error, delivered_at = o.delivered_at
      FROM outcome AS o WHERE d.tenant_id = o.tenant_id AND d.id = o.id
)
INSERT INTO webhooks_delivery_attempt (tenant_id, delivery_id, number, attempted_at, status_code, latency_ms, error)
SELECT tenant_id, id, number, attempted_at, status_code, latency_ms, error FROM outcome
"""
# The columns RECORD_SQL writes, per table (tests/webhooks/test_relay.py compares them with the models).
RECORD_COLUMNS = {
    "webhooks_delivery_attempt": {
        "tenant_id",
        "delivery_id",
        "number",
        "attempted_at",
        "status_code",
        "latency_ms",
        "error",
    },
    "webhooks_delivery": {
        "status",
        "attempts",
        "lease_until",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
    },
}


class OrmDeliveryStore:
    def __init__(self) -> None:
        self._listener = OutboxListener()
        self._feed = ordering.outbox_feed()
        self._tenants = RoundRobin(self._feed, "fan_out")
        self._last_subscription = NO_SUBSCRIPTION  # the subscription the last claim began with

    def fan_out(self, limit: int, now: datetime) -> int:
        """Turn undispatched outbox events into one delivery per matching active subscription and
        mark them dispatched: an equal share of `limit` for each tenant with events waiting
        (round-robin from one batch to the next), each tenant's in outbox order. Returns the
        number of events handled."""
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FAN_OUT_LOCK])
            tenants = self._tenants.next_tenants()
            if not tenants:
                return 0
            each = quota(limit, tenants)
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(FAN_OUT_SQL, {"tenants": sorted(tenants), "quota": each, "now": now})
                    return cursor.rowcount
            events = [event for tenant in tenants for event in self._feed.waiting("fan_out", tenant, each)]
            subscriptions: dict[str, list[WebhookSubscription]] = {}
            for sub in WebhookSubscription.objects.filter(tenant_id__in=tenants, active=True):
                subscriptions.setdefault(sub.tenant_id, []).append(sub)
            deliveries = [
                WebhookDelivery(
                    tenant_id=e.tenant_id,
                    subscription=sub,
                    event_id=e.position,
                    aggregate_id=e.aggregate_id,
                    sequence=e.sequence,
                    next_attempt_at=now,
                )
                for e in events
                for sub in subscriptions.get(e.tenant_id, [])
                if subscribed(sub.event_types, e.type)
            ]
            WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
            self._feed.mark("fan_out", [e.position for e in events], now)
            return len(events)

    def claim(
        self,
        now: datetime,
        lease: timedelta,
        limit: int,
        skip_subscriptions: Collection[str] = (),
        per_subscription: int | None = None,
    ) -> list[ClaimedDelivery]:
        per_subscription = per_subscription or limit
        if connection.vendor == "postgresql":
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(RELAXED_COMMIT)
                cursor.execute(
                    CLAIM_SQL,
                    {
                        "now": now,
                        "until": now + lease,
                        "limit": limit,
                        "skip": [str(s) for s in skip_subscriptions],
                        "after": self._last_subscription,
                        "per_subscription": per_subscription,
                    },
                )
                rows = cursor.fetchall()
        else:
            rows = self._claim_orm(now, lease, limit, skip_subscriptions, self._last_subscription, per_subscription)
        if rows:  # the next claim begins with the subscription after this one's first
            self._last_subscription = str(
                min((str(row[3]) for row in rows), key=lambda sub: (sub <= self._last_subscription, sub))
            )
        return [
            ClaimedDelivery(
                pk,
                tenant,
                url,
                secret,
                str(event_id),
                body_of(
                    envelope(
                        event_id=str(event_id),
                        event_type=event_type,
                        occurred_at=occurred_at,
                        tenant_id=tenant,
                        aggregate_id=str(aggregate_id),
                        sequence=sequence,
                        correlation_id=correlation_id,
                        data=json.loads(data) if isinstance(data, str) else data,
                    )
                ),
                attempts,
                str(subscription_id),
                trace_parent,
            )
            for (
                pk,
                tenant,
                attempts,
                subscription_id,
                url,
                secret,
                event_id,
                event_type,
                occurred_at,
                aggregate_id,
                sequence,
                correlation_id,
                data,
                trace_parent,
            ) in rows
        ]

    @staticmethod
    def _claim_orm(now, lease, limit, skip_subscriptions, after, per_subscription) -> list[tuple]:
        """The same claim through the ORM (SQLite: one writer at a time, so no row locks needed),
        subscription by subscription from the one after `after`."""
        # The head of its order's queue for this subscription: the lowest pending sequence.
        head_of_queue = (
            WebhookDelivery.objects.filter(
                subscription_id=OuterRef("subscription_id"),
                aggregate_id=OuterRef("aggregate_id"),
                status=PENDING,
            )
            .order_by("sequence")
            .values("sequence")[:1]
        )
        with transaction.atomic():
            due = (
                WebhookDelivery.objects.filter(status=PENDING, next_attempt_at__lte=now, subscription__active=True)
                .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
                .filter(sequence=Subquery(head_of_queue))
                .exclude(subscription_id__in=list(skip_subscriptions))
            )
            subscriptions = sorted({str(s) for s in due.order_by().values_list("subscription_id", flat=True)})
            ids: list[int] = []
            for subscription in _rotated(subscriptions, after):
                ids += (
                    due.filter(subscription_id=subscription)
                    .order_by("next_attempt_at", "id")
                    .values_list("id", flat=True)[: min(per_subscription, limit - len(ids))]
                )
                if len(ids) >= limit:
                    break
            if not ids:
                return []
            WebhookDelivery.objects.filter(id__in=ids).update(lease_until=now + lease)
            return list(
                WebhookDelivery.objects.filter(id__in=ids)
                .order_by("next_attempt_at", "id")
                .values_list(
                    "id",
                    "tenant_id",
                    "attempts",
                    "subscription_id",
                    "subscription__url",
                    "subscription__secret",
                    "event__event_id",
                    "event__type",
                    "event__occurred_at",
                    "event__aggregate_id",
                    "event__sequence",
                    "event__correlation_id",
                    "event__data",
                    "event__trace_parent",
                )
            )

    def record(self, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        rows = [
            (
                o.delivery.delivery_id,
                o.delivery.tenant_id,
                o.state.attempts,
                o.at,
                o.result.status_code,
                o.result.latency_ms,
                o.result.error[:500],
                o.state.status.value,
                o.state.next_attempt_at or o.at,
                o.at if o.result.succeeded else None,
            )
            for o in outcomes
        ]
        if connection.vendor == "postgresql":
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(RELAXED_COMMIT)
                cursor.execute(RECORD_SQL, [list(column) for column in zip(*rows)])
        else:
            with transaction.atomic():
                DeliveryAttempt.objects.bulk_create(
                    [
                        DeliveryAttempt(
                            tenant_id=tenant,
                            delivery_id=pk,
                            number=number,
                            attempted_at=at,
                            status_code=code,
                            latency_ms=latency,
                            error=error,
                        )
                        for pk, tenant, number, at, code, latency, error, *_ in rows
                    ]
                )
                WebhookDelivery.objects.bulk_update(
                    [
                        WebhookDelivery(
                            pk=pk,
                            status=status,
                            attempts=number,
                            lease_until=None,
                            next_attempt_at=next_at,
                            last_status_code=code,
                            last_error=error,
                            delivered_at=delivered,
                        )
                        for pk, tenant, number, at, code, latency, error, status, next_at, delivered in rows
                    ],
                    sorted(RECORD_COLUMNS["webhooks_delivery"]),  # the same columns as RECORD_SQL's
                )
        for outcome in outcomes:
            label = {"DELIVERED": "delivered", "DEAD": "dead"}.get(outcome.state.status.value, "retry")
            WEBHOOK_DELIVERIES.labels(label).inc()
            logger.info(
                "delivery %s of event %s: %s (attempt %s, HTTP %s, %s ms)%s",
                outcome.delivery.delivery_id,
                outcome.delivery.event_id,
                label,
                outcome.state.attempts,
                outcome.result.status_code,
                outcome.result.latency_ms,
                f": {outcome.result.error}" if outcome.result.error else "",
                extra={"tenant_id": outcome.delivery.tenant_id, "outcome": label},
            )

    def wait_for_events(self, seconds: float) -> None:
        self._listener.wait(seconds)

    def close(self) -> None:
        self._listener.close()


class OutboxListener:
    """Waits for `NOTIFY oms_outbox` on a connection of its own (PostgreSQL; where it connects:
    oms_project/kernel/listen.py); elsewhere, with `DATABASE_LISTEN_URL=off`, or when listening
    fails, it simply sleeps: the wake-up only shortens an idle wait."""

    def __init__(self) -> None:
        self._connection = None

    def wait(self, seconds: float) -> None:
        if connection.vendor != "postgresql":
            time.sleep(seconds)
            return
        try:
            listener = self._listen()
            if listener is None:  # DATABASE_LISTEN_URL=off (behind a transaction pooler): poll
                time.sleep(seconds)
                return
            ready, _, _ = select.select([listener.fileno()], [], [], seconds)
            if ready:
                for _ in listener.notifies(timeout=0):
                    pass
        except Exception as error:
            logger.warning("LISTEN %s failed (%s); polling instead", NOTIFY_CHANNEL, error)
            self.close()
            time.sleep(seconds)

    def _listen(self):
        if self._connection is None or self._connection.closed:
            import psycopg

            params = listen_params()
            if params is None:
                return None
            self._connection = psycopg.connect(**params, autocommit=True)
            self._connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _rotated(ordered: list[str], last: str) -> list[str]:
    """`ordered` starting after `last` (round-robin), then from the first up to `last`."""
    return [item for item in ordered if item > last] + [item for item in ordered if item <= last]


def redeliver(delivery_ids: list[int], now: datetime | None = None) -> int:
    """Dead deliveries get a fresh set of attempts, due now (their attempt log is kept)."""
    return WebhookDelivery.objects.filter(pk__in=delivery_ids, status=DeliveryStatus.DEAD.value).update(
        status=PENDING, attempts=0, next_attempt_at=now or _now(), lease_until=None
    )


class HttpSender:
    """POSTs over kept-alive connections, one per URL per lane thread (a lane's threads are its
    concurrency). Each connection is opened through the destination rules (resolved then, checked,
    connected to the checked address); a destination they refuse ends the delivery at once, with
    the reason recorded. A kept connection the subscriber has closed is noticed before reuse."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._targets: dict[str, tuple] = {}

    def _target(self, url: str) -> tuple:
        target = self._targets.get(url)
        if target is None:
            parsed = urllib.parse.urlsplit(url)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise DestinationRefused(f"not an http(s) URL: {url!r}")
            port = parsed.port or (443 if parsed.scheme == "https" else 80)
            path = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
            target = self._targets[url] = (parsed.scheme, parsed.hostname, port, path)
        return target

    def _connection(self, scheme: str, host: str, port: int, timeout: float):
        connections = self._local.__dict__.setdefault("connections", {})
        key = (scheme, host, port)
        kept = connections.get(key)
        if kept is not None and kept.sock is not None and _closed_by_peer(kept.sock):
            kept.close()
        if kept is None:
            kind = GuardedTlsConnection if scheme == "https" else GuardedPlainConnection
            kept = connections[key] = kind(host, port, timeout=timeout)
        kept.timeout = timeout
        if kept.sock is not None:
            kept.sock.settimeout(timeout)
        return kept

    def send(self, url: str, headers: dict[str, str], body: bytes, timeout: float) -> AttemptResult:
        started = time.perf_counter()
        conn = None
        try:
            scheme, host, port, path = self._target(url)
            conn = self._connection(scheme, host, port, timeout)
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            status = response.status
            text = "" if 200 <= status < 300 else response.read(200).decode("utf-8", "replace")
            response.read()  # the rest, so the connection can be used again
            if response.will_close:
                conn.close()
        except DestinationRefused as refused:
            if conn is not None:
                conn.close()
            return AttemptResult(None, _ms(started), f"destination refused: {refused}"[:500], permanent=True)
        except (http.client.HTTPException, OSError, ValueError) as error:
            if conn is not None:
                conn.close()
            return AttemptResult(None, _ms(started), f"{type(error).__name__}: {error}"[:500])
        error = "" if 200 <= status < 300 else f"HTTP {status}: {text}"
        return AttemptResult(status, _ms(started), error)


def _closed_by_peer(sock) -> bool:
    """A kept-alive socket with something to read before a request is sent: the peer closed it."""
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _now() -> datetime:
    from django.utils import timezone

    return timezone.now()
