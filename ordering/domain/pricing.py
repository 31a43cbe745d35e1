"""Pricing a cart from snapshots, frozen on the order (issue 4, "Pricing").

- line subtotal = unit price x quantity;
- the one best offer of the line's vendor that applies to it: percent off the line, or a fixed
  amount off each unit (capped at the line); ties go to the higher priority. Free-shipping
  offers that apply to any of a vendor's lines waive that vendor's shipping;
- coupons: vendor-scoped ones discount that vendor's lines (after offers), tenant-wide ones the
  whole order; percent or fixed (in the order's currency), minimum subtotal, validity window,
  never more than what they apply to. Usage limits are counted when the order is placed;
- shipping per vendor from the selected option (a vendor without a selection costs nothing yet;
  placing the order needs one for every vendor): base + per extra item, free at or above its
  threshold (the vendor's lines after discounts); the destination must be allowed;
- tax (issue 7): the vendor's active tax option for the destination country, per line, on the
  line's total after its offer (coupons and shipping are not taxed); an exclusive rate adds to the
  total, an inclusive one is the part of the price that is tax; a vendor without an option for
  the country is untaxed;
- one currency per order; half-even rounding to the currency's minor units; totals never negative.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from snapshots.domain.catalog import Coupon, Offer, Product, ShippingOption, TaxOption, tax_key

from .errors import CouponInvalid, ShippingOptionUnavailable
from .values import CurrencyMismatch, Money


def line_tax(base: Money, rate: Decimal, inclusive: bool) -> Money:
    """The tax in (inclusive) or on top of (exclusive) `base` at `rate` percent, rounded."""
    if rate == 0:
        return Money.zero(base.currency)
    divisor = Decimal(100) + rate if inclusive else Decimal(100)
    return Money(base.amount * rate / divisor, base.currency).rounded()


@dataclass(frozen=True)
class PricedLine:
    product: Product
    quantity: int
    subtotal: Money
    discount: Money
    offer_id: str | None
    tax_rate: Decimal = Decimal(0)
    tax_inclusive: bool = False

    @property
    def total(self) -> Money:
        return self.subtotal - self.discount

    @property
    def tax(self) -> Money:
        return line_tax(self.total, self.tax_rate, self.tax_inclusive)

    @property
    def added_tax(self) -> Money:
        """What the tax adds to the order total (nothing when it is in the price)."""
        return Money.zero(self.subtotal.currency) if self.tax_inclusive else self.tax


@dataclass(frozen=True)
class PricedShipping:
    """A vendor's shipping. `option` is None while the draft has no selection for the vendor."""

    vendor_id: str
    option: ShippingOption | None
    cost: Money
    waived_by: str | None  # "free_over" or an offer id

    @property
    def option_id(self) -> str | None:
        return self.option.option_id if self.option else None


@dataclass(frozen=True)
class PricedOrder:
    currency: str
    lines: list[PricedLine]
    shipping: list[PricedShipping]
    coupon_discounts: dict[str, Money]
    coupon_vendors: dict[str, str] = field(default_factory=dict)  # vendor-scoped coupons only

    @property
    def subtotal(self) -> Money:
        return _sum((line.subtotal for line in self.lines), self.currency)

    @property
    def discount_total(self) -> Money:
        offers = _sum((line.discount for line in self.lines), self.currency)
        return offers + _sum(self.coupon_discounts.values(), self.currency)

    @property
    def shipping_total(self) -> Money:
        return _sum((s.cost for s in self.shipping), self.currency)

    @property
    def tax_total(self) -> Money:
        return _sum((line.tax for line in self.lines), self.currency)

    @property
    def total(self) -> Money:
        added = _sum((line.added_tax for line in self.lines), self.currency)
        return self.subtotal - self.discount_total + self.shipping_total + added


def _sum(amounts: Iterable[Money], currency: str) -> Money:
    total = Money.zero(currency)
    for amount in amounts:
        total = total + amount
    return total


def _in_window(start: datetime | None, end: datetime | None, now: datetime) -> bool:
    return (start is None or start <= now) and (end is None or now < end)


def _offer_discount(offer: Offer, product: Product, quantity: int, subtotal: Money, now: datetime) -> Money | None:
    if (
        not offer.active
        or offer.vendor_id != product.vendor_id
        or offer.kind == "free_shipping"
        or offer.value is None  # only free shipping has none
        or quantity < offer.min_quantity
        or not _in_window(offer.valid_from, offer.valid_until, now)
        or (offer.product_ids and product.product_id not in offer.product_ids)
    ):
        return None
    if offer.kind == "percent_off":
        return subtotal.percent(offer.value).min(subtotal)
    return Money(offer.value, subtotal.currency).times(quantity).rounded().min(subtotal)


def _price_line(product: Product, quantity: int, offers: list[Offer], now: datetime) -> PricedLine:
    subtotal = product.price.times(quantity).rounded()
    best: tuple[Money, int, Offer] | None = None
    for offer in offers:
        discount = _offer_discount(offer, product, quantity, subtotal, now)
        if discount is None:
            continue
        if best is None or (discount.amount, offer.priority) > (best[0].amount, best[1]):
            best = (discount, offer.priority, offer)
    discount = best[0] if best else Money.zero(subtotal.currency)
    return PricedLine(product, quantity, subtotal, discount, best[2].offer_id if best else None)


