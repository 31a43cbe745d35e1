"""The Order aggregate: one checked-out cart, its frozen prices and its whole lifecycle.

Every change goes through a method here. Each one checks the transition table, bumps `version`,
appends a history entry (who, when, from, to, why) and raises the domain events of product.md.
Who may call which method is decided in `access.py`; what things cost in `pricing.py`.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from . import events as ev
from . import lifecycle
from .checkout import MAX_QUANTITY, CartItem
from .errors import (
    Conflict,
    Forbidden,
    Invalid,
    InvalidTransition,
    NotFound,
    OrderOnHold,
    PaymentMismatch,
    QuantityLimit,
    RefundExceedsPaid,
    ReturnWindowClosed,
    ReviewRequired,
    ShippingOptionUnavailable,
)
from .fulfilment import (
    ALLOCATING,
    WITH_CARRIER,
    Hold,
    HoldReason,
    Refund,
    ReturnRequest,
    ReturnStatus,
    Review,
    ReviewDecision,
    ReviewStatus,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
    require_shipment_transition,
)
from .lifecycle import OrderStatus
from .pricing import PricedOrder, line_tax
from .values import Address, CustomerInfo, Money, display_amount

MAX_REASON = 500
MAX_CARRIER = 100
MAX_TRACKING = 100
MAX_NOTE = 500

__all__ = ["Hold", "HoldReason", "Refund", "ReturnRequest", "ReturnStatus", "Review", "ReviewDecision",
           "ReviewStatus", "Shipment", "ShipmentLine", "ShipmentStatus"]


def new_id() -> str:
    return str(uuid.uuid4())


class PaymentStatus(str, Enum):
    UNPAID = "UNPAID"
    PAID = "PAID"
    REFUND_PENDING = "REFUND_PENDING"  # a paid order was cancelled: the money goes back
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"


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
    tax_rate: Decimal = Decimal(0)  # percent, frozen at checkout
    tax_inclusive: bool = False
    fixed_tax: Money | None = None  # the tax a sales channel charged (imported orders), added to the total
    weight: Decimal | None = None  # kilograms, as a sales channel sent it

    @property
    def total(self) -> Money:
        return self.subtotal - self.discount

    @property
    def tax(self) -> Money:
        if self.fixed_tax is not None:
            return self.fixed_tax
        return line_tax(self.total, self.tax_rate, self.tax_inclusive)

    @property
    def added_tax(self) -> Money:
        return Money.zero(self.subtotal.currency) if self.tax_inclusive else self.tax

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
class ChosenPayment:
    """The payment option chosen at checkout: confirmation must pay with its method."""

    option_id: str
    method: str


@dataclass(frozen=True)
class Payment:
    method: str
    reference: str
    amount: Money
    paid_at: datetime


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


def _optional_text(value: Any, field_name: str, max_length: int) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    return _text(value, field_name, max_length)


def _positive_quantity(value: Any, field_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Invalid("must be a positive whole number", field=field_name)
    return value


def _enum(kind, value: Any, field_name: str):
    try:
        return kind(value)
    except ValueError:
        raise Invalid(f"must be one of {', '.join(m.value for m in kind)}", field=field_name) from None


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
    tax_total: Money | None = None
    payment_option: ChosenPayment | None = None
    number: str | None = None
    placed_at: datetime | None = None
    payment: Payment | None = None
    shipments: list[Shipment] = field(default_factory=list)
    cancellation: Cancellation | None = None
    unfulfillable_reason: str = ""  # set while UNFULFILLABLE
    channel: str = ""  # the sales channel it was imported from (ordering/domain/intake.py); "": our checkout
    external_reference: str = ""  # the channel's reference, unique per tenant and channel
    history: list[HistoryEntry] = field(default_factory=list)
    hold: Hold | None = None
    review: Review | None = None
    revision: int = 0  # amendments after placing, from 0
    payment_adjustment: Money | None = None  # a paid total changed by amendments: + owed, - to refund
    delivered_at: datetime | None = None
    returns: list[ReturnRequest] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    version: int = 1
    event_sequence: int = 0
    events: list[ev.OrderEvent] = field(default_factory=list, compare=False, repr=False)

    # -- creating and revising a draft ---------------------------------------------------------

    @classmethod
    def checkout(
        cls, *, tenant_id: str, customer: CustomerInfo, shipping_address: Address, priced: PricedOrder,
        actor: str, now: datetime, order_id: str | None = None, payment_option: ChosenPayment | None = None,
    ) -> Order:
        order = cls(
            order_id=order_id or new_id(), tenant_id=tenant_id, status=OrderStatus.DRAFT,
            payment_status=PaymentStatus.UNPAID, currency=priced.currency, customer=customer,
            shipping_address=shipping_address, created_at=now, updated_at=now, payment_option=payment_option,
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
                tax_rate=line.tax_rate,
                tax_inclusive=line.tax_inclusive,
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
        self.tax_total = priced.tax_total
        self.total = priced.total

    # -- the lifecycle ------------------------------------------------------------------------

    def place(self, *, number: str, actor: str, now: datetime, review: bool = False,
              payment_option: ChosenPayment | None = None) -> None:
        """DRAFT -> PENDING. `review`: the tenant's workflow wants a review before confirmation;
        `payment_option`: the way it will be paid, when the tenant offers a choice."""
        lifecycle.require("place", self.status)
        for selection in self.shipping:
            if selection.option_id is None:
                raise ShippingOptionUnavailable(
                    f"choose a shipping option for vendor {selection.vendor_id} before placing the order",
                    field="shipping_options")
        self.number = number
        self.placed_at = now
        if payment_option is not None:
            self.payment_option = payment_option
        if review:
            self.review = Review(ReviewStatus.PENDING, now)
        self._transition("place", lifecycle.next_status("place", self.status), actor, now, "placed")

    def confirm(self, *, method: str, reference: str, amount: Money, actor: str, now: datetime) -> None:
        lifecycle.require("confirm", self.status)
        self._require_not_held("confirm")
        if self.review is not None and self.review.status is ReviewStatus.PENDING:
            raise ReviewRequired("this order waits for its review (reviewOrder) before it can be confirmed")
        method = _text(method, "payment.method", 40)
        reference = _text(reference, "payment.reference", 200)
        if self.payment_option is not None and method != self.payment_option.method:
            raise PaymentMismatch(f"the order was placed to be paid by {self.payment_option.method}",
                                  field="payment.method")
        if amount.currency != self.currency or amount.amount != self.total.amount:
            raise PaymentMismatch(f"the payment must be {self.total}, the order's total", field="payment.amount")
        self.payment = Payment(method, reference, amount, now)
        self.payment_status = PaymentStatus.PAID
        self._transition("confirm", OrderStatus.CONFIRMED, actor, now, f"paid by {method} ({reference})")

    # -- shipments ----------------------------------------------------------------------------

    def ship(
        self, *, carrier: str, tracking_number: str, lines: list[ShipmentLine] | None, vendor_scope: str | None,
        actor: str, now: datetime, shipment_id: str | None = None,
    ) -> Shipment:
        """Pack and hand lines to a carrier in one step (`shipOrder`). `vendor_scope` limits what
        the caller may ship to one vendor's lines."""
        lifecycle.require("ship", self.status)
        self._require_not_held("ship")
        carrier = _text(carrier, "carrier", MAX_CARRIER)
        tracking_number = _text(tracking_number, "tracking_number", MAX_TRACKING)
        shipment = self._new_shipment(lines, vendor_scope, now, shipment_id, ShipmentStatus.SHIPPED,
                                      carrier, tracking_number)
        self._shipments_changed(ev.ORDER_SHIPPED, actor, now, f"shipped by {carrier}, tracking {tracking_number}",
                                {"shipment": shipment_data(shipment)})
        return shipment

    def add_shipment(self, *, lines: list[ShipmentLine] | None, vendor_scope: str | None, actor: str, now: datetime,
                     shipment_id: str | None = None) -> Shipment:
        """A PENDING shipment: its quantities are taken, nothing is with a carrier yet."""
        lifecycle.require("add_shipment", self.status)
        self._require_not_held("add a shipment to")
        shipment = self._new_shipment(lines, vendor_scope, now, shipment_id, ShipmentStatus.PENDING, "", "")
        self._shipments_changed(ev.ORDER_SHIPMENT_ADDED, actor, now, f"shipment {shipment.shipment_id} packed",
                                {"shipment": shipment_data(shipment)})
        return shipment

    def add_tracking_reference(self, shipment_id: str, *, carrier: str, tracking_number: str,
                               vendor_scope: str | None, actor: str, now: datetime) -> Shipment:
        """Hand a PENDING shipment to its carrier: PENDING -> SHIPPED."""
        shipment = self._shipment(shipment_id, vendor_scope)
        self._require_not_held("ship")
        carrier = _text(carrier, "carrier", MAX_CARRIER)
        tracking_number = _text(tracking_number, "tracking_number", MAX_TRACKING)
        require_shipment_transition(shipment.status, ShipmentStatus.SHIPPED)
        shipped = self._replace_shipment(shipment, status=ShipmentStatus.SHIPPED, carrier=carrier,
                                         tracking_number=tracking_number, shipped_at=now, updated_at=now)
        self._shipments_changed(ev.ORDER_SHIPPED, actor, now, f"shipped by {carrier}, tracking {tracking_number}",
                                {"shipment": shipment_data(shipped)})
        return shipped

    def cancel_shipment(self, shipment_id: str, *, reason: str, vendor_scope: str | None, actor: str,
                        now: datetime) -> Shipment:
        """Cancel a shipment that has not shipped: its quantities can ship again."""
        shipment = self._shipment(shipment_id, vendor_scope)
        reason = _text(reason, "reason", MAX_REASON)
        if shipment.status is not ShipmentStatus.PENDING:
            raise InvalidTransition(f"only a PENDING shipment can be cancelled; this one is {shipment.status.value}",
                                    field="shipment_id")
        cancelled = self._replace_shipment(shipment, status=ShipmentStatus.CANCELLED, updated_at=now)
        self._shipments_changed(ev.ORDER_SHIPMENT_CANCELLED, actor, now,
                                f"shipment {shipment_id} cancelled: {reason}",
                                {"shipment": shipment_data(cancelled), "reason": reason})
        return cancelled

    def track(self, shipment_id: str, *, status: ShipmentStatus, at: datetime, detail: str, actor: str,
              now: datetime) -> bool:
        """A carrier's tracking update. False (nothing changes) when it is not newer than the last
        one the shipment has; a move its state does not allow is refused."""
        shipment = self._shipment(shipment_id, None)
        if shipment.updated_at is not None and at <= shipment.updated_at:
            return False
        require_shipment_transition(shipment.status, status)
        updated = self._replace_shipment(shipment, status=status, updated_at=at)
        note = f"carrier {shipment.carrier}: {status.value} ({shipment.tracking_number})"
        if detail:
            note = f"{note}: {detail}"[:MAX_NOTE]
        self._shipments_changed(ev.ORDER_SHIPMENT_UPDATED, actor, now, note,
                                {"shipment": shipment_data(updated), "detail": detail or None})
        return True

    def _shipment(self, shipment_id: str, vendor_scope: str | None) -> Shipment:
        for shipment in self.shipments:
            if shipment.shipment_id == shipment_id and vendor_scope in (None, shipment.vendor_id):
                return shipment
        raise NotFound("no such shipment on this order", field="shipment_id")

    def _replace_shipment(self, shipment: Shipment, **changes: Any) -> Shipment:
        updated = dataclasses.replace(shipment, **changes)
        self.shipments = [updated if s.shipment_id == shipment.shipment_id else s for s in self.shipments]
        return updated

    def _new_shipment(self, lines: list[ShipmentLine] | None, vendor_scope: str | None, now: datetime,
                      shipment_id: str | None, status: ShipmentStatus, carrier: str, tracking: str) -> Shipment:
        chosen = self._shipment_lines(lines, vendor_scope)
        by_id = {line.line_id: line for line in self.lines}
        vendors = {by_id[item.line_id].vendor_id for item in chosen}
        if len(vendors) > 1:
            raise Invalid("a shipment carries one vendor's lines; ship each vendor's lines separately",
                          field="lines")
        shipped_at = now if status is ShipmentStatus.SHIPPED else None
        shipment = Shipment(shipment_id or new_id(), vendors.pop(), carrier, tracking, tuple(chosen), shipped_at,
                            status, now, now)
        self.shipments.append(shipment)
        return shipment

    def allocatable(self, line: OrderLine) -> int:
        """What of a line is in no shipment yet (cancelled and failed shipments give theirs back)."""
        taken = sum(s.quantity_of(line.line_id) for s in self.shipments if s.status in ALLOCATING)
        return line.quantity - taken

    def _shipment_lines(self, lines: list[ShipmentLine] | None, vendor_scope: str | None) -> list[ShipmentLine]:
        mine = [line for line in self.lines if vendor_scope is None or line.vendor_id == vendor_scope]
        if lines is None:
            chosen = [ShipmentLine(line.line_id, self.allocatable(line)) for line in mine if self.allocatable(line)]
            if not chosen:
                raise Invalid("there is nothing left to ship", field="lines")
            if len({line.vendor_id for line in mine if self.allocatable(line) > 0}) > 1:
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
            _positive_quantity(item.quantity, f"lines[{index}].quantity")
            left = self.allocatable(line)
            if item.quantity > left:
                raise Invalid(f"only {left} left to ship on this line", field=f"lines[{index}].quantity")
        return list(lines)

    def _follow_shipments(self) -> OrderStatus:
        """The status the shipments give: quantities with a carrier or delivered count as shipped;
        the order is DELIVERED once everything shipped and every such shipment is delivered."""
        carried = [s for s in self.shipments if s.status in WITH_CARRIER]
        for line in self.lines:
            line.shipped_quantity = sum(s.quantity_of(line.line_id) for s in carried)
        if self.status not in (OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED):
            return self.status
        if all(line.unshipped == 0 for line in self.lines):
            if all(s.status is ShipmentStatus.DELIVERED for s in carried):
                return OrderStatus.DELIVERED
            return OrderStatus.SHIPPED
        if any(line.shipped_quantity for line in self.lines):
            return OrderStatus.PARTIALLY_SHIPPED
        return OrderStatus.CONFIRMED

    def _shipments_changed(self, event_type: str, actor: str, now: datetime, note: str, data: dict[str, Any]) -> None:
        source = self.status
        target = self._follow_shipments()
        delivered_now = target is OrderStatus.DELIVERED and source is not OrderStatus.DELIVERED
        if delivered_now:
            self.delivered_at = now
        self._record(actor, now, target, note)
        self._raise(event_type, actor, now, {"from_status": source.value, "to_status": target.value, **data})
        if delivered_now:
            self._raise(ev.ORDER_DELIVERED, actor, now, {"from_status": source.value, "to_status": target.value})
        if source is not target:
            self._raise(ev.ORDER_STATUS_CHANGED, actor, now, {"from_status": source.value, "to_status": target.value})

    def deliver(self, *, actor: str, now: datetime) -> None:
        """Staff (or the only vendor) mark a SHIPPED order delivered: its shipments with a carrier too."""
        target = lifecycle.next_status("deliver", self.status)
        self.shipments = [
            dataclasses.replace(s, status=ShipmentStatus.DELIVERED, updated_at=now)
            if s.status in (ShipmentStatus.SHIPPED, ShipmentStatus.IN_TRANSIT) else s
            for s in self.shipments
        ]
        self.delivered_at = now
        self._transition("deliver", target, actor, now, "delivered")

    def complete(self, *, actor: str, now: datetime) -> None:
        target = lifecycle.next_status("complete", self.status)
        self._require_not_held("complete")
        self._transition("complete", target, actor, now, "completed")

    def cancel(self, *, reason: str, actor: str, now: datetime) -> None:
        target = lifecycle.next_status("cancel", self.status)
        reason = _text(reason, "reason", MAX_REASON)
        self.cancellation = Cancellation(reason, actor, now)
        self.unfulfillable_reason = ""
        if self.payment_status is PaymentStatus.PAID:
            self.payment_status = PaymentStatus.REFUND_PENDING
        self.hold = None
        self.shipments = [dataclasses.replace(s, status=ShipmentStatus.CANCELLED, updated_at=now)
                          if s.status is ShipmentStatus.PENDING else s for s in self.shipments]
        self._transition("cancel", target, actor, now, reason,
                         data={"reason": reason, "cancelled_by": actor})

    # -- unfulfillable ------------------------------------------------------------------------

    def mark_unfulfillable(self, *, reason: str, actor: str, now: datetime) -> None:
        """CONFIRMED or PARTIALLY_SHIPPED -> UNFULFILLABLE: it cannot be shipped as things stand
        (stock gone, a vendor out). Its reservations stay; it is then cancelled or resumed."""
        target = lifecycle.next_status("mark_unfulfillable", self.status)
        reason = _text(reason, "reason", MAX_REASON)
        self.unfulfillable_reason = reason
        self._transition("mark_unfulfillable", target, actor, now, reason, data={"reason": reason})

    def resume(self, *, actor: str, now: datetime) -> None:
        """UNFULFILLABLE -> CONFIRMED, or PARTIALLY_SHIPPED when part of it had shipped."""
        lifecycle.require("resume", self.status)
        shipped = any(line.shipped_quantity for line in self.lines)
        target = OrderStatus.PARTIALLY_SHIPPED if shipped else OrderStatus.CONFIRMED
        self.unfulfillable_reason = ""
        self._transition("resume", target, actor, now, "resumed")

    # -- holds and review ---------------------------------------------------------------------

    def _require_not_held(self, action: str) -> None:
        if self.hold is not None:
            raise OrderOnHold(f"the order is on hold ({self.hold.reason.value}); release it before you {action} it")

    def place_on_hold(self, *, reason: Any, note: str | None, actor: str, now: datetime) -> None:
        lifecycle.require("hold", self.status)
        if self.hold is not None:
            raise InvalidTransition(f"the order is already on hold ({self.hold.reason.value})")
        hold = Hold(_enum(HoldReason, reason, "reason"), _optional_text(note, "note", MAX_NOTE), actor, now)
        self.hold = hold
        self._change(ev.ORDER_PLACED_ON_HOLD, actor, now, f"on hold: {hold.reason.value}",
                     {"hold": hold_data(hold)})

    def release_hold(self, *, note: str | None, actor: str, now: datetime) -> None:
        if self.hold is None:
            raise InvalidTransition("the order is not on hold")
        note = _optional_text(note, "note", MAX_NOTE)
        released, self.hold = self.hold, None
        self._change(ev.ORDER_HOLD_RELEASED, actor, now, f"hold released ({released.reason.value})",
                     {"hold": hold_data(released), "note": note or None})

    def _pending_review(self) -> Review:
        lifecycle.require("review", self.status)
        if self.review is None or self.review.status is not ReviewStatus.PENDING:
            raise InvalidTransition("this order has no review waiting")
        return self.review

    def decide_review(self, *, decision: Any, note: str | None, actor: str, now: datetime) -> None:
        """APPROVE lets it be confirmed; REJECT cancels it. After an escalation only the assignee decides."""
        review = self._pending_review()
        decision = _enum(ReviewDecision, decision, "decision")
        note = _optional_text(note, "note", MAX_NOTE)
        if review.assignee is not None and review.assignee != actor:
            raise Forbidden(f"this review was escalated to {review.assignee}; only they can decide it")
        status = ReviewStatus.APPROVED if decision is ReviewDecision.APPROVE else ReviewStatus.REJECTED
        self.review = dataclasses.replace(review, status=status, decided_by=actor, decided_at=now, note=note)
        self._change(ev.ORDER_REVIEWED, actor, now, f"review {status.value.lower()}" + (f": {note}" if note else ""),
                     {"decision": decision.value, "note": note or None, "review": review_data(self.review)})
        if decision is ReviewDecision.REJECT:
            self.cancel(reason=f"rejected in review: {note}" if note else "rejected in review", actor=actor, now=now)

    def escalate_review(self, *, assignee: str, note: str | None, actor: str, now: datetime) -> None:
        review = self._pending_review()
        assignee = _text(assignee, "reviewer_id", 255)
        note = _optional_text(note, "note", MAX_NOTE)
        if review.assignee is not None and review.assignee != actor:
            raise Forbidden(f"this review was escalated to {review.assignee}; only they can escalate it further")
        if assignee == review.assignee:
            raise Invalid("the review is already assigned to this reviewer", field="reviewer_id")
        self.review = dataclasses.replace(review, level=review.level + 1, assignee=assignee, note=note)
        self._change(ev.ORDER_REVIEW_ESCALATED, actor, now, f"review escalated to {assignee}",
                     {"review": review_data(self.review), "note": note or None})

    # -- amendments ---------------------------------------------------------------------------

    def _require_amendable(self) -> None:
        lifecycle.require("amend", self.status)
        if any(s.status is not ShipmentStatus.CANCELLED for s in self.shipments):
            raise InvalidTransition("part of this order is in a shipment; it can no longer be amended")

    def amend_destination(self, address: Address, *, actor: str, now: datetime) -> None:
        """A placed order's new address, within the country it was priced for (shipping and tax
        stay as placed)."""
        self._require_amendable()
        if address.country != self.shipping_address.country:
            raise Invalid(f"a placed order can only move within {self.shipping_address.country}; cancel it and "
                          "order again to ship to another country", field="shipping_address.country")
        if address == self.shipping_address:
            raise Invalid("this is the order's address already", field="shipping_address")
        self.shipping_address = address
        self._amended(["shipping_address"], self.total, actor, now, f"destination changed ({address.city})")

    def change_quantity(self, line_id: str, quantity: Any, *, actor: str, now: datetime,
                        limit: int | None = None) -> None:
        """Lower or raise a line's quantity at the prices frozen at checkout. A raise stays within
        `limit` (the product's most per order, if any) and MAX_QUANTITY; saving the order then
        reserves the difference (a lowered quantity releases it)."""
        self._require_amendable()
        line = self._line(line_id, "line_id")
        quantity = _positive_quantity(quantity, "quantity")
        if quantity == line.quantity:
            raise Invalid(f"the line's quantity is {quantity} already", field="quantity")
        most = MAX_QUANTITY if limit is None else min(limit, MAX_QUANTITY)
        if quantity > line.quantity and quantity > most:
            raise QuantityLimit(f"at most {most} of {line.sku} per order", field="quantity")
        previous = self.total
        self._reprice_frozen({line.line_id: quantity})
        self._amended(["lines"], previous, actor, now, f"{line.sku}: {line.quantity} -> {quantity}")

    def remove_lines(self, line_ids: list[str], *, actor: str, now: datetime) -> None:
        self._require_amendable()
        if not line_ids:
            raise Invalid("name at least one line", field="line_ids")
        if len(set(line_ids)) != len(line_ids):
            raise Invalid("each line appears once", field="line_ids")
        lines = [self._line(line_id, f"line_ids[{index}]") for index, line_id in enumerate(line_ids)]
        if len(lines) == len(self.lines):
            raise Invalid("an order keeps at least one line; cancel it instead", field="line_ids")
        previous = self.total
        self._reprice_frozen({line.line_id: 0 for line in lines})
        self._amended(["lines"], previous, actor, now, "removed " + ", ".join(line.sku for line in lines))

    def _line(self, line_id: str, field_name: str) -> OrderLine:
        for line in self.lines:
            if line.line_id == line_id:
                return line
        raise NotFound("no such line on this order", field=field_name)

    def _reprice_frozen(self, quantities: dict[str, int]) -> None:
        """New quantities (0 removes a line) at the frozen unit prices. Offer discounts and coupons
        are pro-rated on what they applied to; a vendor left with no line loses its shipping charge
        and coupons; other shipping charges stay as placed."""
        zero = Money.zero(self.currency)

        def goods(lines, vendor: str | None = None) -> Money:
            return sum((line.total for line in lines if vendor in (None, line.vendor_id)), zero)

        before = list(self.lines)
        kept: list[OrderLine] = []
        for line in self.lines:
            quantity = quantities.get(line.line_id, line.quantity)
            if quantity == 0:
                continue
            if quantity != line.quantity:
                discount = Money(line.discount.amount * quantity / line.quantity, self.currency).rounded()
                fixed_tax = None if line.fixed_tax is None else Money(
                    line.fixed_tax.amount * quantity / line.quantity, self.currency).rounded()
                line = dataclasses.replace(line, quantity=quantity, subtotal=line.unit_price.times(quantity).rounded(),
                                           discount=discount, fixed_tax=fixed_tax)
            kept.append(line)
        vendors = {line.vendor_id for line in kept}
        coupons = []
        for coupon in self.coupons:
            if coupon.vendor_id and coupon.vendor_id not in vendors:
                continue
            scope = coupon.vendor_id or None
            old, new = goods(before, scope), goods(kept, scope)
            # Pro-rated down with what it applied to; a raise keeps it (a fixed coupon stays fixed).
            discount = coupon.discount if old.amount == 0 or new.amount >= old.amount else Money(
                coupon.discount.amount * new.amount / old.amount, self.currency).rounded()
            coupons.append(dataclasses.replace(coupon, discount=discount.min(new)))
        self.lines = kept
        self.coupons = coupons
        self.shipping = [s for s in self.shipping if s.vendor_id in vendors]
        self.subtotal = sum((line.subtotal for line in kept), zero)
        self.discount_total = sum((line.discount for line in kept), zero) + sum((c.discount for c in coupons), zero)
        self.shipping_total = sum((s.cost for s in self.shipping), zero)
        self.tax_total = sum((line.tax for line in kept), zero)
        self.total = (self.subtotal - self.discount_total + self.shipping_total
                      + sum((line.added_tax for line in kept), zero))

    def _amended(self, changed: list[str], previous_total: Money, actor: str, now: datetime, note: str) -> None:
        self.revision += 1
        difference = self.total - previous_total
        if self.payment is not None and difference.amount != 0:
            self.payment_adjustment = (self.payment_adjustment or Money.zero(self.currency)) + difference
        self._change(ev.ORDER_AMENDED, actor, now, f"amendment {self.revision}: {note}", {
            "revision": self.revision,
            "changed_fields": changed,
            "previous_total": money_data(previous_total),
            "new_total": money_data(self.total),
            "payment_adjustment": money_data(self.payment_adjustment),
        })

    # -- returns and refunds ------------------------------------------------------------------

    def returnable(self, line: OrderLine) -> int:
        """What of a line was delivered and is in no return that is still open or accepted."""
        asked = sum(item.quantity for r in self.returns if r.status is not ReturnStatus.REJECTED
                    for item in r.lines if item.line_id == line.line_id)
        return line.shipped_quantity - asked

    def request_return(self, *, lines: list[ShipmentLine], reason: str, window_days: int, actor: str,
                       now: datetime, return_id: str | None = None) -> ReturnRequest:
        lifecycle.require("request_return", self.status)
        if self.delivered_at is None or now > self.delivered_at + timedelta(days=window_days):
            raise ReturnWindowClosed(f"returns are accepted for {window_days} days after delivery")
        reason = _text(reason, "reason", MAX_REASON)
        if not lines:
            raise Invalid("name at least one line to return", field="lines")
        seen: set[str] = set()
        for index, item in enumerate(lines):
            line = self._line(item.line_id, f"lines[{index}].line_id")
            if item.line_id in seen:
                raise Invalid("each line appears once", field=f"lines[{index}].line_id")
            seen.add(item.line_id)
            _positive_quantity(item.quantity, f"lines[{index}].quantity")
            if item.quantity > self.returnable(line):
                raise Invalid(f"only {self.returnable(line)} of this line can be returned",
                              field=f"lines[{index}].quantity")
        vendors = {self._line(item.line_id, "lines").vendor_id for item in lines}
        if len(vendors) > 1:
            raise Invalid("a return carries one vendor's lines; request one return per vendor", field="lines")
        request = ReturnRequest(return_id or new_id(), vendors.pop(), tuple(lines), reason, ReturnStatus.REQUESTED,
                                actor, now)
        self.returns.append(request)
        self._change(ev.ORDER_RETURN_REQUESTED, actor, now, f"return {request.return_id} requested: {reason}",
                     {"return": return_data(request)})
        return request

    def find_return(self, return_id: str) -> ReturnRequest:
        for request in self.returns:
            if request.return_id == return_id:
                return request
        raise NotFound("no such return on this order", field="return_id")

    def _replace_return(self, request: ReturnRequest, **changes: Any) -> ReturnRequest:
        updated = dataclasses.replace(request, **changes)
        self.returns = [updated if r.return_id == request.return_id else r for r in self.returns]
        return updated

    def decide_return(self, return_id: str, *, approve: bool, note: str | None, actor: str,
                      now: datetime) -> ReturnRequest:
        request = self.find_return(return_id)
        if request.status is not ReturnStatus.REQUESTED:
            raise InvalidTransition(f"this return is {request.status.value}; only a REQUESTED one can be decided")
        note = _optional_text(note, "reason" if not approve else "note", MAX_NOTE)
        if not approve and not note:
            raise Invalid("say why the return is rejected", field="reason")
        status = ReturnStatus.APPROVED if approve else ReturnStatus.REJECTED
        decided = self._replace_return(request, status=status, decided_by=actor, decided_at=now, note=note)
        event = ev.ORDER_RETURN_APPROVED if approve else ev.ORDER_RETURN_REJECTED
        self._change(event, actor, now, f"return {return_id} {status.value.lower()}" + (f": {note}" if note else ""),
                     {"return": return_data(decided)})
        return decided

    def receive_return(self, return_id: str, *, actor: str, now: datetime) -> ReturnRequest:
        request = self.find_return(return_id)
        if request.status is not ReturnStatus.APPROVED:
            raise InvalidTransition(f"this return is {request.status.value}; only an APPROVED one can be received")
        received = self._replace_return(request, status=ReturnStatus.RECEIVED, received_at=now)
        self._change(ev.ORDER_RETURN_RECEIVED, actor, now, f"return {return_id} received",
                     {"return": return_data(received)})
        return received

    @property
    def refunded_total(self) -> Money:
        return sum((r.amount for r in self.refunds), Money.zero(self.currency))

    @property
    def refundable(self) -> Money:
        paid = self.payment.amount if self.payment else Money.zero(self.currency)
        return paid - self.refunded_total

    def refund(self, *, amount: Money, reason: str, return_id: str | None, actor: str, now: datetime,
               refund_id: str | None = None) -> Refund:
        if self.payment is None:
            raise InvalidTransition("nothing was paid on this order")
        reason = _text(reason, "reason", MAX_REASON)
        if amount.amount <= 0:
            raise Invalid("must be more than zero", field="amount")
        if return_id is not None:
            request = self.find_return(return_id)
            if request.status not in (ReturnStatus.APPROVED, ReturnStatus.RECEIVED):
                raise InvalidTransition(f"return {return_id} is {request.status.value}; refund an approved or "
                                        "received return", field="return_id")
        if amount.amount > self.refundable.amount:
            raise RefundExceedsPaid(f"at most {self.refundable} can be refunded (paid {self.payment.amount}, "
                                    f"refunded {self.refunded_total})", field="amount")
        refund = Refund(refund_id or new_id(), amount, reason, actor, now, return_id)
        self.refunds.append(refund)
        fully = self.refundable.amount == 0
        self.payment_status = PaymentStatus.REFUNDED if fully else PaymentStatus.PARTIALLY_REFUNDED
        if self.payment_adjustment is not None and self.payment_adjustment.amount < 0:
            settled = min(amount.amount, -self.payment_adjustment.amount)
            self.payment_adjustment = Money(self.payment_adjustment.amount + settled, self.currency)
        self._change(ev.ORDER_REFUNDED, actor, now, f"refunded {amount}: {reason}", {
            "refund": refund_data(refund),
            "refunded_total": money_data(self.refunded_total),
            "payment_status": self.payment_status.value,
        })
        return refund

    # -- history and events -------------------------------------------------------------------

    def _record(self, actor: str, now: datetime, to_status: OrderStatus, note: str) -> None:
        self.history.append(HistoryEntry(now, actor, self.status, to_status, note))
        self.status = to_status
        self.version += 1
        self.updated_at = now

    def _change(self, event_type: str, actor: str, now: datetime, note: str, data: dict[str, Any]) -> None:
        """A change that keeps the status: a history entry, a version and one event."""
        self._record(actor, now, self.status, note)
        self._raise(event_type, actor, now, data)

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
        added_tax = sum((line.added_tax for line in lines), zero)
        return dataclasses.replace(
            self, lines=lines, shipping=shipping, coupons=coupons,
            tax_total=sum((line.tax for line in lines), zero),
            shipments=[s for s in self.shipments if s.vendor_id == vendor_id],
            returns=[r for r in self.returns if r.vendor_id == vendor_id],
            subtotal=subtotal, discount_total=discount, shipping_total=shipping_total,
            total=subtotal - discount + shipping_total + added_tax, payment=None, events=[],
            refunds=[], review=None, payment_adjustment=None,
        )


