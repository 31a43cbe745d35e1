"""Snapshot tables: per-tenant, read-only copies of upstream data.

Every table is keyed by (tenant, upstream id) with the tenant first, carries the upstream
`version`, and is written only through the application layer.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SnapshotModel(models.Model):
    tenant = models.ForeignKey(
        settings.OMS_TENANT_MODEL, on_delete=models.PROTECT, db_column="tenant_id", related_name="+"
    )
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
        constraints = [models.UniqueConstraint(fields=["tenant", "user_id"], name="snapshot_customer_key")]
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
        constraints = [models.UniqueConstraint(fields=["tenant", "address_id"], name="snapshot_address_key")]
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
        constraints = [models.UniqueConstraint(fields=["tenant", "user_id"], name="snapshot_authorization_key")]

    def __str__(self) -> str:
        return f"{self.user_id}: {', '.join(self.roles)}"


def amount_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=14, decimal_places=4, **kwargs)


class VendorSnapshot(SnapshotModel):
    vendor_id = models.CharField(max_length=255)
    name = models.CharField(max_length=200)
    active = models.BooleanField()
    country = models.CharField(max_length=2)
    currency = models.CharField(max_length=3)

    class Meta:
        db_table = "snapshots_vendor"
        verbose_name = "vendor"
        constraints = [models.UniqueConstraint(fields=["tenant", "vendor_id"], name="snapshot_vendor_key")]

    def __str__(self) -> str:
        return f"{self.name} ({self.vendor_id})"


class ProductSnapshot(SnapshotModel):
    product_id = models.CharField(max_length=255)
    vendor_id = models.CharField(max_length=255)
    sku = models.CharField(max_length=100)
    name = models.CharField(max_length=300)
    price_amount = amount_field()
    price_currency = models.CharField(max_length=3)
    active = models.BooleanField()
    available_quantity = models.IntegerField(
        null=True, blank=True, help_text="Sellable units as the inventory system counted them; empty: unlimited."
    )
    as_of = models.DateTimeField(null=True, blank=True, help_text="When the inventory system counted them.")
    reserved_quantity = models.IntegerField(
        default=0, help_text="Units placed orders hold that the count does not include yet (docs/inventory.md)."
    )
    counted_until = models.DateTimeField(
        null=True, blank=True, help_text="The count includes the reservations made up to this time."
    )
    min_quantity = models.IntegerField(default=1)
    max_quantity = models.IntegerField(null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "snapshots_product"
        verbose_name = "vendor product"
        constraints = [models.UniqueConstraint(fields=["tenant", "product_id"], name="snapshot_product_key")]
        indexes = [
            models.Index(fields=["tenant", "vendor_id"], name="snapshot_product_vendor"),
            models.Index(fields=["tenant", "sku"], name="snapshot_product_sku"),
            # The dashboard's sold-out list (snapshots/infrastructure/stock_report.py): only the
            # products with nothing left are in it, so it stays small whatever the catalog's size.
            models.Index(
                fields=["tenant", "sku"],
                condition=models.Q(active=True, available_quantity__lte=models.F("reserved_quantity")),
                name="snapshot_product_sold_out",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class CouponSnapshot(SnapshotModel):
    code = models.CharField(max_length=64)
    vendor_id = models.CharField(max_length=255, blank=True, help_text="Empty: tenant-wide.")
    kind = models.CharField(max_length=10)
    value = amount_field()
    currency = models.CharField(max_length=3, blank=True)
    min_subtotal_amount = amount_field(null=True, blank=True)
    min_subtotal_currency = models.CharField(max_length=3, blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    usage_limit = models.IntegerField(null=True, blank=True)
    active = models.BooleanField()

    class Meta:
        db_table = "snapshots_coupon"
        verbose_name = "vendor coupon"
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="snapshot_coupon_key")]

    def __str__(self) -> str:
        return self.code


class OfferSnapshot(SnapshotModel):
    offer_id = models.CharField(max_length=255)
    vendor_id = models.CharField(max_length=255)
    kind = models.CharField(max_length=20)
    value = amount_field(null=True, blank=True)
    product_ids = models.JSONField(default=list, blank=True, help_text="Empty: all of the vendor's products.")
    min_quantity = models.IntegerField(default=1)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    priority = models.IntegerField(default=0)
    active = models.BooleanField()

    class Meta:
        db_table = "snapshots_offer"
        verbose_name = "vendor offer"
        constraints = [models.UniqueConstraint(fields=["tenant", "offer_id"], name="snapshot_offer_key")]
        indexes = [models.Index(fields=["tenant", "vendor_id"], name="snapshot_offer_vendor")]

    def __str__(self) -> str:
        return f"{self.offer_id} ({self.kind})"


class ShippingOptionSnapshot(SnapshotModel):
    option_id = models.CharField(max_length=255)
    vendor_id = models.CharField(max_length=255)
    name = models.CharField(max_length=200)
    carrier = models.CharField(max_length=100)
    base_cost_amount = amount_field()
    base_cost_currency = models.CharField(max_length=3)
    per_item_cost_amount = amount_field(null=True, blank=True)
    per_item_cost_currency = models.CharField(max_length=3, blank=True)
    free_over_amount = amount_field(null=True, blank=True)
    free_over_currency = models.CharField(max_length=3, blank=True)
    countries = models.JSONField(default=list)
    delivery_days = models.IntegerField(null=True, blank=True)
    active = models.BooleanField()

    class Meta:
        db_table = "snapshots_shipping_option"
        verbose_name = "vendor shipping option"
        constraints = [models.UniqueConstraint(fields=["tenant", "option_id"], name="snapshot_shipping_key")]
        indexes = [models.Index(fields=["tenant", "vendor_id"], name="snapshot_shipping_vendor")]

    def __str__(self) -> str:
        return f"{self.name} ({self.carrier})"


class TenantWorkflowSnapshot(SnapshotModel):
    """A tenant's workflow settings (one row per tenant): set by `tenant_workflow.upserted` or here."""

    workflow_key = models.CharField(max_length=20, default="default", editable=False)
    review_required = models.BooleanField(default=False, help_text="Placed orders wait for reviewOrder.")
    review_min_total = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Review only orders with at least this total; empty: all.",
    )
    return_window_days = models.PositiveIntegerField(default=30, help_text="Days after delivery to ask for a return.")

    class Meta:
        db_table = "snapshots_tenant_workflow"
        verbose_name = "tenant workflow"
        constraints = [models.UniqueConstraint(fields=["tenant", "workflow_key"], name="snapshot_workflow_key")]

    def __str__(self) -> str:
        return f"workflow of {self.tenant_id}"


