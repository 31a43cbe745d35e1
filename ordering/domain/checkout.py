"""Checking a cart against the tenant's snapshots, then pricing it (product.md, checkout).

The application layer loads the snapshots a cart refers to into a `Catalog`; these rules decide
whether the cart may become (or stay) an order and what it costs. Every refusal names the input
field at fault and carries the code of api.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from snapshots.domain.catalog import Coupon, Offer, PaymentOption, Product, ShippingOption, TaxOption, Vendor

from .errors import (
    CouponExhausted,
    CouponInvalid,
    Invalid,
    OutOfStock,
    PaymentOptionUnavailable,
    ProductUnavailable,
    QuantityLimit,
    ShippingOptionUnavailable,
    VendorUnavailable,
)
from .pricing import PricedOrder, price_order

MAX_LINES = 100
MAX_QUANTITY = 10_000
MAX_COUPONS = 10


@dataclass(frozen=True)
class CartItem:
    product_id: str
    quantity: int


@dataclass
class Catalog:
    """The snapshots one cart needs, as the application loaded them (missing ids are absent)."""

    products: dict[str, Product] = field(default_factory=dict)
    vendors: dict[str, Vendor] = field(default_factory=dict)
    offers: list[Offer] = field(default_factory=list)
    coupons: dict[str, Coupon] = field(default_factory=dict)
    coupon_uses: dict[str, int] = field(default_factory=dict)
    shipping_options: dict[str, ShippingOption] = field(default_factory=dict)
    tax_options: dict[str, TaxOption] = field(default_factory=dict)  # by tax key
    payment_options: dict[str, PaymentOption] = field(default_factory=dict)  # the tenant's active ones


def check_items(items: list[CartItem], *, field_name: str = "items") -> list[CartItem]:
    """Shape rules that need no snapshot: at least one line, each product once, quantity > 0."""
    if not items:
        raise Invalid("an order needs at least one item", field=field_name)
    if len(items) > MAX_LINES:
        raise Invalid(f"an order has at most {MAX_LINES} lines", field=field_name)
    seen: set[str] = set()
    for index, item in enumerate(items):
        where = f"{field_name}[{index}]"
        if not isinstance(item.product_id, str) or not item.product_id.strip():
            raise Invalid("is required", field=f"{where}.product_id")
        if item.product_id in seen:
            raise Invalid("each product appears once; sum its quantities", field=f"{where}.product_id")
        seen.add(item.product_id)
        if isinstance(item.quantity, bool) or not isinstance(item.quantity, int) or item.quantity < 1:
            raise Invalid("must be a positive whole number", field=f"{where}.quantity")
        if item.quantity > MAX_QUANTITY:
            raise QuantityLimit(f"at most {MAX_QUANTITY} of one product per order", field=f"{where}.quantity")
    return items


def check_coupon_codes(codes: list[str], *, field_name: str = "coupon_codes") -> list[str]:
    cleaned: list[str] = []
    if len(codes) > MAX_COUPONS:
        raise Invalid(f"at most {MAX_COUPONS} coupons per order", field=field_name)
    for index, code in enumerate(codes):
        text = code.strip() if isinstance(code, str) else ""
        if not text or len(text) > 64:
            raise Invalid("must be a coupon code", field=f"{field_name}[{index}]")
        if text not in cleaned:
            cleaned.append(text)
    return cleaned


def _check_product(index: int, item: CartItem, catalog: Catalog, check_stock: bool) -> Product:
    where = f"items[{index}]"
    product = catalog.products.get(item.product_id)
    if product is None or not product.active:
        raise ProductUnavailable(f"product {item.product_id} is not available", field=f"{where}.product_id")
    vendor = catalog.vendors.get(product.vendor_id)
    if vendor is None or not vendor.active:
        raise VendorUnavailable(f"the vendor of {product.sku} is not selling now", field=f"{where}.product_id")
    if item.quantity < product.min_quantity:
        raise QuantityLimit(
            f"{product.sku} is sold in quantities of at least {product.min_quantity}", field=f"{where}.quantity"
        )
    if product.max_quantity is not None and item.quantity > product.max_quantity:
        raise QuantityLimit(f"at most {product.max_quantity} of {product.sku} per order", field=f"{where}.quantity")
    sellable = product.sellable_quantity
    if check_stock and sellable is not None and item.quantity > sellable:
        raise OutOfStock(f"only {sellable} of {product.sku} available", field=f"{where}.quantity")
    return product


def check_coupon(code: str, catalog: Catalog, *, field_name: str) -> Coupon:
    coupon = catalog.coupons.get(code)
    if coupon is None or not coupon.active:
        raise CouponInvalid(f"coupon {code} is not valid", field=field_name)
    if coupon.usage_limit is not None and catalog.coupon_uses.get(code, 0) >= coupon.usage_limit:
        raise CouponExhausted(f"coupon {code} has been used up", field=field_name)
    return coupon


def price_cart(
    items: list[CartItem],
    catalog: Catalog,
    *,
    coupon_codes: list[str],
    selections: dict[str, str],
    destination_country: str,
    now: datetime,
    check_stock: bool = True,
) -> PricedOrder:
    """Check every item, coupon and shipping selection against the snapshots, then price.
    `check_stock=False` leaves stock to the caller (placement: the reservation decides)."""
    check_items(items)
    products = [(_check_product(i, item, catalog, check_stock), item.quantity) for i, item in enumerate(items)]
    vendors = {product.vendor_id for product, _ in products}
    coupons = [check_coupon(code, catalog, field_name=f"coupon_codes[{i}]") for i, code in enumerate(coupon_codes)]
    shipping: dict[str, ShippingOption | None] = dict.fromkeys(vendors)
    for vendor_id, option_id in sorted(selections.items()):
        if vendor_id not in vendors:
            continue  # the vendor's lines left the cart: its selection goes with them
        option = catalog.shipping_options.get(option_id)
        if option is None or option.vendor_id != vendor_id or not option.active:
            raise ShippingOptionUnavailable(
                f"{option_id} is not a shipping option of vendor {vendor_id}", field="shipping_options"
            )
        shipping[vendor_id] = option
    return price_order(
        products,
        offers=catalog.offers,
        coupons=coupons,
        shipping=shipping,
        destination_country=destination_country,
        now=now,
        taxes=catalog.tax_options,
    )


def check_selection(
    vendor_ids: set[str], vendor_id: str, option_id: str, catalog: Catalog, destination_country: str
) -> None:
    """A new shipping choice: a vendor of this order, an active option of it that ships there."""
    if vendor_id not in vendor_ids:
        raise Invalid(f"the order has no lines of vendor {vendor_id}", field="vendor_id")
    option = catalog.shipping_options.get(option_id)
    if option is None or option.vendor_id != vendor_id or not option.active:
        raise ShippingOptionUnavailable(
            f"{option_id} is not a shipping option of vendor {vendor_id}", field="shipping_option_id"
        )
    if destination_country not in option.countries:
        raise ShippingOptionUnavailable(
            f"{option.name} does not ship to {destination_country}", field="shipping_option_id"
        )


def selections_shipping_to(selections: dict[str, str], catalog: Catalog, country: str) -> dict[str, str]:
    """The choices that still work for a new destination; the others must be chosen again."""
    kept = {}
    for vendor_id, option_id in selections.items():
        option = catalog.shipping_options.get(option_id)
        if option is not None and country in option.countries:
            kept[vendor_id] = option_id
    return kept


def check_payment_option(option_id: str | None, vendor_ids: set[str], catalog: Catalog) -> PaymentOption | None:
    """The payment option a checkout chose: required when the tenant has any. Its method must be
    accepted by every vendor of the order (an option of that vendor, or one for all vendors)."""
    if option_id is None or (isinstance(option_id, str) and not option_id.strip()):
        if catalog.payment_options:
            raise PaymentOptionUnavailable("choose one of the tenant's payment options", field="payment_option_id")
        return None
    option = catalog.payment_options.get(option_id.strip() if isinstance(option_id, str) else "")
    if option is None or not option.active:
        raise PaymentOptionUnavailable(f"{option_id} is not an active payment option", field="payment_option_id")
    for vendor_id in sorted(vendor_ids):
        if not any(
            o.active and o.method == option.method and o.vendor_id in ("", vendor_id)
            for o in catalog.payment_options.values()
        ):
            raise PaymentOptionUnavailable(
                f"vendor {vendor_id} does not accept {option.method}", field="payment_option_id"
            )
    return option
