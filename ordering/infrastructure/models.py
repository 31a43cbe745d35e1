"""Order tables. Every row carries its tenant, and every index starts with it.

The aggregate lives in `order.py` of the domain; `order_rows.py` maps it to these rows and
back. Money is stored as an amount column in the order's currency (`Order.currency`).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import validate_slug
from django.db import models
from django.db.models import Q

from ordering.domain.fulfilment import HoldReason, ReviewStatus, ShipmentStatus
from ordering.domain.intake import CHANNEL_KINDS
from ordering.domain.lifecycle import OrderStatus
from ordering.domain.order import PaymentStatus


def amount_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=14, decimal_places=4, **kwargs)


def tenant_field() -> models.ForeignKey:
    """The owning tenant. No index of its own: every table's indexes and unique constraints lead
    with it, so a single-column index would only cost writes and tempt the planner."""
    return models.ForeignKey(
        settings.OMS_TENANT_MODEL, on_delete=models.PROTECT, db_column="tenant_id", related_name="+", db_index=False
    )


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = tenant_field()
    number = models.CharField(max_length=32, null=True, blank=True, help_text="Given when the order is placed.")
    status = models.CharField(max_length=20, choices=[(s.value, s.value) for s in OrderStatus])
    payment_status = models.CharField(max_length=20, choices=[(s.value, s.value) for s in PaymentStatus])
    currency = models.CharField(max_length=3)

    customer_user_id = models.CharField(max_length=255)
    customer_email = models.CharField(max_length=254)
    customer_first_name = models.CharField(max_length=150)
    customer_last_name = models.CharField(max_length=150)
    customer_phone = models.CharField(max_length=40, blank=True)

    shipping_line1 = models.CharField(max_length=200)
    shipping_line2 = models.CharField(max_length=200, blank=True)
    shipping_city = models.CharField(max_length=120)
    shipping_state = models.CharField(max_length=120, blank=True)
    shipping_postal_code = models.CharField(max_length=20)
    shipping_country = models.CharField(max_length=2)

    subtotal = amount_field()
    discount_total = amount_field()
    shipping_total = amount_field()
    tax_total = amount_field(default=0)
    total = amount_field()
    payment_option_id = models.CharField(max_length=255, blank=True, help_text="Chosen at checkout, if any.")
    payment_option_method = models.CharField(max_length=40, blank=True)

    payment_method = models.CharField(max_length=40, blank=True)
    payment_reference = models.CharField(max_length=200, blank=True)
    payment_amount = amount_field(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    unfulfillable_reason = models.CharField(max_length=500, blank=True, help_text="Set while UNFULFILLABLE.")
    channel = models.CharField(
        max_length=63, blank=True, help_text="The sales channel it was imported from; empty: our checkout."
    )
    external_reference = models.CharField(max_length=255, blank=True, help_text="The channel's own reference.")
    cancel_reason = models.CharField(max_length=500, blank=True)
    cancelled_by = models.CharField(max_length=255, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    hold_reason = models.CharField(
        max_length=30,
        blank=True,
        choices=[(r.value, r.value) for r in HoldReason],
        help_text="Set while the order is on hold.",
    )
    hold_note = models.CharField(max_length=500, blank=True)
    held_by = models.CharField(max_length=255, blank=True)
    held_at = models.DateTimeField(null=True, blank=True)

    review_status = models.CharField(
        max_length=20,
        blank=True,
        choices=[(r.value, r.value) for r in ReviewStatus],
        help_text="Empty: the tenant's workflow did not ask for a review.",
    )
    review_level = models.PositiveSmallIntegerField(default=0)
    review_assignee = models.CharField(max_length=255, blank=True)
    review_requested_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.CharField(max_length=255, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(max_length=500, blank=True)

    revision = models.PositiveIntegerField(default=0, help_text="Amendments after placing.")
    payment_adjustment = amount_field(
        null=True, blank=True, help_text="What amendments changed a paid total by: + owed, - to refund."
    )
    delivered_at = models.DateTimeField(null=True, blank=True)
    returns = models.JSONField(default=list, blank=True, help_text="Return requests, oldest first.")
    refunds = models.JSONField(default=list, blank=True, help_text="Refunds, oldest first.")

    search_text = models.TextField(blank=True, help_text="Lower-cased number, SKUs, names and email for search.")
    version = models.PositiveIntegerField(default=1)
    event_sequence = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    placed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "ordering_order"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "number"], condition=Q(number__isnull=False), name="order_number_per_tenant"
            ),
            models.UniqueConstraint(
                fields=["tenant", "channel", "external_reference"],
                condition=~Q(channel=""),
                name="order_external_reference",
            ),
        ]
        # How the repository finds an order: by tenant and id, the primary key on PostgreSQL
        # (webhooks migration 0005, docs/scaling.md). Ids alone stay indexed for the admin.
        indexes = [
            models.Index(fields=["id"], name="order_id_lookup"),
            models.Index(fields=["tenant", "-created_at", "-id"], name="order_created"),
            models.Index(fields=["tenant", "-total", "-id"], name="order_total"),
            models.Index(fields=["tenant", "customer_user_id", "-created_at"], name="order_customer"),
            models.Index(fields=["tenant", "status", "-created_at"], name="order_status"),
            models.Index(fields=["tenant", "customer_email"], name="order_customer_email"),
        ]

    def __str__(self) -> str:
        return self.number or f"draft {self.id}"


class OrderLine(models.Model):
    id = models.UUIDField(primary_key=True, editable=False)
    tenant = tenant_field()
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    product_id = models.CharField(max_length=255)
    vendor_id = models.CharField(max_length=255)
    sku = models.CharField(max_length=100)
    product_name = models.CharField(max_length=300)
    quantity = models.PositiveIntegerField()
    unit_price = amount_field()
    subtotal = amount_field()
    discount = amount_field()
    offer_id = models.CharField(max_length=255, blank=True)
    shipped_quantity = models.PositiveIntegerField(default=0)
    tax_rate = models.DecimalField(max_digits=7, decimal_places=4, default=0, help_text="Percent, frozen.")
    tax_inclusive = models.BooleanField(default=False)
    tax_amount = amount_field(null=True, blank=True, help_text="The tax a sales channel charged (imported orders).")
    weight = models.DecimalField(
        max_digits=12,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Kilograms, as the sales channel sent it (imported orders).",
    )

    class Meta:
        db_table = "ordering_order_line"
        ordering = ["position"]
        indexes = [
            models.Index(fields=["tenant", "order", "position"], name="order_line_order"),
            models.Index(fields=["tenant", "vendor_id", "order"], name="order_line_vendor"),
            models.Index(fields=["tenant", "sku"], name="order_line_sku"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class OrderShipping(models.Model):
    tenant = tenant_field()
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipping")
    vendor_id = models.CharField(max_length=255)
    option_id = models.CharField(max_length=255, blank=True, help_text="Empty: not chosen yet.")
    name = models.CharField(max_length=200, blank=True)
    carrier = models.CharField(max_length=100, blank=True)
    cost = amount_field()
    waived_by = models.CharField(max_length=255, blank=True)
    delivery_days = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        db_table = "ordering_order_shipping"
        ordering = ["vendor_id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "order", "vendor_id"], name="order_shipping_vendor")]

    def __str__(self) -> str:
        return f"{self.vendor_id}: {self.option_id or 'not chosen'}"


class OrderCoupon(models.Model):
    tenant = tenant_field()
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="coupons")
    code = models.CharField(max_length=64)
    vendor_id = models.CharField(max_length=255, blank=True)
    discount = amount_field()

    class Meta:
        db_table = "ordering_order_coupon"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "order", "code"], name="order_coupon_code")]

    def __str__(self) -> str:
        return self.code


class Shipment(models.Model):
    id = models.UUIDField(primary_key=True, editable=False)
    tenant = tenant_field()
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    vendor_id = models.CharField(max_length=255)
    position = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(
        max_length=20, choices=[(s.value, s.value) for s in ShipmentStatus], default=ShipmentStatus.SHIPPED.value
    )
    carrier = models.CharField(max_length=100, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    lines = models.JSONField(help_text='[{"line_id": ..., "quantity": ...}]')
    shipped_at = models.DateTimeField(null=True, blank=True, help_text="When it was handed to the carrier.")
    created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True, help_text="Last change or carrier update.")

    class Meta:
        db_table = "ordering_shipment"
        ordering = ["position", "id"]
        indexes = [
            models.Index(fields=["tenant", "tracking_number"], name="shipment_tracking"),
            models.Index(fields=["tenant", "order", "position"], name="shipment_order"),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class OrderHistoryEntry(models.Model):
    tenant = tenant_field()
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="history")
    position = models.PositiveIntegerField()
    at = models.DateTimeField()
    actor = models.CharField(max_length=255)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        db_table = "ordering_order_history"
        ordering = ["position"]
        verbose_name_plural = "order history entries"
        constraints = [models.UniqueConstraint(fields=["tenant", "order", "position"], name="order_history_position")]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"


class OrderNumberCounter(models.Model):
    """The last order number given in a tenant; incremented in the placing transaction."""

    tenant = models.OneToOneField(
        settings.OMS_TENANT_MODEL, on_delete=models.PROTECT, primary_key=True, db_column="tenant_id", related_name="+"
    )
    last_number = models.PositiveBigIntegerField(default=0)

    class Meta:
        db_table = "ordering_number_counter"


class OrderStatusCount(models.Model):
    """How many orders of a scope are in each status: the whole tenant (scope ""), one vendor's
    ("v:<vendor id>", orders with its lines) or one customer's ("c:<user id>"). Tenant and vendor
    counts are spread over a few slots so that concurrent transitions rarely wait on one row. The
    orders list reads `totalCount` from here; see order_counts.py."""

    tenant = tenant_field()
    scope = models.CharField(max_length=300, default="", blank=True)
    status = models.CharField(max_length=20)
    slot = models.PositiveSmallIntegerField()
    count = models.BigIntegerField(default=0)

    class Meta:
        db_table = "ordering_order_status_count"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "scope", "status", "slot"], name="order_status_count_slot")
        ]


class CouponUsage(models.Model):
    """How many placed orders used a coupon; checked against its usage limit atomically."""

    tenant = tenant_field()
    code = models.CharField(max_length=64)
    used = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "ordering_coupon_usage"
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="coupon_usage_code")]

    def __str__(self) -> str:
        return f"{self.code}: {self.used}"


class SalesChannel(models.Model):
    """A storefront, marketplace or point of sale that sends the tenant orders it has sold
    (docs/integrations.md). Its `channel_id` names it in URLs, tokens and the API; its signing
    secrets are webhooks' inbound secrets with this channel."""

    tenant = tenant_field()
    channel_id = models.CharField(max_length=63, validators=[validate_slug])
    kind = models.CharField(max_length=20, choices=CHANNEL_KINDS, default="generic")
    accept_any_vendor = models.BooleanField(
        default=False, help_text="Take lines of vendors the tenant's vendor snapshots do not know."
    )
    active = models.BooleanField(default=True, help_text="Off once revoked: neither door takes its orders.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "ordering_sales_channel"
        constraints = [models.UniqueConstraint(fields=["tenant", "channel_id"], name="sales_channel_once")]

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.channel_id}"


