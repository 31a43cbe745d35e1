"""The relay's ports over the ORM and `requests`."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

import requests
from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery

from oms_project.metrics import WEBHOOK_DELIVERIES
from ordering.application.event_payloads import envelope
from ordering.infrastructure.models import OutboxEvent
from webhooks.application.relay import ClaimedDelivery
from webhooks.domain.outbound import AttemptResult, DeliveryStatus, NextState, body_of, subscribed

from webhooks.domain.destinations import DestinationRefused

from .destinations import guarded_session
from .models import DeliveryAttempt, WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)
PENDING = DeliveryStatus.PENDING.value
FAN_OUT_LOCK = 0x4F4D53  # pg_advisory_xact_lock key: one fan-out at a time


class OrmDeliveryStore:
    def fan_out(self, limit: int, now: datetime) -> int:
        """Turn undispatched outbox events into one delivery per matching active subscription,
        in outbox order, and mark them dispatched. Returns the number of events handled."""
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FAN_OUT_LOCK])
            events = list(OutboxEvent.objects.filter(dispatched_at__isnull=True).order_by("position")[:limit])
            if not events:
                return 0
            tenants = {e.tenant_id for e in events}
            subscriptions: dict[str, list[WebhookSubscription]] = {}
            for sub in WebhookSubscription.objects.filter(tenant_id__in=tenants, active=True):
                subscriptions.setdefault(sub.tenant_id, []).append(sub)
            deliveries = [
                WebhookDelivery(tenant_id=e.tenant_id, subscription=sub, event=e, aggregate_id=e.aggregate_id,
                                sequence=e.sequence, next_attempt_at=now)
                for e in events for sub in subscriptions.get(e.tenant_id, []) if subscribed(sub.event_types, e.type)
            ]
            WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
            OutboxEvent.objects.filter(position__in=[e.position for e in events]).update(dispatched_at=now)
            return len(events)

    def claim(self, now: datetime, lease: timedelta) -> ClaimedDelivery | None:
        # The head of its order's queue for this subscription: the lowest pending sequence. A
        # correlated LIMIT 1 subquery, so PostgreSQL probes `delivery_order_pending` once per
        # candidate row instead of joining every pending row with every other.
        head_of_queue = WebhookDelivery.objects.filter(
            subscription_id=OuterRef("subscription_id"), aggregate_id=OuterRef("aggregate_id"), status=PENDING,
        ).order_by("sequence").values("sequence")[:1]
        with transaction.atomic():
            row = (WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                   .filter(status=PENDING, next_attempt_at__lte=now, subscription__active=True)
                   .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
                   .filter(sequence=Subquery(head_of_queue))
                   .select_related("subscription", "event")
                   .order_by("next_attempt_at", "id")
                   .first())
            if row is None:
                return None
            row.lease_until = now + lease
            row.save(update_fields=["lease_until"])
        sub, event = row.subscription, row.event
        body = body_of(envelope(
            event_id=str(event.event_id), event_type=event.type, occurred_at=event.occurred_at,
            tenant_id=event.tenant_id, aggregate_id=str(event.aggregate_id), sequence=event.sequence,
            correlation_id=event.correlation_id, data=event.data))
        return ClaimedDelivery(row.pk, row.tenant_id, sub.url, sub.secret, str(event.event_id), body, row.attempts)

    def record(self, delivery: ClaimedDelivery, result: AttemptResult, state: NextState, at: datetime) -> None:
        with transaction.atomic():
            DeliveryAttempt.objects.create(
                tenant_id=delivery.tenant_id, delivery_id=delivery.delivery_id, number=state.attempts,
                attempted_at=at, status_code=result.status_code, latency_ms=result.latency_ms,
                error=result.error[:500])
            WebhookDelivery.objects.filter(pk=delivery.delivery_id).update(
                status=state.status.value, attempts=state.attempts, lease_until=None,
                next_attempt_at=state.next_attempt_at or at, last_status_code=result.status_code,
                last_error=result.error[:500], delivered_at=at if result.succeeded else None)
        outcome = {"DELIVERED": "delivered", "DEAD": "dead"}.get(state.status.value, "retry")
        WEBHOOK_DELIVERIES.labels(outcome).inc()
        logger.info("delivery %s of event %s: %s (attempt %s, HTTP %s, %s ms)", delivery.delivery_id,
                    delivery.event_id, outcome, state.attempts, result.status_code, result.latency_ms,
                    extra={"tenant_id": delivery.tenant_id, "outcome": outcome})


def redeliver(delivery_ids: list[int], now: datetime | None = None) -> int:
    """Dead deliveries get a fresh set of attempts, due now (their attempt log is kept)."""
    return WebhookDelivery.objects.filter(pk__in=delivery_ids, status=DeliveryStatus.DEAD.value).update(
        status=PENDING, attempts=0, next_attempt_at=now or _now(), lease_until=None)


class RequestsSender:
    """Posts over a guarded session: a destination the rules refuse (resolved now, at send time)
    ends the delivery at once, with the reason recorded."""

    def __init__(self) -> None:
        self.session = guarded_session()

    def send(self, url: str, headers: dict[str, str], body: bytes, timeout: float) -> AttemptResult:
        started = time.perf_counter()
        try:
            response = self.session.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
        except DestinationRefused as refused:
            return AttemptResult(None, _ms(started), f"destination refused: {refused}"[:500], permanent=True)
        except requests.RequestException as error:
            return AttemptResult(None, _ms(started), f"{type(error).__name__}: {error}"[:500])
        error = "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}: {response.text[:200]}"
        return AttemptResult(response.status_code, _ms(started), error)


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _now() -> datetime:
    from django.utils import timezone

    return timezone.now()
