"""What every part of an `Order` reads and the steps they share.

`Order` (order.py) is written in parts by subject: the draft, lifecycle, holds and review in
order.py, shipments, amendments, and returns and refunds in their own modules. Each part derives
from `OrderState` and uses only what it declares here: the order's fields, and the shared steps
(a history entry, an event, a transition, the hold check, a line by id). No part calls another
part's private methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import events as ev
from .errors import NotFound, OrderOnHold
from .fulfilment import Hold, Refund, ReturnRequest, Review, Shipment
from .lifecycle import OrderStatus
from .order_lines import (
    AppliedCoupon,
    Cancellation,
    ChosenPayment,
    HistoryEntry,
    OrderLine,
    Payment,
    VendorShipping,
)
from .order_rules import PaymentStatus
from .values import Address, CustomerInfo, Money


@dataclass
class OrderState:
    """The order's fields, declared once here, and the steps its parts share."""

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

    @property
    def priced_total(self) -> Money:
        """The order's total: every order is priced from its checkout on."""
        assert self.total is not None, "an order is priced when it is checked out"
        return self.total

    # -- checks shared by the parts -----------------------------------------------------------

    def _require_not_held(self, action: str) -> None:
        if self.hold is not None:
            raise OrderOnHold(f"the order is on hold ({self.hold.reason.value}); release it before you {action} it")

    def _line(self, line_id: str, field_name: str) -> OrderLine:
        for line in self.lines:
            if line.line_id == line_id:
                return line
        raise NotFound("no such line on this order", field=field_name)

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

    def _transition(
        self, action: str, target: OrderStatus, actor: str, now: datetime, note: str, data: dict[str, Any] | None = None
    ) -> None:
        source = self.status
        self._record(actor, now, target, note)
        self._raise(
            ev.TRANSITION_EVENTS[action],
            actor,
            now,
            {"from_status": source.value, "to_status": target.value, **(data or {})},
        )
        if source is not target:
            self._raise(ev.ORDER_STATUS_CHANGED, actor, now, {"from_status": source.value, "to_status": target.value})

    def _raise(self, event_type: str, actor: str, now: datetime, data: dict[str, Any] | None = None) -> None:
        self.event_sequence += 1
        self.events.append(
            ev.OrderEvent(event_type, self.tenant_id, self.order_id, self.event_sequence, now, actor, data or {})
        )
