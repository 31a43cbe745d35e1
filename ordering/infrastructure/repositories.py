"""The ports of `ordering.application.ports` over the ORM, each bound to one tenant.

Every query filters on the tenant it was built for; nothing here reads a global "current tenant".
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Prefetch, prefetch_related_objects

from oms_project.kernel import prepared
from ordering.application.ports import RetryUseCase
from ordering.domain.checkout import Catalog
from ordering.domain.errors import CouponExhausted, IdempotencyKeyReused
from ordering.domain.fulfilment import (
    Hold,
    HoldReason,
    Refund,
    ReturnRequest,
    ReturnStatus,
    Review,
    ReviewStatus,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
)
from ordering.domain.lifecycle import OrderStatus
from ordering.domain.order import (
    AppliedCoupon,
    Cancellation,
    ChosenPayment,
    HistoryEntry,
    Order,
    OrderLine,
    Payment,
    PaymentStatus,
    VendorShipping,
)
from ordering.domain.stock import Held, held_stock, stock_changes
from ordering.domain.values import Address, CustomerInfo, Money
from snapshots.domain.catalog import PaymentOption, TaxOption
from snapshots.domain.workflow import TenantWorkflow
from snapshots.infrastructure import models as snapshot_models
from snapshots.infrastructure.catalog_reader import (
    coupon_from_row,
    offer_from_row,
    product_from_row,
    shipping_option_from_row,
    vendor_from_row,
)

from . import json_rows, models, order_counts
from .stock_reservations import OrmStockReservations
from .write_batch import WriteBatch, WriteConflict

# -- rows <-> aggregate -----------------------------------------------------------------------

# The aggregate's child tables: (relation, model, order within one order).
CHILDREN = (
    ("lines", models.OrderLine, "position"),
    ("shipping", models.OrderShipping, "vendor_id"),
    ("coupons", models.OrderCoupon, "id"),
    ("shipments", models.Shipment, "position, c.id"),
    ("history", models.OrderHistoryEntry, "position"),
)


def _children_sql(orders: str) -> str:
    """Every child row of the orders `orders` selects, in one statement (PostgreSQL): one JSON
    array per table. Each table's index on (tenant_id, order_id, ...) serves it."""
    return "SELECT " + ",\n       ".join(
        f"(SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.order_id, c.{ordering}), '[]'::jsonb)::text "
        f"FROM {model._meta.db_table} AS c WHERE c.tenant_id = %(tenant)s AND c.order_id {orders})"
        for _, model, ordering in CHILDREN
    )


# A page of orders, and one order (plain equality: the plan cannot depend on statistics).
CHILDREN_SQL = _children_sql("= ANY(%(ids)s)")
ONE_ORDER_CHILDREN_SQL = _children_sql("= %(id)s")


def with_children(rows: list) -> list:
    """Attach each order's lines, shipping, coupons, shipments and history, so `to_domain` reads
    them without a query: one statement on PostgreSQL, one prefetch query per table elsewhere.
    `rows` are model instances (the ORM's) or `json_rows.Row`s (the repository's). Callers that
    lock the orders do so first, so the children are read after the lock."""
    if not rows:
        return rows
    if not prepared.on_postgresql():
        prefetch_related_objects(
            rows,
            *(
                Prefetch(
                    name,
                    queryset=model.objects.order_by(*[part.strip().removeprefix("c.") for part in ordering.split(",")]),
                )
                for name, model, ordering in CHILDREN
            ),
        )
        return rows
    with prepared.cursor() as cursor:
        if len(rows) == 1:
            cursor.execute(ONE_ORDER_CHILDREN_SQL, {"tenant": rows[0].tenant_id, "id": rows[0].id})
        else:
            cursor.execute(CHILDREN_SQL, {"tenant": rows[0].tenant_id, "ids": [row.id for row in rows]})
        arrays = cursor.fetchone()
    by_order = {row.id: row for row in rows}
    for (name, model, _), text in zip(CHILDREN, arrays):
        grouped: dict[uuid.UUID, json_rows.Children] = {row.id: json_rows.Children() for row in rows}
        for data in json_rows.loads(text):
            child = json_rows.row(model, data)
            grouped[child.order_id].append(child)
        for order_id, children in grouped.items():
            _attach(by_order[order_id], name, model, children)
    return rows


