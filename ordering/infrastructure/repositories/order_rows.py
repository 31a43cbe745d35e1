"""An order and its rows, both ways: the aggregate made from `to_jsonb` rows of the order and its
children (one statement for any number of orders), and the rows the write batch sends for an
aggregate (`order_values`, the child rows). No SQL is sent from here."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from django.db.models import Prefetch, prefetch_related_objects

from oms_project.kernel import prepared
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
from ordering.domain.values import Address, CustomerInfo, Money

from .. import json_rows, models, order_counts

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


def counted_scopes(order: Order) -> tuple[str, frozenset[str]]:
    """What the status counters know of an order: its status and its scopes."""
    return order.status.value, order_counts.scopes_of(order.customer.user_id, (line.vendor_id for line in order.lines))


def children_of(order: Order) -> tuple:
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


def line_items(lines) -> list[dict]:
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
            "lines": line_items(r.lines),
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


def search_text(order: Order) -> str:
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


def order_values(order: Order) -> dict:
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
        "search_text": search_text(order),
        "version": order.version,
        "event_sequence": order.event_sequence,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "placed_at": order.placed_at,
    }


# The order row, locked (PostgreSQL): as JSON, read back by the model's own field types.


# The child rows of an order (`row`: its id), as field attname -> value for the write batch.


def line_rows(tenant_id: str, order: Order, row: uuid.UUID) -> list[dict]:
    return [
        dict(
            id=uuid.UUID(line.line_id),
            tenant_id=tenant_id,
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


def shipping_rows(tenant_id: str, order: Order, row: uuid.UUID) -> list[dict]:
    return [
        dict(
            tenant_id=tenant_id,
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


def coupon_rows(tenant_id: str, order: Order, row: uuid.UUID) -> list[dict]:
    return [
        dict(tenant_id=tenant_id, order_id=row, code=c.code, vendor_id=c.vendor_id, discount=c.discount.amount)
        for c in order.coupons
    ]


def shipment_rows(tenant_id: str, order: Order, row: uuid.UUID) -> list[dict]:
    return [
        dict(
            id=uuid.UUID(s.shipment_id),
            tenant_id=tenant_id,
            order_id=row,
            position=index,
            vendor_id=s.vendor_id,
            status=s.status.value,
            carrier=s.carrier,
            tracking_number=s.tracking_number,
            shipped_at=s.shipped_at,
            created_at=s.created_at,
            updated_at=s.updated_at,
            lines=line_items(s.lines),
        )
        for index, s in enumerate(order.shipments)
    ]


def history_rows(tenant_id: str, order: Order, row: uuid.UUID, start: int) -> list[dict]:
    return [
        dict(
            tenant_id=tenant_id,
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