class TaxOptionSnapshot(SnapshotModel):
    """A vendor's tax for one destination country (key "<vendor_id>:<country>")."""

    tax_key = models.CharField(max_length=210)
    vendor_id = models.CharField(max_length=200)
    country = models.CharField(max_length=2)
    rate = models.DecimalField(max_digits=7, decimal_places=4, help_text="Percent.")
    inclusive = models.BooleanField(help_text="Included in the vendor's prices, or added on top.")
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "snapshots_tax_option"
        verbose_name = "tax option"
        constraints = [models.UniqueConstraint(fields=["tenant", "tax_key"], name="snapshot_tax_option_key")]
        indexes = [models.Index(fields=["tenant", "vendor_id"], name="snapshot_tax_option_vendor")]

    def __str__(self) -> str:
        return f"{self.vendor_id} to {self.country}: {self.rate}%"


class PaymentOptionSnapshot(SnapshotModel):
    """A way to pay that a vendor (or, with no vendor, every vendor of the tenant) accepts."""

    option_id = models.CharField(max_length=255)
    vendor_id = models.CharField(max_length=255, blank=True)
    method = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "snapshots_payment_option"
        verbose_name = "payment option"
        constraints = [models.UniqueConstraint(fields=["tenant", "option_id"], name="snapshot_payment_option_key")]

    def __str__(self) -> str:
        return f"{self.name} ({self.method})"


class StockReservation(models.Model):
    """One change to what a placed order holds of a product: positive reserves, negative releases
    (docs/inventory.md). `at` is the time of the order event that made it; a product snapshot
    counted at `as_of` includes the changes up to then, and the product's `reserved_quantity` is
    the sum of those after it."""

    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey(
        settings.OMS_TENANT_MODEL, on_delete=models.PROTECT, db_column="tenant_id", related_name="+", db_index=False
    )
    product_id = models.CharField(max_length=255)
    order_id = models.UUIDField()
    quantity = models.IntegerField()
    at = models.DateTimeField()

    class Meta:
        db_table = "snapshots_stock_reservation"
        verbose_name = "stock reservation"
        indexes = [
            models.Index(fields=["tenant", "product_id", "at"], name="stock_reservation_product"),
            models.Index(fields=["tenant", "order_id"], name="stock_reservation_order"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.quantity:+d} ({self.order_id})"
