"""Vendor tax and payment options in the domain (issue 7, item 5), without Django."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ordering.domain.checkout import CartItem, check_payment_option, price_cart
from ordering.domain.errors import PaymentMismatch, PaymentOptionUnavailable
from ordering.domain.order import ChosenPayment, Order
from ordering.domain.values import Money
from snapshots.domain.catalog import PaymentOption, TaxOption
from snapshots.domain.errors import SnapshotInvalid

from .domain_fixtures import ADDRESS, CUSTOMER, NOW, TENANT, catalog, offer


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def tax(vendor="v1", country="US", rate="10", inclusive=False, active=True):
    return TaxOption.create(
        {"vendor_id": vendor, "country": country, "rate": rate, "inclusive": inclusive, "active": active, "version": 1}
    )


def pay(option_id="card", vendor="", method="card", active=True):
    return PaymentOption.create(
        {"option_id": option_id, "vendor_id": vendor, "method": method, "name": method, "active": active, "version": 1}
    )


def priced(taxes=(), offers=(), items=(("p1", 2), ("p2", 1))):
    cat = catalog(offers=offers)
    cat.tax_options.update({t.tax_key: t for t in taxes})
    return price_cart(
        [CartItem(p, q) for p, q in items],
        cat,
        coupon_codes=[],
        selections={"v1": "ship-v1", "v2": "ship-v2"},
        destination_country="US",
        now=NOW,
    )


def test_an_exclusive_tax_is_added_on_the_line_after_its_offer():
    order = priced(taxes=[tax(rate="10")], offers=[offer(value="50")])  # p1: 20.00 - 50% = 10.00
    assert order.lines[0].tax == usd("1.00") and order.lines[1].tax == usd("0")  # v2 has no tax option
    assert order.tax_total == usd("1.00")
    assert order.total == order.subtotal - order.discount_total + order.shipping_total + usd("1.00")


def test_an_inclusive_tax_is_part_of_the_price():
    order = priced(taxes=[tax(vendor="v2", rate="25", inclusive=True)])
    assert order.lines[1].tax == usd("4.00")  # 20.00 includes 4.00 at 25%
    assert order.total == order.subtotal - order.discount_total + order.shipping_total


def test_inactive_or_other_country_taxes_do_not_apply():
    assert priced(taxes=[tax(active=False), tax(vendor="v2", country="GB")]).tax_total == usd("0")


def test_the_rate_is_frozen_and_amendments_reuse_it():
    order = Order.checkout(
        tenant_id=TENANT,
        customer=CUSTOMER,
        shipping_address=ADDRESS,
        priced=priced(taxes=[tax(rate="20")]),
        actor="c",
        now=NOW,
    )
    order.place(number="1", actor="c", now=NOW)
    assert order.lines[0].tax_rate == Decimal("20") and order.tax_total == usd("4.00")
    order.change_quantity(order.lines[0].line_id, 1, actor="c", now=NOW)
    assert order.tax_total == usd("2.00")
    assert order.total == order.subtotal - order.discount_total + order.shipping_total + usd("2.00")
    assert order.restricted_to("v1").total == usd("10.00") + usd("5.00") + usd("2.00")


@pytest.mark.parametrize(
    "data, field",
    [
        ({"rate": "101"}, "rate"),
        ({"rate": "-1"}, "rate"),
        ({"rate": 0.2}, "rate"),
        ({"inclusive": None}, "inclusive"),
        ({"country": "USA"}, "country"),
        ({"vendor_id": ""}, "vendor_id"),
    ],
)
def test_bad_tax_options_are_refused(data, field):
    base = {"vendor_id": "v1", "country": "US", "rate": "10", "inclusive": False, "version": 1}
    with pytest.raises(SnapshotInvalid) as error:
        TaxOption.create({**base, **data})
    assert error.value.field == field


def test_a_payment_option_is_required_once_the_tenant_has_some():
    cat = catalog()
    assert check_payment_option(None, {"v1"}, cat) is None  # no options: nothing to choose
    cat.payment_options.update(
        {
            "card": pay(),
            "v1-invoice": pay("v1-invoice", "v1", "invoice"),
            "old": pay("old", method="cheque", active=False),
        }
    )
    with pytest.raises(PaymentOptionUnavailable):
        check_payment_option(None, {"v1"}, cat)
    assert check_payment_option("card", {"v1", "v2"}, cat).method == "card"
    assert check_payment_option("v1-invoice", {"v1"}, cat).method == "invoice"
    for option_id, vendors in (("v1-invoice", {"v1", "v2"}), ("old", {"v1"}), ("nope", {"v1"})):
        with pytest.raises(PaymentOptionUnavailable):
            check_payment_option(option_id, vendors, cat)


def test_confirmation_must_use_the_chosen_method():
    order = Order.checkout(
        tenant_id=TENANT,
        customer=CUSTOMER,
        shipping_address=ADDRESS,
        priced=priced(),
        actor="c",
        now=NOW,
        payment_option=ChosenPayment("card", "card"),
    )
    order.place(number="1", actor="c", now=NOW)
    with pytest.raises(PaymentMismatch):
        order.confirm(method="bank_transfer", reference="r", amount=order.total, actor="s", now=NOW)
    order.confirm(method="card", reference="r", amount=order.total, actor="s", now=NOW)
