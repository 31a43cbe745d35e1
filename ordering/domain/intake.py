"""Orders taken in from sales channels (docs/integrations.md): a storefront, marketplace or point
of sale sold the goods at its own prices and sends the order over.

The rules:
- The channel's prices are the order's: nothing is re-priced from snapshots.
- One currency; every amount a non-negative decimal with at most the currency's minor units.
- Each line: SKU, name, vendor, quantity 1..10,000, unit price; optional discount (at most the
  line's subtotal), tax charged and weight (kg). Each vendor has at most one shipping entry.
- The order's total is the lines' subtotals, less their discounts, plus shipping and taxes; a
  stated `total` that differs is TOTAL_MISMATCH.
- Vendors must be known when the tenant has vendor snapshots (VENDOR_UNAVAILABLE), unless the
  channel accepts any.
- The order is taken in placed (PENDING, with a number); with `paid_amount` equal to the total it
  is confirmed at once with the channel's payment. A paid amount that is not the total is
  PAYMENT_MISMATCH. From then on it follows the normal lifecycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from . import events as ev
from .checkout import MAX_QUANTITY
from .errors import Invalid, PaymentMismatch, TotalMismatch, VendorUnavailable
from .lifecycle import OrderStatus
from .order import HistoryEntry, Order, OrderLine, PaymentStatus, VendorShipping, new_id
from .values import Address, CustomerInfo, Money, parse_amount

MAX_LINES = 200
MAX_WEIGHT = Decimal("100000")
CHANNEL_SHIPPING = "channel"  # a shipping entry's option id: chosen and charged by the channel


CHANNEL_KINDS = [("shopify", "Shopify"), ("woocommerce", "WooCommerce"), ("generic", "generic")]


@dataclass(frozen=True)
class SalesChannel:
    channel_id: str
    kind: str
    accept_any_vendor: bool
    active: bool


@dataclass(frozen=True)
class ImportLine:
    sku: str
    product_name: str
    vendor_id: str
    quantity: int
    unit_price: Money
    discount: Money
    tax: Money
    weight: Decimal | None


@dataclass(frozen=True)
class ImportShipping:
    vendor_id: str
    carrier: str
    service: str
    price: Money


@dataclass(frozen=True)
class ChannelOrder:
    """A channel's order, checked: what `take_in` builds the order from."""

    channel: str
    external_reference: str
    currency: str
    customer: CustomerInfo
    shipping_address: Address
    lines: tuple[ImportLine, ...]
    shipping: tuple[ImportShipping, ...]
    subtotal: Money
    discount_total: Money
    shipping_total: Money
    tax_total: Money
    total: Money
    paid_amount: Money | None
    payment_reference: str

    @property
    def vendor_ids(self) -> set[str]:
        return {line.vendor_id for line in self.lines}


def _text(value: Any, field: str, max_length: int, *, required: bool = True) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        if required:
            raise Invalid("is required", field=field)
        return ""
    if len(text) > max_length:
        raise Invalid(f"must be at most {max_length} characters", field=field)
    return text


def _currency(value: Any) -> str:
    code = value.strip().upper() if isinstance(value, str) else ""
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise Invalid("must be an ISO 4217 code such as USD", field="currency")
    return code


def _weight(value: Any, field: str) -> Decimal | None:
    if value is None:
        return None
    try:
        weight = Decimal(str(value).strip()) if not isinstance(value, (bool, float)) else None
    except InvalidOperation:
        weight = None
    if weight is None or not weight.is_finite() or weight < 0 or weight > MAX_WEIGHT or weight != round(weight, 3):
        raise Invalid("must be a decimal number of kilograms, at most 3 decimal places", field=field)
    return weight


def _amount(value: Any, currency: str, field: str, *, default_zero: bool = False) -> Money:
    if value is None and default_zero:
        return Money.zero(currency)
    return parse_amount(value, currency, field=field).rounded()  # "9.9" and "9.90" are one amount


