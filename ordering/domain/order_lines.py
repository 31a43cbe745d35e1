"""The records an order is made of: its lines, each vendor's shipping, coupons applied, the
payment option chosen and the payment taken, a cancellation, and the history. Plain values; the
rules that change them are the `Order`'s (order.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .lifecycle import OrderStatus
from .pricing import line_tax
from .values import Money


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