def money_data(value: Money | None) -> dict[str, str] | None:
    """Money in events: a decimal string and its currency, never a float."""
    if value is None:
        return None
    return {"amount": str(display_amount(value.amount, value.currency)), "currency": value.currency}


def _at(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def shipment_data(shipment: Shipment) -> dict[str, Any]:
    return {
        "id": shipment.shipment_id,
        "vendor_id": shipment.vendor_id,
        "status": shipment.status.value,
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "lines": [{"line_id": item.line_id, "quantity": item.quantity} for item in shipment.lines],
        "shipped_at": _at(shipment.shipped_at),
        "updated_at": _at(shipment.updated_at),
    }


def hold_data(hold: Hold) -> dict[str, Any]:
    return {"reason": hold.reason.value, "note": hold.note or None, "by": hold.by, "at": _at(hold.at)}


def review_data(review: Review) -> dict[str, Any]:
    return {"status": review.status.value, "level": review.level, "assignee": review.assignee,
            "requested_at": _at(review.requested_at), "decided_by": review.decided_by,
            "decided_at": _at(review.decided_at), "note": review.note or None}


def return_data(request: ReturnRequest) -> dict[str, Any]:
    return {"id": request.return_id, "vendor_id": request.vendor_id, "status": request.status.value,
            "lines": [{"line_id": item.line_id, "quantity": item.quantity} for item in request.lines],
            "reason": request.reason, "requested_by": request.requested_by,
            "requested_at": _at(request.requested_at), "decided_by": request.decided_by,
            "decided_at": _at(request.decided_at), "note": request.note or None,
            "received_at": _at(request.received_at)}


def refund_data(refund: Refund) -> dict[str, Any]:
    return {"id": refund.refund_id, "amount": money_data(refund.amount), "reason": refund.reason,
            "return_id": refund.return_id, "by": refund.by, "at": _at(refund.at)}
