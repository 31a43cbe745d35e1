"""The Order aggregate: one checked-out cart, its frozen prices and its whole lifecycle.

Every change goes through a method of `Order`: the draft, the lifecycle, holds and review here;
its shipments, amendments, and returns and refunds in `order_shipments.py`,
`order_amendments.py` and `order_returns.py`, which `Order` inherits. Each one checks the transition
table, bumps `version`,
appends a history entry (who, when, from, to, why) and raises the domain events of product.md.
Who may call which method is decided in `access.py`; what things cost in `pricing.py`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import events as ev
from . import lifecycle, privacy
from .checkout import CartItem
from .errors import (
    Conflict,
    Forbidden,
    Invalid,
    InvalidTransition,
    PaymentMismatch,
    ReviewRequired,
    ShippingOptionUnavailable,
)
from .fulfilment import (
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
)
from .lifecycle import OrderStatus
from .order_amendments import OrderAmendments
from .order_lines import (
    AppliedCoupon,
    Cancellation,
    ChosenPayment,
    HistoryEntry,
    OrderLine,
    Payment,
    VendorShipping,
)
from .order_returns import OrderReturns
from .order_rules import (
    MAX_NOTE,
    MAX_REASON,
    PaymentStatus,
    choice,
    hold_data,
    money_data,
    new_id,
    optional_text,
    refund_data,
    required_text,
    return_data,
    review_data,
    shipment_data,
)
from .order_shipments import OrderShipments
from .pricing import PricedOrder
from .values import Address, CustomerInfo, Money

# Re-exported: the order's parts and its event data are imported from here.
__all__ = [
    "AppliedCoupon",
    "Cancellation",
    "ChosenPayment",
    "HistoryEntry",
    "Hold",
    "HoldReason",
    "OrderLine",
    "Payment",
    "PaymentStatus",
    "Refund",
    "ReturnRequest",
    "ReturnStatus",
    "Review",
    "ReviewDecision",
    "ReviewStatus",
    "Shipment",
    "ShipmentLine",
    "ShipmentStatus",
    "VendorShipping",
    "hold_data",
    "money_data",
    "new_id",
    "refund_data",
    "return_data",
    "review_data",
    "shipment_data",
]


@dataclass
class Order(OrderShipments, OrderAmendments, OrderReturns):
    """One order: its fields are `OrderState`'s (order_state.py), its rules are the methods here
    and in the parts it derives from."""

    # -- creating and revising a draft ---------------------------------------------------------

    @classmethod
    def checkout(
        cls,
        *,
        tenant_id: str,
        customer: CustomerInfo,
        shipping_address: Address,
        priced: PricedOrder,
        actor: str,
        now: datetime,
        order_id: str | None = None,
        payment_option: ChosenPayment | None = None,
    ) -> Order:
        order = cls(
            order_id=order_id or new_id(),
            tenant_id=tenant_id,
            status=OrderStatus.DRAFT,
            payment_status=PaymentStatus.UNPAID,
            currency=priced.currency,
            customer=customer,
            shipping_address=shipping_address,
            created_at=now,
            updated_at=now,
            payment_option=payment_option,
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
            raise Conflict(
                f"the order is at version {self.version}, not {expected}; reload it", field="expected_version"
            )

    def revise_draft(
        self, priced: PricedOrder, *, actor: str, now: datetime, note: str, shipping_address: Address | None = None
    ) -> None:
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
        vendor_of = dict.fromkeys(priced.coupon_discounts, "")
        vendor_of.update(priced.coupon_vendors)
        self.coupons = [
            AppliedCoupon(code, vendor_of[code], discount) for code, discount in priced.coupon_discounts.items()
        ]
        self.subtotal = priced.subtotal
        self.discount_total = priced.discount_total
        self.shipping_total = priced.shipping_total
        self.tax_total = priced.tax_total
        self.total = priced.total

    # -- the lifecycle ------------------------------------------------------------------------

    def place(
        self,
        *,
        number: str,
        actor: str,
        now: datetime,
        review: bool = False,
        payment_option: ChosenPayment | None = None,
    ) -> None:
        """DRAFT -> PENDING. `review`: the tenant's workflow wants a review before confirmation;
        `payment_option`: the way it will be paid, when the tenant offers a choice."""
        lifecycle.require("place", self.status)
        for selection in self.shipping:
            if selection.option_id is None:
                raise ShippingOptionUnavailable(
                    f"choose a shipping option for vendor {selection.vendor_id} before placing the order",
                    field="shipping_options",
                )
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
        method = required_text(method, "payment.method", 40)
        reference = required_text(reference, "payment.reference", 200)
        if self.payment_option is not None and method != self.payment_option.method:
            raise PaymentMismatch(
                f"the order was placed to be paid by {self.payment_option.method}", field="payment.method"
            )
        if amount.currency != self.currency or amount.amount != self.priced_total.amount:
            raise PaymentMismatch(f"the payment must be {self.total}, the order's total", field="payment.amount")
        self.payment = Payment(method, reference, amount, now)
        self.payment_status = PaymentStatus.PAID
        self._transition("confirm", OrderStatus.CONFIRMED, actor, now, f"paid by {method} ({reference})")

    def deliver(self, *, actor: str, now: datetime) -> None:
        """Staff (or the only vendor) mark a SHIPPED order delivered: its shipments with a carrier too."""
        target = lifecycle.next_status("deliver", self.status)
        self.shipments = [
            dataclasses.replace(s, status=ShipmentStatus.DELIVERED, updated_at=now)
            if s.status in (ShipmentStatus.SHIPPED, ShipmentStatus.IN_TRANSIT)
            else s
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
        reason = required_text(reason, "reason", MAX_REASON)
        self.cancellation = Cancellation(reason, actor, now)
        self.unfulfillable_reason = ""
        if self.payment_status is PaymentStatus.PAID:
            self.payment_status = PaymentStatus.REFUND_PENDING
        self.hold = None
        self.shipments = [
            dataclasses.replace(s, status=ShipmentStatus.CANCELLED, updated_at=now)
            if s.status is ShipmentStatus.PENDING
            else s
            for s in self.shipments
        ]
        self._transition("cancel", target, actor, now, reason, data={"reason": reason, "cancelled_by": actor})

    # -- unfulfillable ------------------------------------------------------------------------

    def mark_unfulfillable(self, *, reason: str, actor: str, now: datetime) -> None:
        """CONFIRMED or PARTIALLY_SHIPPED -> UNFULFILLABLE: it cannot be shipped as things stand
        (stock gone, a vendor out). Its reservations stay; it is then cancelled or resumed."""
        target = lifecycle.next_status("mark_unfulfillable", self.status)
        reason = required_text(reason, "reason", MAX_REASON)
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

    def place_on_hold(self, *, reason: Any, note: str | None, actor: str, now: datetime) -> None:
        lifecycle.require("hold", self.status)
        if self.hold is not None:
            raise InvalidTransition(f"the order is already on hold ({self.hold.reason.value})")
        hold = Hold(choice(HoldReason, reason, "reason"), optional_text(note, "note", MAX_NOTE), actor, now)
        self.hold = hold
        self._change(ev.ORDER_PLACED_ON_HOLD, actor, now, f"on hold: {hold.reason.value}", {"hold": hold_data(hold)})

    def release_hold(self, *, note: str | None, actor: str, now: datetime) -> None:
        if self.hold is None:
            raise InvalidTransition("the order is not on hold")
        note = optional_text(note, "note", MAX_NOTE)
        released, self.hold = self.hold, None
        self._change(
            ev.ORDER_HOLD_RELEASED,
            actor,
            now,
            f"hold released ({released.reason.value})",
            {"hold": hold_data(released), "note": note or None},
        )

    def _pending_review(self) -> Review:
        lifecycle.require("review", self.status)
        if self.review is None or self.review.status is not ReviewStatus.PENDING:
            raise InvalidTransition("this order has no review waiting")
        return self.review

    def decide_review(self, *, decision: Any, note: str | None, actor: str, now: datetime) -> None:
        """APPROVE lets it be confirmed; REJECT cancels it. After an escalation only the assignee decides."""
        review = self._pending_review()
        decision = choice(ReviewDecision, decision, "decision")
        note = optional_text(note, "note", MAX_NOTE)
        if review.assignee is not None and review.assignee != actor:
            raise Forbidden(f"this review was escalated to {review.assignee}; only they can decide it")
        status = ReviewStatus.APPROVED if decision is ReviewDecision.APPROVE else ReviewStatus.REJECTED
        self.review = dataclasses.replace(review, status=status, decided_by=actor, decided_at=now, note=note)
        self._change(
            ev.ORDER_REVIEWED,
            actor,
            now,
            f"review {status.value.lower()}" + (f": {note}" if note else ""),
            {"decision": decision.value, "note": note or None, "review": review_data(self.review)},
        )
        if decision is ReviewDecision.REJECT:
            self.cancel(reason=f"rejected in review: {note}" if note else "rejected in review", actor=actor, now=now)

    def escalate_review(self, *, assignee: str, note: str | None, actor: str, now: datetime) -> None:
        review = self._pending_review()
        assignee = required_text(assignee, "reviewer_id", 255)
        note = optional_text(note, "note", MAX_NOTE)
        if review.assignee is not None and review.assignee != actor:
            raise Forbidden(f"this review was escalated to {review.assignee}; only they can escalate it further")
        if assignee == review.assignee:
            raise Invalid("the review is already assigned to this reviewer", field="reviewer_id")
        self.review = dataclasses.replace(review, level=review.level + 1, assignee=assignee, note=note)
        self._change(
            ev.ORDER_REVIEW_ESCALATED,
            actor,
            now,
            f"review escalated to {assignee}",
            {"review": review_data(self.review), "note": note or None},
        )

    def pull_events(self) -> list[ev.OrderEvent]:
        raised, self.events = self.events, []
        return raised

    # -- the customer's right to erasure (privacy.py) -----------------------------------------

    def personal_values(self, keep: frozenset[str]) -> set[str]:
        """The personal values the order holds that an erasure removes (`privacy.py`)."""
        customer = self.customer
        written = [customer.email, customer.first_name, customer.last_name, customer.phone]
        written += [h.note for h in self.history if h.actor == customer.user_id]
        written += [r.reason for r in self.returns if r.requested_by == customer.user_id]
        if self.cancellation is not None and self.cancellation.by == customer.user_id:
            written.append(self.cancellation.reason)
        return privacy.erasable(written) | privacy.address_values(self.shipping_address, keep)

    def erase_personal_data(self, *, keep: frozenset[str], actor: str, now: datetime) -> bool:
        """Replace every personal field by the marker, keeping the address fields of `keep`, and
        what the customer wrote whole; record it in the history (no event: the erasure raises one
        `customer.erased` for all of the customer's orders). False, and nothing changed, when
        there is nothing left to erase."""
        marker, customer, address = privacy.ERASED, self.customer, self.shipping_address
        if not self.personal_values(keep):
            return False
        mine = customer.user_id
        self.customer = dataclasses.replace(
            customer,
            email=marker,
            first_name=marker,
            last_name=marker,
            phone=marker if customer.phone else "",
        )
        self.shipping_address = Address(
            line1=marker,
            line2=marker if address.line2 else "",
            city=marker,
            state=marker if address.state else "",
            postal_code=address.postal_code if "postal_code" in keep else marker,
            country=address.country if "country" in keep else privacy.ERASED_COUNTRY,
        )
        self.history = [dataclasses.replace(h, note=marker) if h.actor == mine and h.note else h for h in self.history]
        self.returns = [dataclasses.replace(r, reason=marker) if r.requested_by == mine else r for r in self.returns]
        if self.cancellation is not None and self.cancellation.by == mine:
            self.cancellation = dataclasses.replace(self.cancellation, reason=marker)
        self._record(actor, now, self.status, privacy.ERASURE_NOTE)
        return True

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
            self,
            lines=lines,
            shipping=shipping,
            coupons=coupons,
            tax_total=sum((line.tax for line in lines), zero),
            shipments=[s for s in self.shipments if s.vendor_id == vendor_id],
            returns=[r for r in self.returns if r.vendor_id == vendor_id],
            subtotal=subtotal,
            discount_total=discount,
            shipping_total=shipping_total,
            total=subtotal - discount + shipping_total + added_tax,
            payment=None,
            events=[],
            refunds=[],
            review=None,
            payment_adjustment=None,
        )
