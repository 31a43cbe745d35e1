"""Inbound webhook secrets (several active at once for rotation) and receipts (replay guard)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from identity.infrastructure.models import Tenant


class InboundWebhookSecret(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, db_column="tenant_id", related_name="+")
    secret = models.CharField(max_length=200, help_text="whsec_<base64>; shown once when created.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Set by rotation: the old secret's grace period.")
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


class InboundWebhookReceipt(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, db_column="tenant_id", related_name="+")
    webhook_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "webhooks_inbound_receipt"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "webhook_id"], name="inbound_receipt_once")
        ]
