"""Snapshots and orders for domain tests (plain Python, no database)."""

from __future__ import annotations

from datetime import UTC, datetime

from identity.domain.principal import Principal, Role
from ordering.domain.checkout import CartItem, Catalog, price_cart
from ordering.domain.order import Order
from ordering.domain.values import Address, CustomerInfo
from snapshots.domain.catalog import Coupon, Offer, Product, ShippingOption, Vendor

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
TENANT = "t1"


def product(pid="p1", vendor="v1", price="10.00", currency="USD", **extra):
    return Product.create(
        {
            "product_id": pid,
            "vendor_id": vendor,
            "sku": pid.upper(),
            "name": f"Product {pid}",
            "price": {"amount": price, "currency": currency},
            "active": True,
            "version": 1,
            **extra,
        }
    )


def vendor(vid="v1", active=True):
    return Vendor.create(
        {"vendor_id": vid, "name": vid, "active": active, "country": "US", "currency": "USD", "version": 1}
    )


def option(vendor_id="v1", base="5.00", countries=("US",), active=True):
    return ShippingOption.create(
        {
            "option_id": f"ship-{vendor_id}",
            "vendor_id": vendor_id,
            "name": "Standard",
            "carrier": "UPS",
            "base_cost": {"amount": base, "currency": "USD"},
            "countries": list(countries),
            "active": active,
            "version": 1,
        }
    )


def coupon(code="C1", kind="percent", value="10", **extra):
    return Coupon.create({"code": code, "kind": kind, "value": value, "active": True, "version": 1, **extra})


def offer(oid="o1", vendor_id="v1", kind="percent_off", value="10", **extra):
    return Offer.create(
        {"offer_id": oid, "vendor_id": vendor_id, "kind": kind, "value": value, "active": True, "version": 1, **extra}
    )


def catalog(products=None, vendors=None, options=None, coupons=(), offers=(), uses=None) -> Catalog:
    products = products if products is not None else [product("p1", "v1"), product("p2", "v2", price="20.00")]
    vendors = vendors if vendors is not None else [vendor("v1"), vendor("v2")]
    options = options if options is not None else [option("v1"), option("v2")]
    return Catalog(
        products={p.product_id: p for p in products},
        vendors={v.vendor_id: v for v in vendors},
        offers=list(offers),
        coupons={c.code: c for c in coupons},
        coupon_uses=dict(uses or {}),
        shipping_options={o.option_id: o for o in options},
    )


ADDRESS = Address.create({"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"})
CUSTOMER = CustomerInfo.create("cust-1", {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"})


def customer(user="cust-1") -> Principal:
    return Principal(user, TENANT, frozenset({Role.CUSTOMER}))


def staff(user="staff-1") -> Principal:
    return Principal(user, TENANT, frozenset({Role.STAFF}))


def seller(vendor_id="v1", user=None) -> Principal:
    return Principal(user or f"user-{vendor_id}", TENANT, frozenset({Role.VENDOR}), vendor_id)


def draft(items=(("p1", 1), ("p2", 2)), cat=None, selections=None, coupon_codes=()) -> Order:
    cat = cat or catalog()
    items = [CartItem(pid, qty) for pid, qty in items]
    if selections is None:
        selections = {
            cat.products[i.product_id].vendor_id: f"ship-{cat.products[i.product_id].vendor_id}" for i in items
        }
    priced = price_cart(
        items, cat, coupon_codes=list(coupon_codes), selections=selections, destination_country="US", now=NOW
    )
    return Order.checkout(
        tenant_id=TENANT, customer=CUSTOMER, shipping_address=ADDRESS, priced=priced, actor="cust-1", now=NOW
    )


def confirmed(**kwargs) -> Order:
    order = draft(**kwargs)
    order.place(number="1001", actor="cust-1", now=NOW)
    order.confirm(method="card", reference="ch_1", amount=order.total, actor="staff-1", now=NOW)
    return order
