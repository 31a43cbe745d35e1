"""The Order aggregate: one checked-out cart, its frozen prices and its whole lifecycle.

Every change goes through a method here. Each one checks the transition table, bumps `version`,
appends a history entry (who, when, from, to, why) and raises the domain events of product.md.
Who may call which method is decided in `access.py`; what things cost in `pricing.py`.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from . import events as ev
from . import lifecycle
from .checkout import CartItem
from .errors import Conflict, Invalid, InvalidTransition, NotFound, PaymentMismatch, ShippingOptionUnavailable
from .lifecycle import OrderStatus
from .pricing import PricedOrder
from .values import Address, CustomerInfo, Money

MAX_REASON = 500
MAX_CARRIER = 100
MAX_TRACKING = 100


def new_id() -> str:
    return str(uuid.uuid4())


class PaymentStatus(str, Enum):
    UNPAID = "UNPAID"
    PAID = "PAID"
    REFUND_PENDING = "REFUND_PENDING"  # a paid order was cancelled: the money goes back


@dataclass
class OrderLine:
    line_id: str
    product_id: str
    vendor_id: str
    sku: str
    product_name: str
    quantity: int
    unit_price: Money
    subtotal: Money
    discount: Money
    offer_id: str | None = None
    shipped_quantity: int = 0

    @property
    def total(self) -> Money:
        return self.subtotal - self.discount

    @property
    def unshipped(self) -> int:
        return self.quantity - self.shipped_quantity


@dataclass(frozen=True)
class VendorShipping:
    """A vendor's shipping on this order; `option_id` is None until the customer picks one."""

    vendor_id: str
    option_id: str | None
    name: str
    carrier: str
    cost: Money
    waived_by: str | None = None
    delivery_days: int | None = None


@dataclass(frozen=True)
class AppliedCoupon:
    code: str
    vendor_id: str  # "" for a tenant-wide coupon
    discount: Money


@dataclass(frozen=True)
class Payment:
    method: str
    reference: str
    amount: Money
    paid_at: datetime


@dataclass(frozen=True)
class ShipmentLine:
    line_id: str
    quantity: int


@dataclass(frozen=True)
class Shipment:
    shipment_id: str
    vendor_id: str
    carrier: str
    tracking_number: str
    lines: tuple[ShipmentLine, ...]
    shipped_at: datetime


@dataclass(frozen=True)
class Cancellation:
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor: str
    from_status: OrderStatus | None
    to_status: OrderStatus
    note: str = ""


