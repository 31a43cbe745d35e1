"""Pricing rules and properties, without Django."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordering.domain.errors import CouponInvalid, ShippingOptionUnavailable
from ordering.domain.pricing import price_order
from ordering.domain.values import CurrencyMismatch, Money
from snapshots.domain.catalog import Coupon, Offer, Product, ShippingOption

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def product(pid="p1", vendor="v1", price="10.00", currency="USD"):
    return Product.create(
        {
            "product_id": pid,
            "vendor_id": vendor,
            "sku": pid.upper(),
            "name": pid,
            "price": {"amount": price, "currency": currency},
            "active": True,
            "version": 1,
        }
    )


def offer(oid="o1", vendor="v1", kind="percent_off", value="10", **extra):
    return Offer.create(
        {"offer_id": oid, "vendor_id": vendor, "kind": kind, "value": value, "active": True, "version": 1, **extra}
    )


def coupon(code="C1", kind="percent", value="10", **extra):
    return Coupon.create({"code": code, "kind": kind, "value": value, "active": True, "version": 1, **extra})


def option(vendor="v1", base="5.00", per_item=None, free_over=None, countries=("US",), active=True):
    data = {
        "option_id": f"ship-{vendor}",
        "vendor_id": vendor,
        "name": "Std",
        "carrier": "UPS",
        "base_cost": {"amount": base, "currency": "USD"},
        "countries": list(countries),
        "active": active,
        "version": 1,
    }
    if per_item:
        data["per_item_cost"] = {"amount": per_item, "currency": "USD"}
    if free_over:
        data["free_over"] = {"amount": free_over, "currency": "USD"}
    return ShippingOption.create(data)


def price(items, offers=(), coupons=(), shipping=None, country="US"):
    vendors = {p.vendor_id for p, _ in items}
    return price_order(
        list(items),
        offers=list(offers),
        coupons=list(coupons),
        shipping=shipping if shipping is not None else {v: option(v) for v in vendors},
        destination_country=country,
        now=NOW,
    )


def usd(amount):
    return Money(Decimal(amount), "USD")


def test_line_is_unit_price_times_quantity_plus_shipping():
    order = price([(product(price="10.00"), 3)])
    assert (order.subtotal, order.discount_total, order.shipping_total, order.total) == (
        usd("30.00"),
        usd("0"),
        usd("5.00"),
        usd("35.00"),
    )


def test_the_best_offer_wins_and_ties_go_to_priority():
    order = price(
        [(product(), 2)],
        offers=[offer("small", value="5"), offer("big", value="20"), offer("fixed", kind="fixed_off", value="1")],
    )
    assert (order.lines[0].offer_id, order.lines[0].discount) == ("big", usd("4.00"))
    tie = price([(product(), 1)], offers=[offer("a", value="10", priority=1), offer("b", value="10", priority=5)])
    assert tie.lines[0].offer_id == "b"


def test_fixed_offer_is_per_unit_and_capped_at_the_line():
    assert price([(product(), 3)], offers=[offer(kind="fixed_off", value="2")]).lines[0].discount == usd("6.00")
    assert price([(product(), 1)], offers=[offer(kind="fixed_off", value="50")]).lines[0].discount == usd("10.00")


@pytest.mark.parametrize(
    "extra",
    [
        {"vendor_id": "v2"},
        {"product_ids": ["other"]},
        {"min_quantity": 3},
        {"active": False},
        {"valid_from": "2026-07-01T00:00:00Z"},
        {"valid_until": "2026-05-01T00:00:00Z"},
    ],
)
def test_offers_that_do_not_apply(extra):
    data = {"offer_id": "o", "vendor_id": "v1", "kind": "percent_off", "value": "50", "active": True, "version": 1}
    data.update(extra)
    assert price([(product(), 2)], offers=[Offer.create(data)]).lines[0].discount == usd("0")


def test_free_shipping_offer_waives_only_its_vendor():
    order = price([(product("a", "v1"), 1), (product("b", "v2"), 1)], offers=[offer(kind="free_shipping", value=None)])
    assert {s.vendor_id: s.cost for s in order.shipping} == {"v1": usd("0"), "v2": usd("5.00")}


def test_shipping_per_extra_item_and_free_over_threshold():
    assert price([(product(), 3)], shipping={"v1": option(per_item="1.50")}).shipping_total == usd("8.00")
    assert price([(product(), 5)], shipping={"v1": option(free_over="50")}).shipping_total == usd("0")
    # The threshold is measured after discounts.
    assert price(
        [(product(), 5)], offers=[offer(value="10")], shipping={"v1": option(free_over="50")}
    ).shipping_total == usd("5.00")


def test_shipping_refusals():
    with pytest.raises(ShippingOptionUnavailable) as error:
        price([(product(), 1)], country="FR")
    assert error.value.code == "SHIPPING_OPTION_UNAVAILABLE"
    with pytest.raises(ShippingOptionUnavailable):
        price([(product(), 1)], shipping={"v1": option(active=False)})
    with pytest.raises(ShippingOptionUnavailable):
        price([(product(), 1)], shipping={"v1": option(vendor="v2")})


def test_a_vendor_without_a_selected_option_has_no_shipping_cost_yet():
    priced = price([(product(), 2)], shipping={})
    assert [(s.vendor_id, s.option_id, s.cost) for s in priced.shipping] == [("v1", None, usd("0"))]
    assert priced.total == priced.subtotal


def test_coupons_vendor_scoped_and_tenant_wide():
    items = [(product("a", "v1", "40.00"), 1), (product("b", "v2", "60.00"), 1)]
    order = price(
        items,
        coupons=[coupon("V1TEN", value="10", vendor_id="v1"), coupon("ALL5", kind="fixed", value="5", currency="USD")],
    )
    assert order.coupon_discounts == {"V1TEN": usd("4.00"), "ALL5": usd("5.00")}
    assert order.total == usd("100") - usd("9.00") + usd("10.00")


def test_stacked_tenant_wide_coupons_never_discount_more_than_the_order():
    order = price(
        [(product(price="20.00"), 1)],
        coupons=[
            coupon("A", value="100"),
            coupon("B", value="100"),
            coupon("C", kind="fixed", value="5", currency="USD"),
        ],
    )
    assert order.coupon_discounts == {"A": usd("20.00"), "B": usd("0.00"), "C": usd("0.00")}
    assert order.total == usd("5.00")  # shipping only


@pytest.mark.parametrize(
    "bad",
    [
        coupon(active=False),
        coupon(valid_until="2026-01-01T00:00:00Z"),
        coupon(min_subtotal={"amount": "500", "currency": "USD"}),
        coupon(kind="fixed", value="5", currency="EUR"),
        coupon(vendor_id="v9"),
    ],
    ids=["inactive", "expired", "below-minimum", "other-currency", "vendor-not-in-order"],
)
def test_coupon_refusals(bad):
    with pytest.raises(CouponInvalid) as error:
        price([(product(), 1)], coupons=[bad])
    assert error.value.code == "COUPON_INVALID"


def test_one_currency_per_order():
    with pytest.raises(CurrencyMismatch):
        price([(product("a", price="1"), 1), (product("b", currency="EUR"), 1)])


def test_half_even_rounding_and_currency_minor_units():
    assert price([(product(price="0.125"), 1)]).subtotal == usd("0.12")
    assert price([(product(price="0.135"), 1)]).subtotal == usd("0.14")
    assert Money(Decimal("1234.5"), "JPY").rounded().amount == Decimal("1234")
    assert Money(Decimal("1.2345"), "KWD").rounded().amount == Decimal("1.234")


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2).map(str)
carts = st.lists(st.tuples(st.sampled_from(["v1", "v2"]), amounts, st.integers(1, 5)), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(
    cart=carts,
    offer_value=st.integers(1, 100),
    fixed=amounts,
    coupon_value=st.integers(1, 100),
    fixed_coupon=amounts,
    free_over=st.one_of(st.none(), amounts),
)
def test_pricing_properties(cart, offer_value, fixed, coupon_value, fixed_coupon, free_over):
    items = [(product(f"p{i}", vendor, amount), qty) for i, (vendor, amount, qty) in enumerate(cart)]
    offers = [offer("pct", "v1", value=str(offer_value)), offer("fix", "v2", kind="fixed_off", value=fixed)]
    vendors = {p.vendor_id for p, _ in items}
    coupons = [
        coupon("ALLPCT", value=str(coupon_value)),
        coupon("ALLFIX", kind="fixed", value=fixed_coupon, currency="USD"),
    ]
    if "v2" in vendors:
        coupons.append(coupon("V2FIX", kind="fixed", value=fixed_coupon, currency="USD", vendor_id="v2"))
    shipping = {v: option(v, per_item="0.50", free_over=free_over) for v in vendors}

    first = price(items, offers, coupons, shipping)
    again = price(items, offers, coupons, shipping)

    assert first == again  # re-pricing the same cart is stable
    assert first.total == first.subtotal - first.discount_total + first.shipping_total
    assert first.total.amount >= 0 and first.subtotal.amount - first.discount_total.amount >= 0
    assert all(line.total.amount >= 0 for line in first.lines)
    for amount in (first.subtotal, first.discount_total, first.shipping_total, first.total):
        assert amount.amount == amount.rounded().amount  # always whole cents
