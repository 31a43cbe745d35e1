"""The read model of `order` and `orders`: visibility, filters, search and keyset pages in SQL.

A page costs a fixed number of queries whatever its size: one COUNT, one SELECT of the page and
one per child table (prefetched). Every index used starts with the tenant.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import connection
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat

from identity.domain.principal import Principal
from ordering.application.ports import OrderPage
from ordering.application.queries import OrderCriteria, OrderSort
from ordering.domain.errors import Invalid
from ordering.domain.lifecycle import OrderStatus
from ordering.domain.order import Order

from . import models, order_counts
from .repositories.order_rows import to_domain, with_children
from .repositories.orders import order_row

_SORT = {
    OrderSort.CREATED_AT_DESC: ("created_at", True),
    OrderSort.CREATED_AT_ASC: ("created_at", False),
    OrderSort.TOTAL_DESC: ("total", True),
    OrderSort.TOTAL_ASC: ("total", False),
}


def _has_lines_of(vendor_id: str) -> Exists:
    return Exists(
        models.OrderLine.objects.filter(tenant_id=OuterRef("tenant_id"), order_id=OuterRef("id"), vendor_id=vendor_id)
    )


def visible_to(principal: Principal) -> Q:
    """access.can_see as a query: staff everything, customers their own, vendors placed orders
    with their lines. No role, no rows."""
    if principal.is_staff:
        return Q()
    visible = Q(pk__in=[])
    if principal.is_customer:
        visible |= Q(customer_user_id=principal.user_id)
    if principal.is_vendor:
        visible |= Q(_has_lines_of(principal.vendor_id)) & ~Q(status=OrderStatus.DRAFT.value)
    if principal.is_integration:
        visible |= Q(channel=principal.channel_id) & ~Q(channel="")
    return visible


def search_text_contains(search: str) -> Q:
    """Orders whose search text contains `search`. On PostgreSQL through `oms_order_search`
    (migration ordering/0005), which can use the trigram index under row-level security."""
    if connection.vendor == "postgresql":
        return Q(id__in=RawSQL("SELECT * FROM oms_order_search(%s)", [search]))
    return Q(search_text__contains=search)


def matching(principal: Principal, search: str) -> Q:
    """`search` over what the caller may see. Staff and the owning customer search the whole order;
    a vendor searches the number, the customer and its own lines only, so a search for another
    vendor's SKU never reveals which orders contain it (marketplace privacy)."""
    whole_order = search_text_contains(search)
    if principal.is_staff:
        return whole_order
    found = Q(pk__in=[])
    if principal.is_customer:
        found |= Q(customer_user_id=principal.user_id) & whole_order
    if principal.is_integration:
        found |= Q(channel=principal.channel_id) & ~Q(channel="") & whole_order
    if principal.is_vendor:
        own_lines = models.OrderLine.objects.filter(
            tenant_id=OuterRef("tenant_id"),
            order_id=OuterRef("id"),
            vendor_id=principal.vendor_id,
        ).filter(Q(sku__icontains=search) | Q(product_name__icontains=search))
        found |= (
            Q(number__icontains=search)
            | Q(customer_email__icontains=search)
            | Q(customer_full_name__icontains=search)
            | Q(Exists(own_lines))
        )
    return found