def _text(value: Any, field_name: str, max_length: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise Invalid("is required", field=field_name)
    if len(text) > max_length:
        raise Invalid(f"must be at most {max_length} characters", field=field_name)
    return text


@dataclass
class Order:
    order_id: str
    tenant_id: str
    status: OrderStatus
    payment_status: PaymentStatus
    currency: str
    customer: CustomerInfo
    shipping_address: Address
    created_at: datetime
    updated_at: datetime
    lines: list[OrderLine] = field(default_factory=list)
    shipping: list[VendorShipping] = field(default_factory=list)
    coupons: list[AppliedCoupon] = field(default_factory=list)
    subtotal: Money | None = None
    discount_total: Money | None = None
    shipping_total: Money | None = None
    total: Money | None = None
    number: str | None = None
    placed_at: datetime | None = None
    payment: Payment | None = None
    shipments: list[Shipment] = field(default_factory=list)
    cancellation: Cancellation | None = None
    history: list[HistoryEntry] = field(default_factory=list)
    version: int = 1
    event_sequence: int = 0
    events: list[ev.OrderEvent] = field(default_factory=list, compare=False, repr=False)

    # -- creating and revising a draft ---------------------------------------------------------

    @classmethod
    def checkout(
        cls, *, tenant_id: str, customer: CustomerInfo, shipping_address: Address, priced: PricedOrder,
        actor: str, now: datetime, order_id: str | None = None,
    ) -> Order:
        order = cls(
            order_id=order_id or new_id(), tenant_id=tenant_id, status=OrderStatus.DRAFT,
            payment_status=PaymentStatus.UNPAID, currency=priced.currency, customer=customer,
            shipping_address=shipping_address, created_at=now, updated_at=now,
        )
        order._apply_pricing(priced)
        order.history.append(HistoryEntry(now, actor, None, OrderStatus.DRAFT, "checked out"))
        order._raise(ev.ORDER_CREATED, actor, now)
        return order

    @property
    def items(self) -> list[CartItem]:
        return [CartItem(line.product_id, line.quantity) for line in self.lines]

    @property
    def coupon_codes(self) -> list[str]:
        return [coupon.code for coupon in self.coupons]

    @property
    def selections(self) -> dict[str, str]:
        return {s.vendor_id: s.option_id for s in self.shipping if s.option_id}

    @property
    def vendor_ids(self) -> set[str]:
        return {line.vendor_id for line in self.lines}

    def check_version(self, expected: int | None) -> None:
        if expected is not None and expected != self.version:
            raise Conflict(f"the order is at version {self.version}, not {expected}; reload it",
                           field="expected_version")

    def revise_draft(self, priced: PricedOrder, *, actor: str, now: datetime, note: str,
                     shipping_address: Address | None = None) -> None:
        """Re-price a DRAFT (new items, destination, shipping choice or coupons)."""
        self.require_draft()
        if shipping_address is not None:
            self.shipping_address = shipping_address
        self.currency = priced.currency
        self._apply_pricing(priced)
        self._record(actor, now, self.status, note)

    def require_draft(self) -> None:
        if self.status is not OrderStatus.DRAFT:
            raise InvalidTransition(f"only a DRAFT order can change; this one is {self.status.value}")

    def _apply_pricing(self, priced: PricedOrder) -> None:
        previous = {line.product_id: line.line_id for line in self.lines}
        self.lines = [
            OrderLine(
                line_id=previous.get(line.product.product_id) or new_id(),
                product_id=line.product.product_id,
                vendor_id=line.product.vendor_id,
                sku=line.product.sku,
                product_name=line.product.name,
                quantity=line.quantity,
                unit_price=line.product.price,
                subtotal=line.subtotal,
                discount=line.discount,
                offer_id=line.offer_id,
            )
            for line in priced.lines
        ]
        self.shipping = [
            VendorShipping(
                vendor_id=s.vendor_id,
                option_id=s.option_id,
                name=s.option.name if s.option else "",
                carrier=s.option.carrier if s.option else "",
                cost=s.cost,
                waived_by=s.waived_by,
                delivery_days=s.option.delivery_days if s.option else None,
            )
            for s in priced.shipping
        ]
        vendor_of = {code: "" for code in priced.coupon_discounts}
        vendor_of.update(priced.coupon_vendors)
        self.coupons = [AppliedCoupon(code, vendor_of[code], discount)
                        for code, discount in priced.coupon_discounts.items()]
        self.subtotal = priced.subtotal
        self.discount_total = priced.discount_total
        self.shipping_total = priced.shipping_total
        self.total = priced.total

    # -- the lifecycle ------------------------------------------------------------------------

    def place(self, *, number: str, actor: str, now: datetime) -> None:
        lifecycle.require("place", self.status)
        for selection in self.shipping:
            if selection.option_id is None:
                raise ShippingOptionUnavailable(
                    f"choose a shipping option for vendor {selection.vendor_id} before placing the order",
                    field="shipping_options")
        self.number = number
        self.placed_at = now
        self._transition("place", lifecycle.next_status("place", self.status), actor, now, "placed")

    def confirm(self, *, method: str, reference: str, amount: Money, actor: str, now: datetime) -> None:
        lifecycle.require("confirm", self.status)
        method = _text(method, "payment.method", 40)
        reference = _text(reference, "payment.reference", 200)
        if amount.currency != self.currency or amount.amount != self.total.amount:
            raise PaymentMismatch(f"the payment must be {self.total}, the order's total", field="payment.amount")
        self.payment = Payment(method, reference, amount, now)
        self.payment_status = PaymentStatus.PAID
        self._transition("confirm", OrderStatus.CONFIRMED, actor, now, f"paid by {method} ({reference})")

    def ship(
        self, *, carrier: str, tracking_number: str, lines: list[ShipmentLine] | None, vendor_scope: str | None,
        actor: str, now: datetime, shipment_id: str | None = None,
    ) -> Shipment:
        """Ship some lines. `vendor_scope` limits what the caller may ship to one vendor's lines."""
        lifecycle.require("ship", self.status)
        carrier = _text(carrier, "carrier", MAX_CARRIER)
        tracking_number = _text(tracking_number, "tracking_number", MAX_TRACKING)
        shipped = self._shipment_lines(lines, vendor_scope)
        by_id = {line.line_id: line for line in self.lines}
        vendors = {by_id[item.line_id].vendor_id for item in shipped}
        if len(vendors) > 1:
            raise Invalid("a shipment carries one vendor's lines; ship each vendor's lines separately",
                          field="lines")
        for item in shipped:
            by_id[item.line_id].shipped_quantity += item.quantity
        shipment = Shipment(shipment_id or new_id(), vendors.pop(), carrier, tracking_number, tuple(shipped), now)
        self.shipments.append(shipment)
        everything = all(line.unshipped == 0 for line in self.lines)
        target = lifecycle.after_shipping(self.status, everything_shipped=everything)
        self._transition("ship", target, actor, now, f"shipped by {carrier}, tracking {tracking_number}",
                         data={"shipment": shipment_data(shipment)})
        return shipment

    def _shipment_lines(self, lines: list[ShipmentLine] | None, vendor_scope: str | None) -> list[ShipmentLine]:
        mine = [line for line in self.lines if vendor_scope is None or line.vendor_id == vendor_scope]
        if lines is None:
            chosen = [ShipmentLine(line.line_id, line.unshipped) for line in mine if line.unshipped > 0]
            if not chosen:
                raise Invalid("there is nothing left to ship", field="lines")
            if len({line.vendor_id for line in mine if line.unshipped > 0}) > 1:
                raise Invalid("the unshipped lines belong to several vendors; name the lines of one", field="lines")
            return chosen
        if not lines:
            raise Invalid("name at least one line, or leave lines out to ship all of yours", field="lines")
        visible = {line.line_id: line for line in mine}
        seen: set[str] = set()
        for index, item in enumerate(lines):
            line = visible.get(item.line_id)
            if line is None:
                raise NotFound("no such line on this order", field=f"lines[{index}].line_id")
            if item.line_id in seen:
                raise Invalid("each line appears once", field=f"lines[{index}].line_id")
            seen.add(item.line_id)
            if isinstance(item.quantity, bool) or not isinstance(item.quantity, int) or item.quantity < 1:
                raise Invalid("must be a positive whole number", field=f"lines[{index}].quantity")
            if item.quantity > line.unshipped:
                raise Invalid(f"only {line.unshipped} left to ship on this line", field=f"lines[{index}].quantity")
        return list(lines)

    def deliver(self, *, actor: str, now: datetime) -> None:
        self._transition("deliver", lifecycle.next_status("deliver", self.status), actor, now, "delivered")

    def complete(self, *, actor: str, now: datetime) -> None:
        self._transition("complete", lifecycle.next_status("complete", self.status), actor, now, "completed")

    def cancel(self, *, reason: str, actor: str, now: datetime) -> None:
        target = lifecycle.next_status("cancel", self.status)
        reason = _text(reason, "reason", MAX_REASON)
        self.cancellation = Cancellation(reason, actor, now)
        if self.payment_status is PaymentStatus.PAID:
            self.payment_status = PaymentStatus.REFUND_PENDING
        self._transition("cancel", target, actor, now, reason,
                         data={"reason": reason, "cancelled_by": actor})

    # -- history and events -------------------------------------------------------------------

    def _record(self, actor: str, now: datetime, to_status: OrderStatus, note: str) -> None:
        self.history.append(HistoryEntry(now, actor, self.status, to_status, note))
        self.status = to_status
        self.version += 1
        self.updated_at = now

    def _transition(self, action: str, target: OrderStatus, actor: str, now: datetime, note: str,
                    data: dict[str, Any] | None = None) -> None:
        source = self.status
        self._record(actor, now, target, note)
        self._raise(ev.TRANSITION_EVENTS[action], actor, now,
                    {"from_status": source.value, "to_status": target.value, **(data or {})})
        if source is not target:
            self._raise(ev.ORDER_STATUS_CHANGED, actor, now,
                        {"from_status": source.value, "to_status": target.value})

    def _raise(self, event_type: str, actor: str, now: datetime, data: dict[str, Any] | None = None) -> None:
        self.event_sequence += 1
        self.events.append(ev.OrderEvent(event_type, self.tenant_id, self.order_id, self.event_sequence, now,
                                         actor, data or {}))

    def pull_events(self) -> list[ev.OrderEvent]:
        raised, self.events = self.events, []
        return raised

    # -- what a vendor may see ----------------------------------------------------------------

    def restricted_to(self, vendor_id: str) -> Order:
        """The order as one vendor of a marketplace sees it: its lines, shipping, coupons and
        shipments only, totals over those, and no payment details (other vendors' amounts stay
        private)."""
        lines = [dataclasses.replace(line) for line in self.lines if line.vendor_id == vendor_id]
        shipping = [s for s in self.shipping if s.vendor_id == vendor_id]
        coupons = [c for c in self.coupons if c.vendor_id == vendor_id]
        zero = Money.zero(self.currency)
        subtotal = sum((line.subtotal for line in lines), zero)
        discount = sum((line.discount for line in lines), zero) + sum((c.discount for c in coupons), zero)
        shipping_total = sum((s.cost for s in shipping), zero)
        return dataclasses.replace(
            self, lines=lines, shipping=shipping, coupons=coupons,
            shipments=[s for s in self.shipments if s.vendor_id == vendor_id],
            subtotal=subtotal, discount_total=discount, shipping_total=shipping_total,
            total=subtotal - discount + shipping_total, payment=None, events=[],
        )


def shipment_data(shipment: Shipment) -> dict[str, Any]:
    return {
        "id": shipment.shipment_id,
        "vendor_id": shipment.vendor_id,
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "lines": [{"line_id": item.line_id, "quantity": item.quantity} for item in shipment.lines],
        "shipped_at": shipment.shipped_at.isoformat(),
    }
