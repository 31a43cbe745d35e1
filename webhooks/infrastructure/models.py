"""Inbound webhook secrets (several active at once for rotation) and receipts (replay guard)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone


class InboundWebhookSecret(models.Model):
    tenant = models.ForeignKey(
        settings.OMS_TENANT_MODEL, on_delete=models.PROTECT, db_column="tenant_id", related_name="+"
    )
    secret = models.CharField(max_length=200, help_text="whsec_<base64>; shown once when created.")
    channel = models.CharField(
        max_length=63,
        blank=True,
        default="",
        help_text="Empty: the tenant's snapshot webhooks; else that sales channel's orders.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Set by rotation: the old secret's grace period."
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "webhooks_inbound_secret"
        verbose_name = "inbound webhook secret"
        indexes = [models.Index(fields=["tenant", "revoked_at"], name="inbound_secret_active")]

    def __str__(self) -> str:
        return f"{self.tenant_id} secret #{self.pk} ({self.state})"

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= timezone.now():
            return "expired"
        return "active" if not self.expires_at else "expiring"

    @property
    def masked(self) -> str:
        return f"{self.secret[:10]}…"

    @classmethod
    def active_q(cls, now) -> Q:
        return Q(revoked_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))

    @classmethod
    def rotate(cls, tenant_id: str, grace: timedelta, now=None, *, channel: str = "") -> InboundWebhookSecret:
        """A new secret for the tenant (or one of its sales channels); the current secrets without
        an end expire after `grace` (senders switch over meanwhile). The caller shows it once."""
        from webhooks.domain.signatures import new_secret

        now = now or timezone.now()
        with transaction.atomic():
            cls.objects.filter(cls.active_q(now), tenant_id=tenant_id, channel=channel, expires_at__isnull=True).update(
                expires_at=now + grace
            )
            return cls.objects.create(tenant_id=tenant_id, channel=channel, secret=new_secret())


class CarrierWebhookSecret(models.Model):
    """The secret a tracking aggregator signs a tenant's webhooks with (EasyPost's webhook_secret,
    AfterShip's webhook secret): chosen or shown at the provider, set here with
    `manage.py carrier_secret` (docs/integrations.md)."""

    tenant = models.ForeignKey(
        settings.OMS_TENANT_MODEL, on_delete=models.PROTECT, db_column="tenant_id", related_name="+"
    )
    provider = models.CharField(max_length=40)
    secret = models.CharField(max_length=500)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "webhooks_carrier_secret"
        constraints = [models.UniqueConstraint(fields=["tenant", "provider"], name="carrier_secret_once")]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.provider}"


class InboundWebhookReceipt(models.Model):
    tenant = models.ForeignKey(
        settings.OMS_TENANT_MODEL, on_delete=models.PROTECT, db_column="tenant_id", related_name="+"
    )
    webhook_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "webhooks_inbound_receipt"
        constraints = [models.UniqueConstraint(fields=["tenant", "webhook_id"], name="inbound_receipt_once")]


# -- outbound ------------------------------------------------------------------------------------


def validate_url(value: str) -> None:
    """A subscription URL: https (or allowed http) to a public or operator-listed destination."""
    from .destinations import validate_subscription_url

    validate_subscription_url(value)


DELIVERY_STATUSES = [("PENDING", "pending"), ("DELIVERED", "delivered"), ("DEAD", "dead")]


class WebhookSubscription(models.Model):
    """Where a tenant's order events go: a URL, its own signing secret, the event types wanted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(
        settings.OMS_TENANT_MODEL, on_delete=models.PROTECT, db_column="tenant_id", related_name="+"
    )
    url = models.CharField(
        max_length=500,
        validators=[validate_url],
        help_text="https (http where the operator allows it); private, loopback and link-local "
        "destinations only where the operator lists them.",
    )
    secret = models.CharField(max_length=200, editable=False, help_text="whsec_<base64>; shown once when created.")
    event_types = models.JSONField(default=list, blank=True, help_text="Empty: every event type.")
    active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "webhooks_subscription"
        indexes = [models.Index(fields=["tenant", "active"], name="subscription_tenant_active")]

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.url}"

    @property
    def masked_secret(self) -> str:
        return f"{self.secret[:10]}…"

    def rotate_secret(self) -> str:
        """A new signing secret, effective for the next delivery; returned to be shown once."""
        from webhooks.domain.signatures import new_secret

        self.secret = new_secret()
        WebhookSubscription.objects.filter(pk=self.pk).update(secret=self.secret)
        return self.secret


class WebhookDelivery(models.Model):
    """One event for one subscription, until it is delivered or dead."""

    tenant = models.ForeignKey(
        settings.OMS_TENANT_MODEL, on_delete=models.PROTECT, db_column="tenant_id", related_name="+"
    )
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("ordering.OutboxEvent", on_delete=models.CASCADE, related_name="deliveries")
    aggregate_id = models.UUIDField()
    sequence = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=DELIVERY_STATUSES, default="PENDING")
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True, help_text="A relay is sending it until then.")
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "webhooks_delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["subscription", "event"], name="delivery_once")]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="PENDING"), name="delivery_due"),
            # Claims take each subscription's due deliveries in turn (round-robin, outbound.py).
            models.Index(
                fields=["tenant", "subscription", "next_attempt_at", "id"],
                condition=Q(status="PENDING"),
                name="delivery_due_by_subscription",
            ),
            models.Index(
                fields=["subscription", "aggregate_id", "sequence"],
                condition=Q(status="PENDING"),
                name="delivery_order_pending",
            ),
            models.Index(fields=["tenant", "status", "-created_at"], name="delivery_tenant_status"),
            # /metrics counts dead deliveries at every scrape: a partial index keeps that small.
            models.Index(fields=["id"], condition=Q(status="DEAD"), name="delivery_dead"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.subscription_id} ({self.status})"


class DeliveryAttempt(models.Model):
    tenant = models.ForeignKey(
        settings.OMS_TENANT_MODEL, on_delete=models.PROTECT, db_column="tenant_id", related_name="+"
    )
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField()
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        db_table = "webhooks_delivery_attempt"
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.status_code or self.error}"