def _attach(row, name: str, model, children: json_rows.Children) -> None:
    """`row.<name>.all()` gives `children`: an attribute of a `Row`, a model's prefetch cache."""
    if isinstance(row, json_rows.Row):
        setattr(row, name, children)
        return
    cache = row.__dict__.setdefault("_prefetched_objects_cache", {})
    cached = model._default_manager.all()
    cached._result_cache, cached._prefetch_done = list(children), True
    cache[name] = cached


def _counted(order: Order) -> tuple[str, frozenset[str]]:
    """What the status counters know of an order: its status and its scopes."""
    return order.status.value, order_counts.scopes_of(order.customer.user_id, (line.vendor_id for line in order.lines))


def _children(order: Order) -> tuple:
    """A comparable copy of the children `save` may have to rewrite. Lines are the one mutable
    child: each is copied as the tuple of its field values (all of them immutable values)."""
    return (
        tuple(tuple(vars(line).values()) for line in order.lines),
        tuple(order.shipping),
        tuple(order.coupons),
        tuple(order.shipments),
    )


def _lines(items) -> tuple[ShipmentLine, ...]:
    return tuple(ShipmentLine(item["line_id"], item["quantity"]) for item in items)


def _line_items(lines) -> list[dict]:
    return [{"line_id": item.line_id, "quantity": item.quantity} for item in lines]


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def returns_from_json(items: list[dict]) -> list[ReturnRequest]:
    return [
        ReturnRequest(
            r["id"],
            r["vendor_id"],
            _lines(r["lines"]),
            r["reason"],
            ReturnStatus(r["status"]),
            r["requested_by"],
            _when(r["requested_at"]),
            r.get("decided_by"),
            _when(r.get("decided_at")),
            r.get("note", ""),
            _when(r.get("received_at")),
        )
        for r in items or []
    ]


def returns_to_json(returns: list[ReturnRequest]) -> list[dict]:
    return [
        {
            "id": r.return_id,
            "vendor_id": r.vendor_id,
            "lines": _line_items(r.lines),
            "reason": r.reason,
            "status": r.status.value,
            "requested_by": r.requested_by,
            "requested_at": _iso(r.requested_at),
            "decided_by": r.decided_by,
            "decided_at": _iso(r.decided_at),
            "note": r.note,
            "received_at": _iso(r.received_at),
        }
        for r in returns
    ]


def refunds_from_json(items: list[dict], currency: str) -> list[Refund]:
    return [
        Refund(r["id"], Money(Decimal(r["amount"]), currency), r["reason"], r["by"], _when(r["at"]), r.get("return_id"))
        for r in items or []
    ]


def refunds_to_json(refunds: list[Refund]) -> list[dict]:
    return [
        {
            "id": r.refund_id,
            "amount": str(r.amount.amount),
            "reason": r.reason,
            "by": r.by,
            "at": _iso(r.at),
            "return_id": r.return_id,
        }
        for r in refunds
    ]


