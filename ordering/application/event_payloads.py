"""What an outbound order event carries (api.md, "Outbound events"; schemas in docs/events/).

`event_data` is the envelope's `data`: the order as staff see it after the change, plus the
event's own fields (`from_status`/`to_status` on transitions, `reason`/`cancelled_by` on
cancellation, `shipment` on shipping). Keys are snake_case like the envelope; money is
`{"amount": "<decimal string>", "currency": "USD"}`, never a float.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ordering.domain.events import OrderEvent
from ordering.domain.order import (
    Order,
    hold_data,
    money_data,
    refund_data,
    return_data,
    review_data,
    shipment_data,
)
from ordering.domain.values import Money

SCHEMA_VERSION = 1


money = money_data


def _at(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def order_document(order: Order) -> dict[str, Any]:
    address, customer = order.shipping_address, order.customer
    return {
        "id": order.order_id,
        "number": order.number,
        "status": order.status.value,
        "payment_status": order.payment_status.value,
        "currency": order.currency,
        "customer": {
            "user_id": customer.user_id,
            "email": customer.email,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "phone": customer.phone or None,
        },
        "shipping_address": {
            "line1": address.line1,
            "line2": address.line2 or None,
            "city": address.city,
            "state": address.state or None,
            "postal_code": address.postal_code,
            "country": address.country,
        },
        "lines": [
            {
                "id": line.line_id,
                "product_id": line.product_id,
                "sku": line.sku,
                "product_name": line.product_name,
                "vendor_id": line.vendor_id,
                "quantity": line.quantity,
                "unit_price": money(line.unit_price),
                "discount": money(line.discount),
                "total": money(line.total),
                "shipped_quantity": line.shipped_quantity,
                "tax_rate": format(line.tax_rate.normalize(), "f"),
                "tax_inclusive": line.tax_inclusive,
                "tax": money(line.tax),
                "weight": None if line.weight is None else format(line.weight, "f"),
            }
            for line in order.lines
        ],
        "shipping_options": [
            {
                "vendor_id": s.vendor_id,
                "shipping_option_id": s.option_id,
                "name": s.name or None,
                "carrier": s.carrier or None,
                "cost": money(s.cost),
                "waived_by": s.waived_by,
            }
            for s in order.shipping
        ],
        "coupons": [
            {"code": c.code, "vendor_id": c.vendor_id or None, "discount": money(c.discount)} for c in order.coupons
        ],
        "subtotal": money(order.subtotal),
        "discount_total": money(order.discount_total),
        "shipping_total": money(order.shipping_total),
        "tax_total": money(order.tax_total or Money.zero(order.currency)),
        "total": money(order.total),
        "payment_option": None
        if order.payment_option is None
        else {"id": order.payment_option.option_id, "method": order.payment_option.method},
        "payment": None
        if order.payment is None
        else {
            "method": order.payment.method,
            "reference": order.payment.reference,
            "amount": money(order.payment.amount),
            "paid_at": _at(order.payment.paid_at),
        },
        "shipments": [shipment_data(s) for s in order.shipments],
        "cancellation": None
        if order.cancellation is None
        else {"reason": order.cancellation.reason, "by": order.cancellation.by, "at": _at(order.cancellation.at)},
        "unfulfillable_reason": order.unfulfillable_reason or None,
        "channel": order.channel or None,
        "external_reference": order.external_reference or None,
        "hold": None if order.hold is None else hold_data(order.hold),
        "review": None if order.review is None else review_data(order.review),
        "revision": order.revision,
        "payment_adjustment": money(order.payment_adjustment),
        "delivered_at": _at(order.delivered_at),
        "returns": [return_data(r) for r in order.returns],
        "refunds": [refund_data(r) for r in order.refunds],
        "refunded_total": money(order.refunded_total),
        "version": order.version,
        "created_at": _at(order.created_at),
        "updated_at": _at(order.updated_at),
        "placed_at": _at(order.placed_at),
    }


def event_data(event: OrderEvent, order: Order, *, document: dict[str, Any] | None = None) -> dict[str, Any]:
    """`document`: the order's `order_document`, when the caller has it already."""
    return {"order": order_document(order) if document is None else document, **event.data}


def envelope(
    *,
    event_id: str,
    event_type: str,
    occurred_at: datetime,
    tenant_id: str,
    aggregate_id: str,
    sequence: int,
    correlation_id: str,
    data: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": event_type,
        "schema_version": SCHEMA_VERSION,
        "occurred_at": occurred_at.isoformat(),
        "tenant_id": tenant_id,
        "aggregate_id": aggregate_id,
        "sequence": sequence,
        "correlation_id": correlation_id or None,
        "data": data,
    }
