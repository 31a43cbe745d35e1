"""Snapshot tables: per-tenant, read-only copies of upstream data.

Every table is keyed by (tenant, upstream id) with the tenant first, carries the upstream
`version`, and is written only through the application layer.
"""

from __future__ import annotations

from django.db import models

from identity.infrastructure.models import Tenant


class SnapshotModel(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, db_column="tenant_id", related_name="+")
    version = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class CustomerDetailsSnapshot(SnapshotModel):
    user_id = models.CharField(max_length=255)
    email = models.CharField(max_length=254)
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    phone = models.CharField(max_length=40, blank=True)

    class Meta:
        db_table = "snapshots_customer"
        verbose_name = "customer details"
        verbose_name_plural = "customer details"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user_id"], name="snapshot_customer_key")
        ]
        indexes = [models.Index(fields=["tenant", "email"], name="snapshot_customer_email")]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name} <{self.email}>"


class CustomerAddressSnapshot(SnapshotModel):
    address_id = models.CharField(max_length=255)
    user_id = models.CharField(max_length=255)
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=120)
    state = models.CharField(max_length=120, blank=True)
    postal_code = models.CharField(max_length=20)
    country = models.CharField(max_length=2)
    is_default = models.BooleanField(default=False)

    class Meta:
        db_table = "snapshots_customer_address"
        verbose_name = "customer address"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "address_id"], name="snapshot_address_key")
        ]
        indexes = [models.Index(fields=["tenant", "user_id"], name="snapshot_address_user")]

    def __str__(self) -> str:
        return f"{self.line1}, {self.postal_code} {self.city}, {self.country}"


class UserAuthorizationSnapshot(SnapshotModel):
    user_id = models.CharField(max_length=255)
    roles = models.JSONField(default=list)
    vendor_id = models.CharField(max_length=255, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "snapshots_user_authorization"
        verbose_name = "user authorization"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user_id"], name="snapshot_authorization_key")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {', '.join(self.roles)}"