def to_domain(row: models.Order) -> Order:
    currency = row.currency

    def money(amount: Decimal | None) -> Money | None:
        return None if amount is None else Money(amount, currency)

    payment = None
    if row.paid_at is not None:
        payment = Payment(row.payment_method, row.payment_reference, money(row.payment_amount), row.paid_at)
    cancellation = None
    if row.cancelled_at is not None:
        cancellation = Cancellation(row.cancel_reason, row.cancelled_by, row.cancelled_at)
    hold = None
    if row.hold_reason:
        hold = Hold(HoldReason(row.hold_reason), row.hold_note, row.held_by, row.held_at)
    review = None
    if row.review_status:
        review = Review(
            ReviewStatus(row.review_status),
            row.review_requested_at,
            row.review_level,
            row.review_assignee or None,
            row.reviewed_by or None,
            row.reviewed_at,
            row.review_note,
        )
    return Order(
        order_id=str(row.id),
        tenant_id=row.tenant_id,
        status=OrderStatus(row.status),
        payment_status=PaymentStatus(row.payment_status),
        currency=currency,
        customer=CustomerInfo(
            row.customer_user_id,
            row.customer_email,
            row.customer_first_name,
            row.customer_last_name,
            row.customer_phone,
        ),
        shipping_address=Address(
            row.shipping_line1,
            row.shipping_city,
            row.shipping_postal_code,
            row.shipping_country,
            row.shipping_line2,
            row.shipping_state,
        ),
        created_at=row.created_at,
        updated_at=row.updated_at,
        lines=[
            OrderLine(
                str(line.id),
                line.product_id,
                line.vendor_id,
                line.sku,
                line.product_name,
                line.quantity,
                money(line.unit_price),
                money(line.subtotal),
                money(line.discount),
                line.offer_id or None,
                line.shipped_quantity,
                line.tax_rate,
                line.tax_inclusive,
                money(line.tax_amount),
                line.weight,
            )
            for line in row.lines.all()
        ],
        shipping=[
            VendorShipping(
                s.vendor_id, s.option_id or None, s.name, s.carrier, money(s.cost), s.waived_by or None, s.delivery_days
            )
            for s in row.shipping.all()
        ],
        coupons=[AppliedCoupon(c.code, c.vendor_id, money(c.discount)) for c in row.coupons.all()],
        subtotal=money(row.subtotal),
        discount_total=money(row.discount_total),
        shipping_total=money(row.shipping_total),
        total=money(row.total),
        tax_total=money(row.tax_total),
        payment_option=ChosenPayment(row.payment_option_id, row.payment_option_method)
        if row.payment_option_id
        else None,
        number=row.number,
        placed_at=row.placed_at,
        payment=payment,
        shipments=[
            Shipment(
                str(s.id),
                s.vendor_id,
                s.carrier,
                s.tracking_number,
                _lines(s.lines),
                s.shipped_at,
                ShipmentStatus(s.status),
                s.created_at,
                s.updated_at,
            )
            for s in row.shipments.all()
        ],
        cancellation=cancellation,
        unfulfillable_reason=row.unfulfillable_reason,
        channel=row.channel,
        external_reference=row.external_reference,
        hold=hold,
        review=review,
        revision=row.revision,
        payment_adjustment=money(row.payment_adjustment),
        delivered_at=row.delivered_at,
        returns=returns_from_json(row.returns),
        refunds=refunds_from_json(row.refunds, currency),
        history=[
            HistoryEntry(
                h.at, h.actor, OrderStatus(h.from_status) if h.from_status else None, OrderStatus(h.to_status), h.note
            )
            for h in row.history.all()
        ],
        version=row.version,
        event_sequence=row.event_sequence,
    )


def _search_text(order: Order) -> str:
    parts = [
        order.number or "",
        order.customer.email,
        order.customer.first_name,
        order.customer.last_name,
        order.external_reference,
    ]
    for line in order.lines:
        parts += [line.sku, line.product_name]
    return " ".join(part.lower() for part in parts if part)


def _order_values(order: Order) -> dict:
    payment = order.payment
    cancellation = order.cancellation
    review = order.review
    address = order.shipping_address
    return {
        "number": order.number,
        "status": order.status.value,
        "payment_status": order.payment_status.value,
        "currency": order.currency,
        "customer_user_id": order.customer.user_id,
        "customer_email": order.customer.email,
        "customer_first_name": order.customer.first_name,
        "customer_last_name": order.customer.last_name,
        "customer_phone": order.customer.phone,
        "shipping_line1": address.line1,
        "shipping_line2": address.line2,
        "shipping_city": address.city,
        "shipping_state": address.state,
        "shipping_postal_code": address.postal_code,
        "shipping_country": address.country,
        "subtotal": order.subtotal.amount,
        "discount_total": order.discount_total.amount,
        "shipping_total": order.shipping_total.amount,
        "total": order.total.amount,
        "tax_total": order.tax_total.amount if order.tax_total else 0,
        "payment_option_id": order.payment_option.option_id if order.payment_option else "",
        "payment_option_method": order.payment_option.method if order.payment_option else "",
        "payment_method": payment.method if payment else "",
        "payment_reference": payment.reference if payment else "",
        "payment_amount": payment.amount.amount if payment else None,
        "paid_at": payment.paid_at if payment else None,
        "unfulfillable_reason": order.unfulfillable_reason,
        "channel": order.channel,
        "external_reference": order.external_reference,
        "cancel_reason": cancellation.reason if cancellation else "",
        "cancelled_by": cancellation.by if cancellation else "",
        "cancelled_at": cancellation.at if cancellation else None,
        "hold_reason": order.hold.reason.value if order.hold else "",
        "hold_note": order.hold.note if order.hold else "",
        "held_by": order.hold.by if order.hold else "",
        "held_at": order.hold.at if order.hold else None,
        "review_status": review.status.value if review else "",
        "review_level": review.level if review else 0,
        "review_assignee": (review.assignee or "") if review else "",
        "review_requested_at": review.requested_at if review else None,
        "reviewed_by": (review.decided_by or "") if review else "",
        "reviewed_at": review.decided_at if review else None,
        "review_note": review.note if review else "",
        "revision": order.revision,
        "payment_adjustment": order.payment_adjustment.amount if order.payment_adjustment else None,
        "delivered_at": order.delivered_at,
        "returns": returns_to_json(order.returns),
        "refunds": refunds_to_json(order.refunds),
        "search_text": _search_text(order),
        "version": order.version,
        "event_sequence": order.event_sequence,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "placed_at": order.placed_at,
    }