def check_channel_order(
    *,
    channel: str,
    external_reference: Any,
    currency: Any,
    customer: Any,
    shipping_address: Any,
    lines: Any,
    shipping: Any = None,
    total: Any = None,
    paid_amount: Any = None,
    payment_reference: Any = None,
    customer_user_id: str = "",
) -> ChannelOrder:
    """A channel's order as sent (snake_case fields, amounts as decimal strings), checked."""
    reference = _text(external_reference, "external_reference", 255)
    code = _currency(currency)
    buyer = CustomerInfo.create(customer_user_id, customer if isinstance(customer, dict) else {})
    address = Address.create(shipping_address if isinstance(shipping_address, dict) else {})
    if not isinstance(lines, list) or not lines:
        raise Invalid("an order has at least one line", field="lines")
    if len(lines) > MAX_LINES:
        raise Invalid(f"an order has at most {MAX_LINES} lines", field="lines")
    checked: list[ImportLine] = []
    for index, raw in enumerate(lines):
        f = f"lines[{index}]"
        raw = raw if isinstance(raw, dict) else {}
        quantity = raw.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
            raise Invalid(f"must be a whole number from 1 to {MAX_QUANTITY}", field=f"{f}.quantity")
        unit_price = _amount(raw.get("unit_price"), code, f"{f}.unit_price")
        discount = _amount(raw.get("discount"), code, f"{f}.discount", default_zero=True)
        subtotal = unit_price.times(quantity)
        if discount.amount > subtotal.amount:
            raise Invalid("cannot be more than the line's subtotal", field=f"{f}.discount")
        checked.append(
            ImportLine(
                sku=_text(raw.get("sku"), f"{f}.sku", 100),
                product_name=_text(raw.get("product_name"), f"{f}.product_name", 300),
                vendor_id=_text(raw.get("vendor_id"), f"{f}.vendor_id", 255),
                quantity=quantity,
                unit_price=unit_price,
                discount=discount,
                tax=_amount(raw.get("tax_amount"), code, f"{f}.tax_amount", default_zero=True),
                weight=_weight(raw.get("weight"), f"{f}.weight"),
            )
        )
    vendors = {line.vendor_id for line in checked}
    charges: list[ImportShipping] = []
    for index, raw in enumerate(shipping or []):
        f = f"shipping[{index}]"
        raw = raw if isinstance(raw, dict) else {}
        vendor = _text(raw.get("vendor_id"), f"{f}.vendor_id", 255)
        if vendor not in vendors:
            raise Invalid("names a vendor with no line in this order", field=f"{f}.vendor_id")
        if any(charge.vendor_id == vendor for charge in charges):
            raise Invalid("each vendor has one shipping entry", field=f"{f}.vendor_id")
        charges.append(
            ImportShipping(
                vendor,
                _text(raw.get("carrier"), f"{f}.carrier", 100),
                _text(raw.get("service"), f"{f}.service", 200),
                _amount(raw.get("price"), code, f"{f}.price"),
            )
        )
    zero = Money.zero(code)
    subtotal = sum((line.unit_price.times(line.quantity) for line in checked), zero)
    discount_total = sum((line.discount for line in checked), zero)
    shipping_total = sum((charge.price for charge in charges), zero)
    tax_total = sum((line.tax for line in checked), zero)
    computed = subtotal - discount_total + shipping_total + tax_total
    if total is not None:
        stated = _amount(total, code, "total")
        if stated.amount != computed.amount:
            raise TotalMismatch(
                f"the lines, shipping, discounts and taxes add up to {computed}, not {stated}", field="total"
            )
    paid = None
    reference_of_payment = _text(payment_reference, "payment_reference", 200, required=False)
    if paid_amount is not None:
        paid = _amount(paid_amount, code, "paid_amount")
        if paid.amount != computed.amount:
            raise PaymentMismatch(f"a channel's payment is the whole total, {computed}", field="paid_amount")
    return ChannelOrder(
        channel,
        reference,
        code,
        buyer,
        address,
        tuple(checked),
        tuple(charges),
        subtotal,
        discount_total,
        shipping_total,
        tax_total,
        computed,
        paid,
        reference_of_payment,
    )


def check_vendors(order: ChannelOrder, known: set[str] | None, *, accept_any: bool) -> None:
    """`known`: the tenant's vendor snapshots among the order's vendors (None: it has none)."""
    if known is None or accept_any:
        return
    for index, line in enumerate(order.lines):
        if line.vendor_id not in known:
            raise VendorUnavailable(
                f"vendor {line.vendor_id} is not one of this tenant's vendors", field=f"lines[{index}].vendor_id"
            )


def take_in(
    order: ChannelOrder, *, tenant_id: str, number: str, products: dict[tuple[str, str], str], actor: str, now: datetime
) -> Order:
    """The order, placed (PENDING) or, paid by the channel, CONFIRMED: `order.created`, then the
    usual transition events. `products` maps (vendor id, SKU) to the product snapshot a line is
    of, where the tenant has one: those lines hold stock like any placed order's."""
    code = order.currency
    zero = Money.zero(code)
    taken = Order(
        order_id=new_id(),
        tenant_id=tenant_id,
        status=OrderStatus.DRAFT,
        payment_status=PaymentStatus.UNPAID,
        currency=code,
        customer=order.customer,
        shipping_address=order.shipping_address,
        created_at=now,
        updated_at=now,
        channel=order.channel,
        external_reference=order.external_reference,
        lines=[
            OrderLine(
                line_id=new_id(),
                product_id=products.get((line.vendor_id, line.sku), ""),
                vendor_id=line.vendor_id,
                sku=line.sku,
                product_name=line.product_name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                subtotal=line.unit_price.times(line.quantity),
                discount=line.discount,
                fixed_tax=line.tax,
                weight=line.weight,
            )
            for line in order.lines
        ],
        shipping=[
            VendorShipping(charge.vendor_id, CHANNEL_SHIPPING, charge.service, charge.carrier, charge.price)
            for charge in order.shipping
        ]
        + [
            VendorShipping(vendor, CHANNEL_SHIPPING, "", "", zero)
            for vendor in sorted(order.vendor_ids - {charge.vendor_id for charge in order.shipping})
        ],
        subtotal=order.subtotal,
        discount_total=order.discount_total,
        shipping_total=order.shipping_total,
        tax_total=order.tax_total,
        total=order.total,
    )
    taken.history.append(
        HistoryEntry(now, actor, None, OrderStatus.DRAFT, f"imported from {order.channel} ({order.external_reference})")
    )
    taken._raise(ev.ORDER_CREATED, actor, now)
    taken.place(number=number, actor=actor, now=now)
    if order.paid_amount is not None:
        taken.confirm(
            method=order.channel,
            reference=order.payment_reference or order.external_reference,
            amount=order.paid_amount,
            actor=actor,
            now=now,
        )
    return taken