def encode_cursor(sort: OrderSort, row: models.Order) -> str:
    column, _ = _SORT[sort]
    value = getattr(row, column)
    key = value.isoformat() if isinstance(value, datetime) else str(value)
    raw = json.dumps([sort.value, key, str(row.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_cursor(sort: OrderSort, cursor: str) -> tuple[object, uuid.UUID]:
    try:
        sort_name, key, row_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if sort_name != sort.value:
            raise ValueError("cursor of another sort")
        value = datetime.fromisoformat(key) if _SORT[sort][0] == "created_at" else Decimal(key)
        return value, uuid.UUID(row_id)
    except (ValueError, TypeError, binascii.Error, InvalidOperation, json.JSONDecodeError):
        raise Invalid("not a cursor of this list and sort", field="after") from None


ALL_STATUSES = frozenset(s.value for s in OrderStatus)
PLACED_STATUSES = ALL_STATUSES - {OrderStatus.DRAFT.value}


def counted_scope(criteria: OrderCriteria) -> tuple[str, frozenset[str]] | None:
    """The counter scope and statuses equal to what `filtered` returns, or None when the filters
    go beyond one scope and statuses (search, payment status, dates, mixed roles)."""
    viewer, f = criteria.viewer, criteria.filter
    if criteria.search or f.payment_statuses or f.created_after or f.created_before or f.channel:
        return None
    wanted = frozenset(f.statuses) if f.statuses else ALL_STATUSES
    if viewer.is_staff:
        if f.vendor_id and f.customer_id:
            return None
        if f.vendor_id:
            return order_counts.vendor_scope(f.vendor_id), wanted
        if f.customer_id:
            return order_counts.customer_scope(f.customer_id), wanted
        return "", wanted
    if viewer.is_integration:
        return None
    if viewer.is_customer and not viewer.is_vendor and not f.vendor_id and not f.customer_id:
        return order_counts.customer_scope(viewer.user_id), wanted
    if (
        viewer.is_vendor
        and not viewer.is_customer
        and viewer.vendor_id
        and not f.customer_id
        and f.vendor_id in (None, "", viewer.vendor_id)
    ):
        return order_counts.vendor_scope(viewer.vendor_id), wanted & PLACED_STATUSES
    return None


class OrmOrderReader:
    def get(self, tenant_id: str, order_id: str) -> Order | None:
        try:
            key = uuid.UUID(str(order_id))
        except ValueError:
            return None
        row = order_row(tenant_id, key, lock=False)  # the repository's prepared statement
        return to_domain(with_children([row])[0]) if row else None

    def filtered(self, criteria: OrderCriteria) -> QuerySet:
        viewer = criteria.viewer
        rows = models.Order.objects.filter(tenant_id=viewer.tenant_id).filter(visible_to(viewer))
        f = criteria.filter
        if f.statuses:
            rows = rows.filter(status__in=list(f.statuses))
        if f.payment_statuses:
            rows = rows.filter(payment_status__in=list(f.payment_statuses))
        if f.vendor_id:
            rows = rows.filter(_has_lines_of(f.vendor_id))
        if f.customer_id:
            rows = rows.filter(customer_user_id=f.customer_id)
        if f.created_after:
            rows = rows.filter(created_at__gte=f.created_after)
        if f.created_before:
            rows = rows.filter(created_at__lt=f.created_before)
        if f.channel:
            rows = rows.filter(channel=f.channel)
        if criteria.search:
            if viewer.is_vendor and not viewer.is_staff:
                rows = rows.annotate(
                    customer_full_name=Concat(
                        "customer_first_name", Value(" "), "customer_last_name", output_field=CharField()
                    )
                )
            rows = rows.filter(matching(viewer, criteria.search))
        return rows

    @staticmethod
    def _count(criteria: OrderCriteria, rows: QuerySet) -> int:
        """`totalCount`: from the status counters (constant time at any size) when what the
        caller sees is one counted scope narrowed by status at most; otherwise a COUNT."""
        counted = counted_scope(criteria)
        if counted is None:
            return rows.count()
        scope, statuses = counted
        return order_counts.count(criteria.viewer.tenant_id, scope, statuses)

    def page(self, criteria: OrderCriteria) -> OrderPage:
        """The page, its `totalCount` and the orders' children: on PostgreSQL the counted total
        rides along with the page query as a scalar subquery, so a page is two statements."""
        rows = self.filtered(criteria)
        counted = counted_scope(criteria)
        column, descending = _SORT[criteria.sort]
        page_rows = rows
        if criteria.after:
            value, row_id = _decode_cursor(criteria.sort, criteria.after)
            if descending:
                page_rows = rows.filter(Q(**{f"{column}__lt": value}) | Q(**{column: value, "id__lt": row_id}))
            else:
                page_rows = rows.filter(Q(**{f"{column}__gt": value}) | Q(**{column: value, "id__gt": row_id}))
        if counted is not None:
            page_rows = page_rows.annotate(
                counted_total=order_counts.count_expression(criteria.viewer.tenant_id, *counted)
            )
        order_by = [f"-{column}", "-id"] if descending else [column, "id"]
        page = list(page_rows.order_by(*order_by)[: criteria.first + 1])
        if counted is not None and page:
            total_count = page[0].counted_total
        else:
            total_count = self._count(criteria, rows)
        has_next = len(page) > criteria.first
        page = with_children(page[: criteria.first])
        return OrderPage(
            [to_domain(row) for row in page], total_count, has_next, [encode_cursor(criteria.sort, row) for row in page]
        )