# The order row, locked (PostgreSQL): as JSON, read back by the model's own field types.
ORDER_SQL = f"SELECT to_jsonb(o)::text FROM {models.Order._meta.db_table} AS o WHERE o.tenant_id = %s AND o.id = %s"


def _order_row(tenant_id: str, order_id: uuid.UUID, lock: bool):
    """The order's row. With `lock`, the row is locked (and re-read at its latest version if we
    waited) before its children are read: the lock serialises every writer."""
    if not prepared.on_postgresql():
        rows = models.Order.objects.filter(tenant_id=tenant_id, id=order_id)
        return (rows.select_for_update(of=("self",)) if lock else rows).first()
    with prepared.cursor() as cursor:
        cursor.execute(ORDER_SQL + (" FOR UPDATE OF o" if lock else ""), [tenant_id, order_id])
        found = cursor.fetchone()
    return json_rows.row(models.Order, json_rows.loads(found[0])) if found else None


class StaleWrite(WriteConflict):
    """The row changed under a locked load: a bug or a lock that was not taken."""


class OrmOrderRepository:
    """Orders in and out. Writes are queued on the unit of work's batch, sent when it commits."""

    def __init__(self, tenant_id: str, writes: WriteBatch, stock: OrmStockReservations) -> None:
        self.tenant_id = tenant_id
        self.writes = writes
        self.stock = stock
        self.seen: list[Order] = []
        # order id -> (version, history, (status, count scopes)) as loaded or last written
        self._loaded: dict[str, tuple[int, int, tuple[str, frozenset[str]]]] = {}
        self._children: dict[str, tuple] = {}  # order id -> lines, shipping, coupons, shipments as loaded
        self._held: dict[str, dict[str, Held]] = {}  # order id -> the stock it holds as loaded

    def get(self, order_id: str, *, lock: bool = True) -> Order | None:
        """The order, with its row locked until the transaction ends (PostgreSQL `FOR UPDATE`)."""
        try:
            key = uuid.UUID(str(order_id))
        except ValueError:
            return None
        row = _order_row(self.tenant_id, key, lock)
        if row is None:
            return None
        order = to_domain(with_children([row])[0])
        self._track(order)
        return order

    def settle_late_values(self, drawn: dict[str, str]) -> None:
        """Orders whose number was a placeholder (`OrmOrderNumbers`) get the number drawn for it."""
        for order in self.seen:
            if order.number in drawn:
                order.number = drawn[order.number]

    def _track(self, order: Order) -> None:
        self._remember(order)
        self.seen.append(order)

    def _remember(self, order: Order) -> None:
        """The order as it is in the database now: what the next `save` compares against."""
        self._loaded[order.order_id] = (order.version, len(order.history), _counted(order))
        self._children[order.order_id] = _children(order)
        self._held[order.order_id] = held_stock(order)

    def _reserve(self, before: dict[str, Held], order: Order) -> None:
        """Reserve or release what the order holds now that it did not (`ordering.domain.stock`)."""
        self.stock.change(order.order_id, stock_changes(before, held_stock(order)), at=order.updated_at)

    def add(self, order: Order) -> None:
        order_id = uuid.UUID(order.order_id)
        self.writes.insert(models.Order, [{"id": order_id, "tenant_id": self.tenant_id, **_order_values(order)}])
        self._write_children(order, order_id, history_from=0)
        self._count(None, order)
        self._reserve({}, order)
        self._track(order)

    def save(self, order: Order) -> None:
        loaded_version, history, counted = self._loaded[order.order_id]
        self.writes.update(
            models.Order,
            {"tenant_id": self.tenant_id, "id": order.order_id, "version": loaded_version},
            _order_values(order),
            expect_one=f"order {order.order_id} changed since it was loaded",
        )
        row = uuid.UUID(order.order_id)
        before_lines, before_shipping, before_coupons, before_shipments = self._children[order.order_id]
        after_lines, after_shipping, after_coupons, after_shipments = _children(order)
        # Lines and shipments have ids of their own: only the rows that changed are written, all
        # in the batch. Shipping and coupons are rewritten whole when they changed (amendments).
        self._sync(
            models.OrderLine,
            {t[0]: (i, t) for i, t in enumerate(before_lines)},
            {t[0]: (i, t) for i, t in enumerate(after_lines)},
            self._line_rows(order, row),
        )
        self._sync(
            models.Shipment,
            {s.shipment_id: (i, s) for i, s in enumerate(before_shipments)},
            {s.shipment_id: (i, s) for i, s in enumerate(after_shipments)},
            self._shipment_rows(order, row),
        )
        for table, before, after, rows in (
            (models.OrderShipping, before_shipping, after_shipping, self._shipping_rows),
            (models.OrderCoupon, before_coupons, after_coupons, self._coupon_rows),
        ):
            if before != after:
                table.objects.filter(tenant_id=self.tenant_id, order_id=row).delete()
                self.writes.insert(table, rows(order, row))
        self.writes.insert(models.OrderHistoryEntry, self._history_rows(order, row, history))
        self._count(counted, order)
        self._reserve(self._held[order.order_id], order)
        self._remember(order)

    def _sync(self, model, before: dict, after: dict, rows: list) -> None:
        """Delete the rows gone, update the rows changed (by id), insert the new ones."""
        gone = [uuid.UUID(key) for key in before.keys() - after.keys()]
        if gone:
            self.writes.delete(model.objects.filter(tenant_id=self.tenant_id, id__in=gone))
        by_id = {str(r["id"]): r for r in rows}
        self.writes.insert(model, [by_id[key] for key in after if key not in before])
        for key in after:
            if key in before and before[key] != after[key]:
                values = dict(by_id[key])
                # Keyed by the order too, so the (tenant, order, position) index finds the row.
                self.writes.update(
                    model, {"tenant_id": self.tenant_id, "order_id": values["order_id"], "id": values.pop("id")}, values
                )

    def _count(self, before, order: Order) -> None:
        change = order_counts.change_sql(self.tenant_id, before, _counted(order))
        if change is not None:
            self.writes.raw(*change)

    def _write_children(self, order: Order, row: uuid.UUID, *, history_from: int) -> None:
        self.writes.insert(models.OrderLine, self._line_rows(order, row))
        self.writes.insert(models.OrderShipping, self._shipping_rows(order, row))
        self.writes.insert(models.OrderCoupon, self._coupon_rows(order, row))
        self.writes.insert(models.Shipment, self._shipment_rows(order, row))
        self.writes.insert(models.OrderHistoryEntry, self._history_rows(order, row, history_from))

    # The child rows of an order (`row`: its id), as field attname -> value for the write batch.

    def _line_rows(self, order: Order, row: uuid.UUID) -> list[dict]:
        return [
            dict(
                id=uuid.UUID(line.line_id),
                tenant_id=self.tenant_id,
                order_id=row,
                position=index,
                product_id=line.product_id,
                vendor_id=line.vendor_id,
                sku=line.sku,
                product_name=line.product_name,
                quantity=line.quantity,
                unit_price=line.unit_price.amount,
                subtotal=line.subtotal.amount,
                discount=line.discount.amount,
                offer_id=line.offer_id or "",
                shipped_quantity=line.shipped_quantity,
                tax_rate=line.tax_rate,
                tax_inclusive=line.tax_inclusive,
                tax_amount=None if line.fixed_tax is None else line.fixed_tax.amount,
                weight=line.weight,
            )
            for index, line in enumerate(order.lines)
        ]

    def _shipping_rows(self, order: Order, row: uuid.UUID) -> list[dict]:
        return [
            dict(
                tenant_id=self.tenant_id,
                order_id=row,
                vendor_id=s.vendor_id,
                option_id=s.option_id or "",
                name=s.name,
                carrier=s.carrier,
                cost=s.cost.amount,
                waived_by=s.waived_by or "",
                delivery_days=s.delivery_days,
            )
            for s in order.shipping
        ]

    def _coupon_rows(self, order: Order, row: uuid.UUID) -> list[dict]:
        return [
            dict(tenant_id=self.tenant_id, order_id=row, code=c.code, vendor_id=c.vendor_id, discount=c.discount.amount)
            for c in order.coupons
        ]

    def _shipment_rows(self, order: Order, row: uuid.UUID) -> list[dict]:
        return [
            dict(
                id=uuid.UUID(s.shipment_id),
                tenant_id=self.tenant_id,
                order_id=row,
                position=index,
                vendor_id=s.vendor_id,
                status=s.status.value,
                carrier=s.carrier,
                tracking_number=s.tracking_number,
                shipped_at=s.shipped_at,
                created_at=s.created_at,
                updated_at=s.updated_at,
                lines=_line_items(s.lines),
            )
            for index, s in enumerate(order.shipments)
        ]

    def _history_rows(self, order: Order, row: uuid.UUID, start: int) -> list[dict]:
        return [
            dict(
                tenant_id=self.tenant_id,
                order_id=row,
                position=position,
                at=h.at,
                actor=h.actor,
                from_status=h.from_status.value if h.from_status else "",
                to_status=h.to_status.value,
                note=h.note,
            )
            for position, h in enumerate(order.history[start:], start=start)
        ]


