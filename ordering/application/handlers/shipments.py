"""Shipments and carrier tracking: packing lines into shipments, tracking references, cancelling a
shipment, and the carriers' tracking updates (docs/after-sale.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from identity.domain.principal import Principal
from ordering.domain import access
from ordering.domain.errors import (
    Forbidden,
    Invalid,
    NotFound,
)
from ordering.domain.fulfilment import TRACKING_STATUSES, ShipmentStatus
from ordering.domain.order import Order

from .. import commands as c
from ..order_change import change_order
from ..ports import UnitOfWork

MAX_TRACKING_DETAIL = 300


# -- shipments --------------------------------------------------------------------------------


def _shipper(principal: Principal) -> None:
    if not (principal.is_staff or principal.is_vendor):
        raise Forbidden("only the order's vendors and staff can ship it")


def add_shipment(principal: Principal, command: c.AddShipment, uow: UnitOfWork) -> Order:
    _shipper(principal)
    return change_order(
        principal,
        command,
        uow,
        lambda order: order.add_shipment(
            lines=None if command.lines is None else list(command.lines),
            vendor_scope=access.shipping_scope(order, principal),
            actor=principal.user_id,
            now=uow.now(),
        ),
        authorize=lambda order: access.shipping_scope(order, principal),
    )


def add_shipping_tracking_reference(
    principal: Principal, command: c.AddShippingTrackingReference, uow: UnitOfWork
) -> Order:
    _shipper(principal)
    return change_order(
        principal,
        command,
        uow,
        lambda order: order.add_tracking_reference(
            command.shipment_id,
            carrier=command.carrier,
            tracking_number=command.tracking_number,
            vendor_scope=access.shipping_scope(order, principal),
            actor=principal.user_id,
            now=uow.now(),
        ),
        authorize=lambda order: access.shipping_scope(order, principal),
    )


def cancel_shipment(principal: Principal, command: c.CancelShipment, uow: UnitOfWork) -> Order:
    _shipper(principal)
    return change_order(
        principal,
        command,
        uow,
        lambda order: order.cancel_shipment(
            command.shipment_id,
            reason=command.reason,
            vendor_scope=access.shipping_scope(order, principal),
            actor=principal.user_id,
            now=uow.now(),
        ),
        authorize=lambda order: access.shipping_scope(order, principal),
    )


def parse_tracking_update(data: dict[str, Any]) -> c.TrackingUpdate:
    """The `data` of a `shipment.tracking_updated` webhook, validated before anything is read."""

    def text(name: str, required: bool, max_length: int) -> str:
        value = data.get(name)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise Invalid("is required" if value is None else "must be a non-empty string", field=name)
        if len(value.strip()) > max_length:
            raise Invalid(f"must be at most {max_length} characters", field=name)
        return value.strip()

    tracking_number = text("tracking_number", True, 100)
    carrier = text("carrier", False, 100) or None
    status = text("status", True, 20).upper()
    if status not in {s.value for s in TRACKING_STATUSES}:
        raise Invalid(f"must be one of {', '.join(sorted(s.value for s in TRACKING_STATUSES))}", field="status")
    raw_time = text("occurred_at", True, 40)
    try:
        occurred_at = datetime.fromisoformat(raw_time.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid("must be an ISO 8601 date-time", field="occurred_at") from None
    if occurred_at.tzinfo is None:
        raise Invalid("must carry a time zone (for example Z)", field="occurred_at")
    return c.TrackingUpdate(tracking_number, status, occurred_at, carrier, text("detail", False, MAX_TRACKING_DETAIL))


def apply_tracking_update(update: c.TrackingUpdate, uow: UnitOfWork) -> bool:
    """Move every shipment of the tenant with this tracking number (and carrier, if given).
    NotFound when there is none; False when the update is not newer than what each has."""
    with uow:
        matches = uow.shipments.by_tracking_number(update.tracking_number, update.carrier)
        if not matches:
            raise NotFound("no shipment has this tracking number", field="tracking_number")
        applied = False
        actor = f"carrier:{update.carrier or update.source or 'tracking'}"
        for order_id, shipment_id in matches:  # in order id order: concurrent updates lock alike
            order = uow.orders.get(order_id, lock=True)
            if order is None:
                continue
            changed = order.track(
                shipment_id,
                status=ShipmentStatus(update.status),
                at=update.occurred_at,
                detail=update.detail,
                actor=actor,
                now=uow.now(),
            )
            if changed:
                uow.orders.save(order)
                applied = True
        uow.commit()
    return applied
