"""Handlers of issue 7: shipments and carrier tracking, holds and review, amendments, returns and
refunds. Same shape as `handlers.py`: one unit of work each; the order is loaded locked; the
caller must see it (else NOT_FOUND), its roles must allow the action (else FORBIDDEN), the
expected version must be current (else CONFLICT); any refusal rolls everything back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from identity.domain.principal import Principal
from ordering.domain import access
from ordering.domain.errors import Forbidden, Invalid, NotFound, OutOfStock, ProductUnavailable
from ordering.domain.fulfilment import TRACKING_STATUSES, ShipmentStatus
from ordering.domain.lifecycle import OrderStatus
from ordering.domain.order import Order
from ordering.domain.values import Address, parse_amount

from . import commands as c
from .handlers import _load, _reprice
from .ports import UnitOfWork

MAX_TRACKING_DETAIL = 300


def _act(
    principal: Principal,
    order_id: str,
    expected_version: int | None,
    uow: UnitOfWork,
    allowed: Callable[[Order], object],
    change: Callable[[Order], object],
) -> Order:
    with uow:
        order = _load(uow, principal, order_id)
        allowed(order)
        order.check_version(expected_version)
        change(order)
        uow.orders.save(order)
        uow.commit()
    return access.view_of(order, principal)


# -- shipments --------------------------------------------------------------------------------


def _shipper(principal: Principal) -> None:
    if not (principal.is_staff or principal.is_vendor):
        raise Forbidden("only the order's vendors and staff can ship it")


def add_shipment(principal: Principal, command: c.AddShipment, uow: UnitOfWork) -> Order:
    _shipper(principal)
    return _act(
        principal,
        command.order_id,
        command.expected_version,
        uow,
        lambda order: access.shipping_scope(order, principal),
        lambda order: order.add_shipment(
            lines=None if command.lines is None else list(command.lines),
            vendor_scope=access.shipping_scope(order, principal),
            actor=principal.user_id,
            now=uow.now(),
        ),
    )


def add_shipping_tracking_reference(
    principal: Principal, command: c.AddShippingTrackingReference, uow: UnitOfWork
) -> Order:
    _shipper(principal)
    return _act(
        principal,
        command.order_id,
        command.expected_version,
        uow,
        lambda order: access.shipping_scope(order, principal),
        lambda order: order.add_tracking_reference(
            command.shipment_id,
            carrier=command.carrier,
            tracking_number=command.tracking_number,
            vendor_scope=access.shipping_scope(order, principal),
            actor=principal.user_id,
            now=uow.now(),
        ),
    )


def cancel_shipment(principal: Principal, command: c.CancelShipment, uow: UnitOfWork) -> Order:
    _shipper(principal)
    return _act(
        principal,
        command.order_id,
        command.expected_version,
        uow,
        lambda order: access.shipping_scope(order, principal),
        lambda order: order.cancel_shipment(
            command.shipment_id,
            reason=command.reason,
            vendor_scope=access.shipping_scope(order, principal),
            actor=principal.user_id,
            now=uow.now(),
        ),
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


# -- holds and review -------------------------------------------------------------------------


def place_on_hold(principal: Principal, command: c.PlaceOnHold, uow: UnitOfWork) -> Order:
    access.require_staff(principal, "hold")
    return _act(
        principal,
        command.order_id,
        command.expected_version,
        uow,
        lambda order: None,
        lambda order: order.place_on_hold(
            reason=command.reason, note=command.note, actor=principal.user_id, now=uow.now()
        ),
    )


def release_hold(principal: Principal, command: c.ReleaseHold, uow: UnitOfWork) -> Order:
    access.require_staff(principal, "release")
    return _act(
        principal,
        command.order_id,
        command.expected_version,
        uow,
        lambda order: None,
        lambda order: order.release_hold(note=command.note, actor=principal.user_id, now=uow.now()),
    )


def review_order(principal: Principal, command: c.ReviewOrder, uow: UnitOfWork) -> Order:
    access.require_staff(principal, "review")
    return _act(
        principal,
        command.order_id,
        command.expected_version,
        uow,
        lambda order: None,
        lambda order: order.decide_review(
            decision=command.decision, note=command.note, actor=principal.user_id, now=uow.now()
        ),
    )


def escalate_reviewer(principal: Principal, command: c.EscalateReviewer, uow: UnitOfWork) -> Order:
    access.require_staff(principal, "escalate the review of")
    return _act(
        principal,
        command.order_id,
        command.expected_version,
        uow,
        lambda order: None,
        lambda order: order.escalate_review(
            assignee=command.reviewer_id, note=command.note, actor=principal.user_id, now=uow.now()
        ),
    )


# -- amendments -------------------------------------------------------------------------------


def _amender(principal: Principal) -> Callable[[Order], None]:
    def check(order: Order) -> None:
        if not (principal.is_staff or access.owns(order, principal)):
            raise Forbidden("only the customer who placed this order, or staff, can amend it")

    return check


def change_destination_or_amend(principal: Principal, command: c.ChangeDestination, uow: UnitOfWork) -> Order:
    """`changeDestination`: a DRAFT is re-priced for the new address (owner only); a placed order
    is amended within the same country (owner or staff)."""
    address = Address.create(command.shipping_address or {})

    def allowed(order: Order) -> None:
        if order.status is OrderStatus.DRAFT:
            access.require_owner(order, principal, "change")
        else:
            _amender(principal)(order)

    def change(order: Order) -> None:
        if order.status is OrderStatus.DRAFT:
            _reprice(
                uow, order, address=address, note=f"destination changed to {address.country}", actor=principal.user_id
            )
        else:
            order.amend_destination(address, actor=principal.user_id, now=uow.now())

    return _act(principal, command.order_id, command.expected_version, uow, allowed, change)


def change_order_quantity(principal: Principal, command: c.ChangeOrderQuantity, uow: UnitOfWork) -> Order:
    """Lower or raise a placed line's quantity. A raise needs the product on sale still (its
    per-order limit applies) and enough left to sell: the difference is reserved when the order
    is saved, else OUT_OF_STOCK on `quantity`."""

    def change(order: Order) -> None:
        line = next((line for line in order.lines if line.line_id == command.line_id), None)
        limit = None
        if line is not None and isinstance(command.quantity, int) and command.quantity > line.quantity:
            product = uow.catalog.load(product_ids=[line.product_id], coupon_codes=[], option_ids=[]).products.get(
                line.product_id
            )
            if product is None or not product.active:
                raise ProductUnavailable(
                    f"{line.sku} is not on sale any more; its quantity can only go down", field="quantity"
                )
            limit = product.max_quantity
        order.change_quantity(command.line_id, command.quantity, actor=principal.user_id, now=uow.now(), limit=limit)

    try:
        return _act(principal, command.order_id, command.expected_version, uow, _amender(principal), change)
    except OutOfStock as error:  # the one line this changes: named by the mutation's own argument
        raise OutOfStock(error.message, field="quantity") from error


def remove_line_items(principal: Principal, command: c.RemoveLineItems, uow: UnitOfWork) -> Order:
    return _act(
        principal,
        command.order_id,
        command.expected_version,
        uow,
        _amender(principal),
        lambda order: order.remove_lines(list(command.line_ids), actor=principal.user_id, now=uow.now()),
    )


# -- returns and refunds ----------------------------------------------------------------------


def request_return(principal: Principal, command: c.RequestReturn, uow: UnitOfWork) -> Order:
    if not principal.is_customer:
        raise Forbidden("only the customer who placed the order can ask to return it")
    window = uow.workflow.get().return_window_days
    return _act(
        principal,
        command.order_id,
        command.expected_version,
        uow,
        lambda order: access.require_owner(order, principal, "return"),
        lambda order: order.request_return(
            lines=list(command.lines), reason=command.reason, window_days=window, actor=principal.user_id, now=uow.now()
        ),
    )


def _return_handler(principal: Principal, return_id: str) -> Callable[[Order], None]:
    def check(order: Order) -> None:
        if principal.is_staff:
            return
        request = order.find_return(return_id)
        if not (access.sells_in(order, principal) and principal.vendor_id == request.vendor_id):
            raise Forbidden("only staff, or the vendor whose lines are returned, can handle this return")

    return check


def decide_return(principal: Principal, command: c.DecideReturn, uow: UnitOfWork) -> Order:
    if not (principal.is_staff or principal.is_vendor):
        raise Forbidden("only staff, or the vendor whose lines are returned, can handle a return")
    return _act(
        principal,
        command.order_id,
        command.expected_version,
        uow,
        _return_handler(principal, command.return_id),
        lambda order: order.decide_return(
            command.return_id, approve=command.approve, note=command.note, actor=principal.user_id, now=uow.now()
        ),
    )


def receive_return(principal: Principal, command: c.ReceiveReturn, uow: UnitOfWork) -> Order:
    if not (principal.is_staff or principal.is_vendor):
        raise Forbidden("only staff, or the vendor whose lines are returned, can handle a return")
    return _act(
        principal,
        command.order_id,
        command.expected_version,
        uow,
        _return_handler(principal, command.return_id),
        lambda order: order.receive_return(command.return_id, actor=principal.user_id, now=uow.now()),
    )


def process_refund(principal: Principal, command: c.ProcessRefund, uow: UnitOfWork) -> Order:
    access.require_staff(principal, "refund")

    def refund(order: Order) -> None:
        amount = parse_amount(command.amount, order.currency, field="amount")
        order.refund(
            amount=amount, reason=command.reason, return_id=command.return_id, actor=principal.user_id, now=uow.now()
        )

    return _act(principal, command.order_id, command.expected_version, uow, lambda order: None, refund)