def _catalog_sql(payment_options: bool) -> str:
    """Everything one cart refers to, in one statement (PostgreSQL): one JSON array per table, and
    the tenant's workflow (placement reads it next)."""

    def rows(model, where: str) -> str:
        return (
            f"(SELECT coalesce(jsonb_agg(to_jsonb(r)), '[]'::jsonb)::text FROM {model._meta.db_table} AS r "
            f"WHERE r.tenant_id = %(tenant)s AND {where})"
        )

    vendors = "r.vendor_id IN (SELECT vendor_id FROM products)"
    product = snapshot_models.ProductSnapshot._meta.db_table
    return (
        f"WITH products AS (SELECT * FROM {product} WHERE tenant_id = %(tenant)s AND product_id = ANY(%(products)s))\n"
        "SELECT (SELECT coalesce(jsonb_agg(to_jsonb(r)), '[]'::jsonb)::text FROM products AS r),\n       "
        + ",\n       ".join(
            [
                rows(snapshot_models.VendorSnapshot, vendors),
                rows(snapshot_models.OfferSnapshot, f"{vendors} AND r.active"),
                rows(snapshot_models.CouponSnapshot, "r.code = ANY(%(coupons)s)"),
                rows(models.CouponUsage, "r.code = ANY(%(coupons)s)"),
                rows(snapshot_models.ShippingOptionSnapshot, "r.option_id = ANY(%(options)s)"),
                rows(snapshot_models.TaxOptionSnapshot, f"{vendors} AND r.active"),
                rows(snapshot_models.PaymentOptionSnapshot, "r.active") if payment_options else "'[]'",
                f"(SELECT to_jsonb(r)::text FROM {snapshot_models.TenantWorkflowSnapshot._meta.db_table} AS r "
                "WHERE r.tenant_id = %(tenant)s LIMIT 1)",
            ]
        )
    )