class IdempotencyKey(models.Model):
    """The first use of an idempotency key by one user for one operation, and what it made."""

    tenant = tenant_field()
    user_id = models.CharField(max_length=255)
    operation = models.CharField(max_length=40)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    order_id = models.UUIDField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "ordering_idempotency_key"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user_id", "operation", "key"], name="idempotency_key_once"),
        ]


class OutboxEvent(models.Model):
    """A domain event, written in the transaction of the change that raised it (the transactional
    outbox). The relay (webhooks app) fans each one out to the tenant's subscriptions."""

    position = models.BigAutoField(primary_key=True, help_text="Insertion order; the relay reads in it.")
    event_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False, help_text="webhook-id on delivery.")
    tenant = tenant_field()
    type = models.CharField(max_length=64)
    aggregate_id = models.UUIDField(help_text="The order.")
    sequence = models.PositiveIntegerField(help_text="Per order, from 1.")
    data = models.JSONField()
    occurred_at = models.DateTimeField()
    correlation_id = models.CharField(max_length=100, blank=True)
    trace_parent = models.CharField(
        max_length=55, blank=True, default="", help_text="W3C traceparent of the operation that raised it (tracing on)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True, help_text="When the relay fanned it out.")
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="When the event stream acknowledged it (OMS_EVENT_STREAM_URL)."
    )
    stream_sequence = models.BigIntegerField(
        null=True, blank=True, help_text="Its sequence on the event stream: what an erasure deletes there."
    )

    class Meta:
        db_table = "ordering_outbox_event"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "aggregate_id", "sequence"], name="outbox_event_sequence")
        ]
        # The relay takes waiting events tenant by tenant, round-robin (webhooks/infrastructure/
        # outbound.py and stream.py): these find the tenants with events waiting and each one's oldest.
        indexes = [
            models.Index(
                fields=["tenant", "position"], condition=Q(dispatched_at__isnull=True), name="outbox_undispatched"
            ),
            models.Index(
                fields=["tenant", "position"], condition=Q(published_at__isnull=True), name="outbox_unpublished"
            ),
            models.Index(fields=["created_at"], name="outbox_created"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.sequence} of {self.aggregate_id}"


class CustomerErasureRecord(models.Model):
    """The erasure log (docs/privacy.md): who asked to erase which customer, when, why, and which
    orders it went through. It never holds an erased value."""

    tenant = tenant_field()
    customer_user_id = models.CharField(max_length=255)
    requested_by = models.CharField(max_length=255)
    reason = models.CharField(max_length=500)
    order_ids = models.JSONField(default=list)
    cancelled_order_ids = models.JSONField(default=list)
    held_personal_data = models.BooleanField(help_text="False: nothing was left to erase (erased before).")
    erased_at = models.DateTimeField()

    class Meta:
        db_table = "ordering_customer_erasure"
        indexes = [models.Index(fields=["tenant", "customer_user_id", "erased_at"], name="erasure_customer")]

    def __str__(self) -> str:
        return f"erasure of {self.customer_user_id} at {self.erased_at:%Y-%m-%d %H:%M}"


class DailyFigure(models.Model):
    """The dashboard's daily rollup: per UTC day, metric (placed, product, cancelled, refunded,
    shipped), currency and key (a SKU, a shipping-time bucket), a count and an amount. Kept in the
    transaction of every order change, netted like the status counters and spread over the same
    slots; a figure is the sum over its slots (ordering/infrastructure/daily_figures.py)."""

    tenant = tenant_field()
    day = models.DateField()
    metric = models.CharField(max_length=16)
    currency = models.CharField(max_length=3)
    key = models.CharField(max_length=100, default="", blank=True)
    slot = models.PositiveSmallIntegerField()
    count = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=24, decimal_places=4, default=0)

    class Meta:
        db_table = "ordering_daily_figure"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "metric", "day", "currency", "key", "slot"], name="daily_figure_slot"
            )
        ]


