"""The Order aggregate, checkout rules and access rules, without Django."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ordering.domain import access
from ordering.domain.checkout import CartItem, check_coupon_codes, check_items, price_cart
from ordering.domain.errors import (
    Conflict,
    CouponExhausted,
    CouponInvalid,
    Forbidden,
    Invalid,
    InvalidTransition,
    NotFound,
    OrderNotFound,
    OutOfStock,
    PaymentMismatch,
    ProductUnavailable,
    QuantityLimit,
    ShippingOptionUnavailable,
    VendorUnavailable,
)
from ordering.domain.lifecycle import OrderStatus as S
from ordering.domain.order import PaymentStatus, ShipmentLine
from ordering.domain.values import Address, CustomerInfo, Money, parse_amount

from .domain_fixtures import (
    NOW,
    catalog,
    confirmed,
    coupon,
    customer,
    draft,
    option,
    product,
    seller,
    staff,
    vendor,
)


def usd(amount):
    return Money(Decimal(amount), "USD")


def event_types(order):
    return [e.type for e in order.pull_events()]


# -- checkout ---------------------------------------------------------------------------------


def test_checkout_freezes_prices_and_raises_order_created():
    order = draft()
    assert order.status is S.DRAFT and order.payment_status is PaymentStatus.UNPAID
    assert [(l.product_id, l.vendor_id, l.quantity, l.unit_price, l.total) for l in order.lines] == [
        ("p1", "v1", 1, usd("10.00"), usd("10.00")),
        ("p2", "v2", 2, usd("20.00"), usd("40.00")),
    ]
    assert order.subtotal == usd("50.00") and order.shipping_total == usd("10.00") and order.total == usd("60.00")
    assert order.version == 1 and order.number is None
    assert [(h.from_status, h.to_status) for h in order.history] == [(None, S.DRAFT)]
    events = order.pull_events()
    assert [(e.type, e.sequence) for e in events] == [("order.created", 1)]
    assert order.pull_events() == []


@pytest.mark.parametrize(
    "items, error, field",
    [
        ([], Invalid, "items"),
        ([CartItem("p1", 0)], Invalid, "items[0].quantity"),
        ([CartItem("p1", -2)], Invalid, "items[0].quantity"),
        ([CartItem("p1", 1), CartItem("p1", 2)], Invalid, "items[1].product_id"),
        ([CartItem("p1", 10_001)], QuantityLimit, "items[0].quantity"),
        ([CartItem("", 1)], Invalid, "items[0].product_id"),
    ],
)
def test_cart_shape_rules(items, error, field):
    with pytest.raises(error) as caught:
        check_items(items)
    assert caught.value.field == field


@pytest.mark.parametrize(
    "cat, error",
    [
        (catalog(products=[]), ProductUnavailable),
        (catalog(products=[product(active=False)]), ProductUnavailable),
        (catalog(products=[product()], vendors=[]), VendorUnavailable),
        (catalog(products=[product()], vendors=[vendor(active=False)]), VendorUnavailable),
        (catalog(products=[product(min_quantity=5)]), QuantityLimit),
        (catalog(products=[product(max_quantity=2)]), QuantityLimit),
        (catalog(products=[product(available_quantity=2)]), OutOfStock),
    ],
)
def test_items_are_checked_against_the_snapshots(cat, error):
    with pytest.raises(error) as caught:
        price_cart([CartItem("p1", 3)], cat, coupon_codes=[], selections={}, destination_country="US", now=NOW)
    assert caught.value.field.startswith("items[0].")


def test_stock_and_limits_allow_exact_bounds():
    cat = catalog(products=[product(available_quantity=3, min_quantity=3, max_quantity=3)])
    priced = price_cart([CartItem("p1", 3)], cat, coupon_codes=[], selections={}, destination_country="US", now=NOW)
    assert priced.subtotal == usd("30.00")


def test_coupons_are_checked_for_existence_and_usage():
    cat = catalog(coupons=[coupon("FULL", usage_limit=2), coupon("OFF", active=False)], uses={"FULL": 2})
    for code, error in [("NOPE", CouponInvalid), ("OFF", CouponInvalid), ("FULL", CouponExhausted)]:
        with pytest.raises(error) as caught:
            price_cart([CartItem("p1", 1)], cat, coupon_codes=[code], selections={}, destination_country="US", now=NOW)
        assert caught.value.field == "coupon_codes[0]"
    assert check_coupon_codes([" A ", "A", "B"]) == ["A", "B"]
    with pytest.raises(Invalid):
        check_coupon_codes([""])


def test_shipping_selection_must_be_an_active_option_of_that_vendor():
    cat = catalog(options=[option("v1"), option("v2", active=False)])
    for selections in ({"v1": "ship-v2"}, {"v2": "ship-v2"}, {"v1": "missing"}):
        with pytest.raises(ShippingOptionUnavailable):
            price_cart(
                [CartItem("p1", 1), CartItem("p2", 1)],
                cat,
                coupon_codes=[],
                selections=selections,
                destination_country="US",
                now=NOW,
            )
    # A selection for a vendor with no lines in the cart is dropped with that vendor's lines.
    priced = price_cart(
        [CartItem("p1", 1)],
        cat,
        coupon_codes=[],
        selections={"v1": "ship-v1", "v2": "x"},
        destination_country="US",
        now=NOW,
    )
    assert [s.option_id for s in priced.shipping] == ["ship-v1"]


def test_revising_a_draft_keeps_line_ids_and_records_history():
    order = draft()
    line_ids = {line.product_id: line.line_id for line in order.lines}
    priced = price_cart(
        [CartItem("p1", 4)], catalog(), coupon_codes=[], selections=order.selections, destination_country="US", now=NOW
    )
    order.revise_draft(priced, actor="cust-1", now=NOW, note="items updated")
    assert [(l.line_id, l.quantity) for l in order.lines] == [(line_ids["p1"], 4)]
    assert order.version == 2 and order.total == usd("45.00")
    assert order.history[-1].note == "items updated"


def test_only_a_draft_can_be_revised():
    order = draft()
    order.place(number="1", actor="c", now=NOW)
    priced = price_cart(
        order.items, catalog(), coupon_codes=[], selections=order.selections, destination_country="US", now=NOW
    )
    with pytest.raises(InvalidTransition):
        order.revise_draft(priced, actor="c", now=NOW, note="x")


def test_values_validate_their_fields():
    with pytest.raises(Invalid) as caught:
        Address.create({"line1": "x", "city": "y", "postal_code": "1", "country": "XX"})
    assert caught.value.field == "shipping_address.country"
    with pytest.raises(Invalid) as caught:
        CustomerInfo.create("u", {"email": "nope", "first_name": "a", "last_name": "b"})
    assert caught.value.field == "customer.email"
    assert parse_amount("29.99", "USD", field="a") == usd("29.99")
    for bad in ("-1", "1.001", "abc", 1.5, None, "NaN", "Infinity"):
        with pytest.raises(Invalid):
            parse_amount(bad, "USD", field="a")
    assert parse_amount("100", "JPY", field="a").amount == 100
    with pytest.raises(Invalid):
        parse_amount("1.5", "JPY", field="a")


# -- the lifecycle ----------------------------------------------------------------------------


def test_the_whole_lifecycle_raises_history_and_events_in_sequence():
    order = draft(items=(("p1", 2),))
    order.place(number="1001", actor="cust-1", now=NOW)
    order.confirm(method="card", reference="ch_1", amount=usd("25.00"), actor="staff-1", now=NOW)
    first = order.lines[0].line_id
    order.ship(
        carrier="UPS",
        tracking_number="1Z1",
        lines=[ShipmentLine(first, 1)],
        vendor_scope="v1",
        actor="user-v1",
        now=NOW,
    )
    assert order.status is S.PARTIALLY_SHIPPED
    order.ship(carrier="UPS", tracking_number="1Z2", lines=None, vendor_scope="v1", actor="user-v1", now=NOW)
    assert order.status is S.SHIPPED and order.lines[0].shipped_quantity == 2
    order.deliver(actor="staff-1", now=NOW)
    order.complete(actor="staff-1", now=NOW)
    assert order.status is S.COMPLETED and order.version == 7
    assert [(h.from_status, h.to_status) for h in order.history] == [
        (None, S.DRAFT),
        (S.DRAFT, S.PENDING),
        (S.PENDING, S.CONFIRMED),
        (S.CONFIRMED, S.PARTIALLY_SHIPPED),
        (S.PARTIALLY_SHIPPED, S.SHIPPED),
        (S.SHIPPED, S.DELIVERED),
        (S.DELIVERED, S.COMPLETED),
    ]
    events = order.pull_events()
    assert [e.type for e in events] == [
        "order.created",
        "order.placed",
        "order.status_changed",
        "order.confirmed",
        "order.status_changed",
        "order.shipped",
        "order.status_changed",
        "order.shipped",
        "order.status_changed",
        "order.delivered",
        "order.status_changed",
        "order.completed",
        "order.status_changed",
    ]
    assert [e.sequence for e in events] == list(range(1, 14))
    assert events[5].data["shipment"]["tracking_number"] == "1Z1"
    assert events[5].data["from_status"] == "CONFIRMED" and events[5].data["to_status"] == "PARTIALLY_SHIPPED"


def test_a_second_partial_shipment_raises_shipped_without_a_status_change():
    order = confirmed(items=(("p1", 3),))
    order.pull_events()
    line = order.lines[0].line_id
    order.ship(carrier="UPS", tracking_number="a", lines=[ShipmentLine(line, 1)], vendor_scope=None, actor="s", now=NOW)
    order.ship(carrier="UPS", tracking_number="b", lines=[ShipmentLine(line, 1)], vendor_scope=None, actor="s", now=NOW)
    assert event_types(order) == ["order.shipped", "order.status_changed", "order.shipped"]
    assert order.status is S.PARTIALLY_SHIPPED and order.lines[0].unshipped == 1


@pytest.mark.parametrize(
    "lines, error, field",
    [
        ("empty", Invalid, "lines"),
        ("unknown", NotFound, "lines[0].line_id"),
        ("other-vendor", NotFound, "lines[0].line_id"),
        ("dupe", Invalid, "lines[1].line_id"),
        ("zero", Invalid, "lines[0].quantity"),
        ("too-many", Invalid, "lines[0].quantity"),
    ],
)
def test_shipment_refusals(lines, error, field):
    order = confirmed()
    mine, theirs = order.lines[0].line_id, order.lines[1].line_id
    lines = {
        "empty": [],
        "unknown": [ShipmentLine("nope", 1)],
        "other-vendor": [ShipmentLine(theirs, 1)],
        "dupe": [ShipmentLine(mine, 1), ShipmentLine(mine, 1)],
        "zero": [ShipmentLine(mine, 0)],
        "too-many": [ShipmentLine(mine, 2)],
    }[lines]
    with pytest.raises(error) as caught:
        order.ship(carrier="UPS", tracking_number="t", lines=lines, vendor_scope="v1", actor="v", now=NOW)
    assert caught.value.field == field
    assert order.status is S.CONFIRMED and not order.shipments and order.lines[0].shipped_quantity == 0


def test_a_shipment_carries_one_vendors_lines_and_needs_carrier_and_tracking():
    order = confirmed()
    with pytest.raises(Invalid) as caught:
        order.ship(carrier="UPS", tracking_number="t", lines=None, vendor_scope=None, actor="s", now=NOW)
    assert caught.value.field == "lines"
    both = [ShipmentLine(line.line_id, 1) for line in order.lines]
    with pytest.raises(Invalid):
        order.ship(carrier="UPS", tracking_number="t", lines=both, vendor_scope=None, actor="s", now=NOW)
    for carrier, tracking, field in (("", "t", "carrier"), ("UPS", " ", "tracking_number")):
        with pytest.raises(Invalid) as caught:
            order.ship(carrier=carrier, tracking_number=tracking, lines=None, vendor_scope="v1", actor="s", now=NOW)
        assert caught.value.field == field


def test_nothing_left_to_ship_for_a_vendor():
    order = confirmed()
    order.ship(carrier="UPS", tracking_number="t", lines=None, vendor_scope="v1", actor="v", now=NOW)
    with pytest.raises(Invalid):
        order.ship(carrier="UPS", tracking_number="t", lines=None, vendor_scope="v1", actor="v", now=NOW)


def test_payment_must_equal_the_total():
    order = draft()
    order.place(number="1", actor="c", now=NOW)
    for amount in (usd("59.99"), Money(Decimal("60.00"), "EUR")):
        with pytest.raises(PaymentMismatch):
            order.confirm(method="card", reference="r", amount=amount, actor="s", now=NOW)
    with pytest.raises(Invalid):
        order.confirm(method="", reference="r", amount=order.total, actor="s", now=NOW)
    assert order.status is S.PENDING and order.payment is None


def test_placing_needs_a_shipping_option_for_every_vendor():
    order = draft(selections={"v1": "ship-v1"})
    assert [s.option_id for s in order.shipping] == ["ship-v1", None]
    with pytest.raises(ShippingOptionUnavailable):
        order.place(number="1", actor="c", now=NOW)
    assert order.status is S.DRAFT and order.number is None


def test_cancelling_a_paid_order_marks_its_payment_for_refund():
    order = confirmed()
    order.pull_events()
    order.cancel(reason="changed my mind", actor="staff-1", now=NOW)
    assert order.status is S.CANCELLED and order.payment_status is PaymentStatus.REFUND_PENDING
    assert order.cancellation.reason == "changed my mind" and order.cancellation.by == "staff-1"
    events = order.pull_events()
    assert [e.type for e in events] == ["order.cancelled", "order.status_changed"]
    assert events[0].data["reason"] == "changed my mind" and events[0].data["cancelled_by"] == "staff-1"
    with pytest.raises(Invalid):
        draft().cancel(reason="  ", actor="c", now=NOW)


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("action", ["place", "confirm", "ship", "deliver", "complete", "cancel"])
def test_every_action_from_every_status(action, status):
    from ordering.domain.lifecycle import TRANSITIONS

    order = confirmed(items=(("p1", 1),))
    order.status = status
    before = order.version
    act = {
        "place": lambda: order.place(number="2", actor="a", now=NOW),
        "confirm": lambda: order.confirm(method="card", reference="r", amount=order.total, actor="a", now=NOW),
        "ship": lambda: order.ship(
            carrier="UPS", tracking_number="t", lines=None, vendor_scope=None, actor="a", now=NOW
        ),
        "deliver": lambda: order.deliver(actor="a", now=NOW),
        "complete": lambda: order.complete(actor="a", now=NOW),
        "cancel": lambda: order.cancel(reason="r", actor="a", now=NOW),
    }[action]
    if status in TRANSITIONS[action][0]:
        act()
        assert order.version == before + 1
    else:
        with pytest.raises(InvalidTransition):
            act()
        assert order.version == before and order.status is status


def test_expected_version():
    order = draft()
    order.check_version(None)
    order.check_version(1)
    with pytest.raises(Conflict) as caught:
        order.check_version(0)
    assert caught.value.field == "expected_version"


# -- access -----------------------------------------------------------------------------------


def test_visibility_by_role():
    order = draft()
    assert access.can_see(order, customer()) and access.can_see(order, staff())
    assert not access.can_see(order, customer("someone-else"))
    assert not access.can_see(order, seller("v1")), "a cart is not shown to vendors"
    order.place(number="1", actor="c", now=NOW)
    assert access.can_see(order, seller("v1")) and not access.can_see(order, seller("v9"))
    other_tenant = staff()
    object.__setattr__(other_tenant, "tenant_id", "t2")
    assert not access.can_see(order, other_tenant)
    with pytest.raises(OrderNotFound):
        access.require_visible(order, seller("v9"))
    with pytest.raises(OrderNotFound):
        access.require_visible(None, staff())


def test_a_vendor_sees_only_its_share():
    order = confirmed(
        coupon_codes=("V2OFF", "ALL"),
        cat=catalog(
            coupons=[
                coupon("V2OFF", kind="fixed", value="4", currency="USD", vendor_id="v2"),
                coupon("ALL", value="10"),
            ]
        ),
    )
    view = access.view_of(order, seller("v2"))
    assert [l.vendor_id for l in view.lines] == ["v2"] and [s.vendor_id for s in view.shipping] == ["v2"]
    assert [c.code for c in view.coupons] == ["V2OFF"] and view.payment is None
    assert view.subtotal == usd("40.00") and view.discount_total == usd("4.00")
    assert view.shipping_total == usd("5.00") and view.total == usd("41.00")
    assert access.view_of(order, staff()) is order and access.view_of(order, customer()) is order
    assert len(order.lines) == 2, "the order itself is untouched"


def test_who_may_act():
    order = confirmed()
    with pytest.raises(Forbidden):
        access.require_owner(order, staff(), "place")
    access.require_owner(order, customer(), "place")
    with pytest.raises(Forbidden):
        access.require_staff(customer(), "confirm")
    assert access.shipping_scope(order, staff()) is None
    assert access.shipping_scope(order, seller("v1")) == "v1"
    with pytest.raises(Forbidden):
        access.shipping_scope(order, customer())
    with pytest.raises(Forbidden):
        access.require_can_deliver(order, seller("v1")), "v2 has lines too"
    access.require_can_deliver(order, staff())
    single = confirmed(items=(("p1", 1),))
    access.require_can_deliver(single, seller("v1"))


@pytest.mark.parametrize(
    "who, allowed",
    [
        ("owner", {S.DRAFT, S.PENDING}),
        ("staff", {S.DRAFT, S.PENDING, S.CONFIRMED, S.UNFULFILLABLE}),
        ("sole-vendor", {S.CONFIRMED, S.UNFULFILLABLE}),
    ],
)
def test_cancellation_rights_by_role_and_status(who, allowed):
    principal = {"owner": customer(), "staff": staff(), "sole-vendor": seller("v1")}[who]
    for status in S:
        order = confirmed(items=(("p1", 1),))
        order.status = status
        if status in allowed:
            access.require_can_cancel(order, principal)
        elif who == "sole-vendor" and status is S.DRAFT:
            with pytest.raises(Forbidden):
                access.require_can_cancel(order, principal)
        else:
            with pytest.raises(InvalidTransition):
                access.require_can_cancel(order, principal)


def test_a_vendor_cannot_cancel_an_order_with_other_vendors_lines():
    with pytest.raises(Forbidden):
        access.require_can_cancel(confirmed(), seller("v1"))
