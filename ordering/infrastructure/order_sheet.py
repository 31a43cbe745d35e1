"""The export's reads (`ordering/application/exports.py`): the tenant's orders matching the list's
filters, oldest first by keyset (created_at, id) through the `order_created` index read backwards,
and their lines a batch at a time. Plain values, no model instances, so memory stays flat."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import Q, QuerySet

from ordering.application.exports import ExportedLine, ExportedOrder, ExportOrders

from . import models
from .order_queries import search_text_contains

_ORDER_FIELDS = (
    "id",
    "number",
    "status",
    "payment_status",
    "channel",
    "created_at",
    "placed_at",
    "customer_email",
    "customer_first_name",
    "customer_last_name",
    "shipping_country",
    "currency",
    "subtotal",
    "discount_total",
    "shipping_total",
    "tax_total",
    "total",
    "payment_method",
    "paid_at",
)
_LINE_FIELDS = (
    "order_id",
    "position",
    "sku",
    "product_name",
    "vendor_id",
    "quantity",
    "unit_price",
    "discount",
    "subtotal",
    "tax_rate",
)


class OrmOrderSheet:
    """`base`: the orders to start from (the admin's order list with its filters and search);
    by default every order of the tenant. The command's filters narrow it further."""

    def __init__(self, tenant_id: str, base: QuerySet | None = None) -> None:
        self.tenant_id = tenant_id
        self.base = base if base is not None else models.Order.objects.all()

    def _matching(self, command: ExportOrders) -> QuerySet:
        rows = self.base.filter(tenant_id=self.tenant_id)
        if command.statuses:
            rows = rows.filter(status__in=list(command.statuses))
        if command.since:
            rows = rows.filter(created_at__gte=command.since)
        if command.until:
            rows = rows.filter(created_at__lt=command.until)
        if command.search:
            rows = rows.filter(search_text_contains(command.search))
        return rows

    def count(self, command: ExportOrders) -> int:
        return self._matching(command).count()

    def orders(self, command: ExportOrders, after: tuple[datetime, str] | None, limit: int) -> list[ExportedOrder]:
        rows = self._matching(command)
        if after is not None:
            at, order_id = after
            # `created_at >= at` bounds the index range (an OR alone would be a filter over every
            # row before it: a million-order export read quadratically); the OR settles ties.
            rows = rows.filter(Q(created_at__gte=at), Q(created_at__gt=at) | Q(id__gt=uuid.UUID(order_id)))
        found = rows.order_by("created_at", "id").values_list(*_ORDER_FIELDS)[:limit]
        # _ORDER_FIELDS in order; the customer's two names become one column.
        return [ExportedOrder(str(row[0]), *row[1:8], f"{row[8]} {row[9]}".strip(), *row[10:]) for row in found]

    def lines(self, order_ids: list[str]) -> dict[str, list[ExportedLine]]:
        found: dict[str, list[ExportedLine]] = {}
        rows = (
            models.OrderLine.objects.filter(tenant_id=self.tenant_id, order_id__in=[uuid.UUID(i) for i in order_ids])
            .order_by("order_id", "position")
            .values_list(*_LINE_FIELDS)
        )
        for order_id, *values in rows:
            found.setdefault(str(order_id), []).append(ExportedLine(*values))
        return found