class InvoiceCounter(models.Model):
    """The last number given to a tenant's invoices, or to its credit notes (one counter per kind):
    raised in the transaction that issues the document, so a number is used exactly when its
    document commits (gapless)."""

    tenant = tenant_field()
    kind = models.CharField(max_length=12)
    last_number = models.PositiveBigIntegerField(default=0)

    class Meta:
        db_table = "ordering_invoice_counter"
        constraints = [models.UniqueConstraint(fields=["tenant", "kind"], name="invoice_counter_kind")]


class Invoice(models.Model):
    """An issued invoice or credit note: its number and the document as issued, never changed
    (on PostgreSQL a trigger refuses UPDATE and DELETE). An amendment or a cancellation credits
    the invoice with a credit note (`credits`) and, for an amendment, issues a new invoice."""

    id = models.UUIDField(primary_key=True)
    tenant = tenant_field()
    sequence = models.PositiveBigIntegerField()
    number = models.CharField(max_length=40)
    kind = models.CharField(max_length=12)  # INVOICE, CREDIT_NOTE
    order_id = models.UUIDField()
    order_revision = models.PositiveIntegerField()
    credits = models.UUIDField(null=True, blank=True, help_text="The invoice this credit note cancels.")
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=14, decimal_places=4)
    issued_at = models.DateTimeField()
    document = models.JSONField()

    class Meta:
        db_table = "ordering_invoice"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "sequence"], name="invoice_sequence"),
            models.UniqueConstraint(fields=["tenant", "credits"], name="invoice_credited_once"),
        ]
        indexes = [models.Index(fields=["tenant", "order_id", "sequence"], name="invoice_order")]

    def __str__(self) -> str:
        return self.number


class OrderExport(models.Model):
    """An export of the order list started from the admin (docs/admin.md, "Exporting orders"):
    large ones run in the background and leave a file to download here until deleted."""

    RUNNING, DONE, FAILED = "RUNNING", "DONE", "FAILED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = tenant_field()
    requested_by = models.CharField(max_length=255)
    format = models.CharField(max_length=4)  # csv, xlsx
    lines = models.BooleanField(default=False, help_text="One row per line instead of per order.")
    query = models.CharField(max_length=2000, blank=True, help_text="The order list's filters and search.")
    status = models.CharField(max_length=8, default=RUNNING)
    orders = models.PositiveIntegerField(default=0, help_text="Orders written.")
    file_name = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "ordering_order_export"
        indexes = [models.Index(fields=["tenant", "created_at"], name="order_export_created")]

    def __str__(self) -> str:
        return f"{self.format.upper()} export of {self.created_at:%Y-%m-%d %H:%M}"