CATALOG_SQL = {wanted: _catalog_sql(wanted) for wanted in (False, True)}  # with or without payment options


class OrmCatalogReader:
    """Loads the snapshots one cart refers to: one statement on PostgreSQL, a fixed number of
    queries elsewhere. On PostgreSQL it also brings the tenant's workflow (`workflow`)."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.workflow: TenantWorkflow | None = None  # set by a PostgreSQL load

    def load(
        self, *, product_ids: list[str], coupon_codes: list[str], option_ids: list[str], payment_options: bool = False
    ) -> Catalog:
        if prepared.on_postgresql():
            rows = self._load_sql(product_ids, coupon_codes, option_ids, payment_options)
        else:
            rows = self._load_orm(product_ids, coupon_codes, option_ids, payment_options)
        products, vendors, offers, coupons, uses, options, taxes, payments = rows
        products = [product_from_row(row) for row in products]
        return Catalog(
            products={p.product_id: p for p in products},
            vendors={v.vendor_id: v for v in map(vendor_from_row, vendors)},
            offers=[offer_from_row(row) for row in offers],
            coupons={c.code: c for c in map(coupon_from_row, coupons)},
            coupon_uses={row.code: row.used for row in uses},
            shipping_options={o.option_id: o for o in map(shipping_option_from_row, options)},
            tax_options={
                r.tax_key: TaxOption(r.tax_key, r.vendor_id, r.country, r.rate, r.inclusive, r.active, r.version)
                for r in taxes
            },
            payment_options={
                r.option_id: PaymentOption(r.option_id, r.vendor_id, r.method, r.name, r.active, r.version)
                for r in payments
            },
        )

    def _load_sql(self, product_ids, coupon_codes, option_ids, payment_options) -> list[list]:
        with prepared.cursor() as cursor:
            cursor.execute(
                CATALOG_SQL[bool(payment_options)],
                {
                    "tenant": self.tenant_id,
                    "products": list(product_ids),
                    "coupons": list(coupon_codes),
                    "options": list(option_ids),
                },
            )
            *arrays, workflow = cursor.fetchone()
        kinds = (
            snapshot_models.ProductSnapshot,
            snapshot_models.VendorSnapshot,
            snapshot_models.OfferSnapshot,
            snapshot_models.CouponSnapshot,
            models.CouponUsage,
            snapshot_models.ShippingOptionSnapshot,
            snapshot_models.TaxOptionSnapshot,
            snapshot_models.PaymentOptionSnapshot,
        )
        row = json_rows.row(snapshot_models.TenantWorkflowSnapshot, json_rows.loads(workflow)) if workflow else None
        self.workflow = workflow_from_row(row)
        return [[json_rows.row(model, data) for data in json_rows.loads(text)] for model, text in zip(kinds, arrays)]

    def _load_orm(self, product_ids, coupon_codes, option_ids, payment_options) -> list[list]:
        tenant = self.tenant_id
        products = list(snapshot_models.ProductSnapshot.objects.filter(tenant_id=tenant, product_id__in=product_ids))
        vendor_ids = sorted({p.vendor_id for p in products})
        return [
            products,
            list(snapshot_models.VendorSnapshot.objects.filter(tenant_id=tenant, vendor_id__in=vendor_ids)),
            list(snapshot_models.OfferSnapshot.objects.filter(tenant_id=tenant, vendor_id__in=vendor_ids, active=True)),
            list(snapshot_models.CouponSnapshot.objects.filter(tenant_id=tenant, code__in=coupon_codes))
            if coupon_codes
            else [],
            list(models.CouponUsage.objects.filter(tenant_id=tenant, code__in=coupon_codes)) if coupon_codes else [],
            list(snapshot_models.ShippingOptionSnapshot.objects.filter(tenant_id=tenant, option_id__in=option_ids))
            if option_ids
            else [],
            list(
                snapshot_models.TaxOptionSnapshot.objects.filter(
                    tenant_id=tenant, vendor_id__in=vendor_ids, active=True
                )
            )
            if vendor_ids
            else [],
            list(snapshot_models.PaymentOptionSnapshot.objects.filter(tenant_id=tenant, active=True))
            if payment_options
            else [],
        ]


def workflow_from_row(row) -> TenantWorkflow:
    if row is None:
        return TenantWorkflow()
    return TenantWorkflow(row.review_required, row.review_min_total, row.return_window_days, row.version)


class OrmCouponUsage:
    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id

    def redeem(self, code: str, limit: int | None, *, field: str) -> None:
        """Count one use; refuse if that would pass `limit`. One conditional UPDATE, so two
        concurrent placements cannot both take the last use (the second waits on the row lock,
        then re-reads `used`)."""
        models.CouponUsage.objects.bulk_create(
            [models.CouponUsage(tenant_id=self.tenant_id, code=code, used=0)], ignore_conflicts=True
        )
        rows = models.CouponUsage.objects.filter(tenant_id=self.tenant_id, code=code)
        if limit is not None:
            rows = rows.filter(used__lt=limit)
        if rows.update(used=F("used") + 1) != 1:
            raise CouponExhausted(f"coupon {code} has been used up", field=field)


# The tenant's next number: its counter row created at 1 or incremented, row-locked until commit.
NEXT_NUMBER_SQL = (
    "INSERT INTO ordering_number_counter (tenant_id, last_number) VALUES (%s, 1) "
    "ON CONFLICT (tenant_id) DO UPDATE SET last_number = ordering_number_counter.last_number + 1 "
    "RETURNING CAST(1000 + last_number AS TEXT) AS value"
)


class OrmOrderNumbers:
    def __init__(self, tenant_id: str, writes: WriteBatch) -> None:
        self.tenant_id = tenant_id
        self.writes = writes

    def next_number(self) -> str:
        """The tenant's next number, taken under the counter's row lock until commit: concurrent
        placements queue on it, and a rolled-back placement gives its number back.

        On PostgreSQL the number is drawn in the unit of work's write batch (`late_value`): the
        order carries a placeholder until the batch's statement takes the number and writes it
        into the order's row, its search text and its events, so the counter stays locked only
        from that statement to the commit. `OrmOrderRepository.settle_late_values` then gives the
        order its number."""
        return self.writes.late_value(NEXT_NUMBER_SQL, (self.tenant_id,), self._draw_now)

    def _draw_now(self) -> str:
        with prepared.cursor() as cursor:
            cursor.execute(NEXT_NUMBER_SQL, [self.tenant_id])
            return cursor.fetchone()[0]


class OrmIdempotencyKeys:
    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id

    def claim(self, user_id: str, operation: str, key: str, request_hash: str) -> str | None:
        """None if this call is the key's first use (the key is now taken), else the order the
        first use made. A different request under a used key is refused."""
        existing = models.IdempotencyKey.objects.filter(
            tenant_id=self.tenant_id, user_id=user_id, operation=operation, key=key
        ).first()
        if existing is None:
            try:
                with transaction.atomic():
                    models.IdempotencyKey.objects.create(
                        tenant_id=self.tenant_id,
                        user_id=user_id,
                        operation=operation,
                        key=key,
                        request_hash=request_hash,
                    )
            except IntegrityError:
                # A concurrent first use committed while we waited on the unique index.
                raise RetryUseCase(key) from None
            return None
        if existing.request_hash != request_hash:
            raise IdempotencyKeyReused(
                "this idempotency key was used with a different request", field="idempotency_key"
            )
        return str(existing.order_id)

    def settle(self, user_id: str, operation: str, key: str, order_id: str) -> None:
        models.IdempotencyKey.objects.filter(
            tenant_id=self.tenant_id, user_id=user_id, operation=operation, key=key
        ).update(order_id=order_id)


class OrmWorkflowReader:
    def __init__(self, tenant_id: str, catalog: OrmCatalogReader | None = None) -> None:
        self.tenant_id = tenant_id
        self.catalog = catalog

    def get(self) -> TenantWorkflow:
        """The tenant's workflow: the one the unit of work's catalog load brought, if any."""
        if self.catalog is not None and self.catalog.workflow is not None:
            return self.catalog.workflow
        row = snapshot_models.TenantWorkflowSnapshot.objects.filter(tenant_id=self.tenant_id).first()
        return workflow_from_row(row)


class OrmShipmentFinder:
    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id

    def by_tracking_number(self, tracking_number: str, carrier: str | None) -> list[tuple[str, str]]:
        rows = models.Shipment.objects.filter(tenant_id=self.tenant_id, tracking_number=tracking_number)
        if carrier:
            rows = rows.filter(carrier__iexact=carrier)
        return [(str(o), str(s)) for o, s in rows.order_by("order_id", "id").values_list("order_id", "id")]