def _taxed(line: PricedLine, taxes: dict[str, TaxOption], country: str) -> PricedLine:
    """The vendor's active tax for the destination, on the line after its offer; none: untaxed."""
    tax = taxes.get(tax_key(line.product.vendor_id, country))
    if tax is None or not tax.active:
        return line
    return PricedLine(line.product, line.quantity, line.subtotal, line.discount, line.offer_id, tax.rate, tax.inclusive)


def _coupon_discount(coupon: Coupon, base: Money, now: datetime) -> Money:
    if not coupon.active or not _in_window(coupon.valid_from, coupon.valid_until, now):
        raise CouponInvalid(f"coupon {coupon.code} is not valid now", field="coupon_codes")
    if coupon.min_subtotal is not None:
        if coupon.min_subtotal.currency != base.currency:
            raise CouponInvalid(f"coupon {coupon.code} is for another currency", field="coupon_codes")
        if not base >= coupon.min_subtotal:
            raise CouponInvalid(f"coupon {coupon.code} needs a subtotal of {coupon.min_subtotal}", field="coupon_codes")
    if coupon.kind == "percent":
        return base.percent(coupon.value).min(base)
    if coupon.currency != base.currency:
        raise CouponInvalid(f"coupon {coupon.code} is for another currency", field="coupon_codes")
    return Money(coupon.value, base.currency).rounded().min(base)


def price_order(
    items: list[tuple[Product, int]],
    *,
    offers: list[Offer],
    coupons: list[Coupon],
    shipping: dict[str, ShippingOption | None],
    destination_country: str,
    now: datetime,
    taxes: dict[str, TaxOption] | None = None,
) -> PricedOrder:
    if not items:
        raise ValueError("an order needs at least one line")
    currency = items[0][0].price.currency
    for product, _ in items:
        if product.price.currency != currency:
            raise CurrencyMismatch(f"{product.sku} is priced in {product.price.currency}, the order in {currency}")
    lines = [
        _taxed(_price_line(product, quantity, offers, now), taxes or {}, destination_country)
        for product, quantity in items
    ]

    by_vendor: dict[str, list[PricedLine]] = defaultdict(list)
    for line in lines:
        by_vendor[line.product.vendor_id].append(line)
    after_offers = {
        vendor: _sum((line.total for line in vendor_lines), currency) for vendor, vendor_lines in by_vendor.items()
    }

    coupon_discounts: dict[str, Money] = {}
    coupon_vendors: dict[str, str] = {}
    remaining = dict(after_offers)  # per vendor, after offers and vendor coupons
    for coupon in sorted((c for c in coupons if c.vendor_id), key=lambda c: c.code):
        if coupon.vendor_id not in remaining:
            raise CouponInvalid(f"coupon {coupon.code} does not apply to this order", field="coupon_codes")
        discount = _coupon_discount(coupon, remaining[coupon.vendor_id], now)
        remaining[coupon.vendor_id] = remaining[coupon.vendor_id] - discount
        coupon_discounts[coupon.code] = discount
        coupon_vendors[coupon.code] = coupon.vendor_id
    order_remaining = _sum(remaining.values(), currency)
    for coupon in sorted((c for c in coupons if not c.vendor_id), key=lambda c: c.code):
        discount = _coupon_discount(coupon, order_remaining, now)
        order_remaining = order_remaining - discount
        coupon_discounts[coupon.code] = discount

    priced_shipping = [
        _price_shipping(vendor, vendor_lines, shipping.get(vendor), remaining[vendor], offers, destination_country, now)
        for vendor, vendor_lines in sorted(by_vendor.items())
    ]
    return PricedOrder(currency, lines, priced_shipping, coupon_discounts, coupon_vendors)


def _price_shipping(
    vendor: str,
    lines: list[PricedLine],
    option: ShippingOption | None,
    vendor_value: Money,
    offers: list[Offer],
    country: str,
    now: datetime,
) -> PricedShipping:
    if option is None:
        return PricedShipping(vendor, None, Money.zero(vendor_value.currency), None)
    if not option.active or option.vendor_id != vendor:
        raise ShippingOptionUnavailable(
            f"choose an active shipping option of vendor {vendor}", field="shipping_options"
        )
    if country not in option.countries:
        raise ShippingOptionUnavailable(f"{option.name} does not ship to {country}", field="shipping_address.country")
    if option.base_cost.currency != vendor_value.currency:
        raise CurrencyMismatch(f"shipping option {option.option_id} is priced in {option.base_cost.currency}")
    for offer in offers:
        if (
            offer.kind == "free_shipping"
            and offer.active
            and offer.vendor_id == vendor
            and _in_window(offer.valid_from, offer.valid_until, now)
            and any(
                (not offer.product_ids or line.product.product_id in offer.product_ids)
                and line.quantity >= offer.min_quantity
                for line in lines
            )
        ):
            return PricedShipping(vendor, option, Money.zero(vendor_value.currency), offer.offer_id)
    if option.free_over is not None and vendor_value >= option.free_over:
        return PricedShipping(vendor, option, Money.zero(vendor_value.currency), "free_over")
    items = sum(line.quantity for line in lines)
    cost = option.base_cost
    if option.per_item_cost is not None and items > 1:
        cost = cost + option.per_item_cost.times(items - 1)
    return PricedShipping(vendor, option, cost.rounded(), None)
