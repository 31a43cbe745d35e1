"""Issue 7 in the domain, without Django: shipments and tracking, holds, review, amendments,
returns and refunds. Every transition allowed and refused."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from ordering.domain import events as ev
from ordering.domain.errors import (
    Forbidden,
    Invalid,
    InvalidTransition,
    NotFound,
    OrderOnHold,
    QuantityLimit,
    RefundExceedsPaid,
    ReturnWindowClosed,
    ReviewRequired,
)
from ordering.domain.fulfilment import ShipmentLine, ShipmentStatus
from ordering.domain.lifecycle import OrderStatus
from ordering.domain.order import PaymentStatus
from ordering.domain.values import Address, Money

from .domain_fixtures import NOW, confirmed, draft

S = OrderStatus
SS = ShipmentStatus
LATER = NOW + timedelta(hours=1)


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def types(order) -> list[str]:
    return [e.type for e in order.pull_events()]


def placed(**kwargs):
    order = draft(**kwargs)
    order.place(number="1001", actor="cust-1", now=NOW)
    order.pull_events()
    return order


def ready():
    order = confirmed()
    order.pull_events()
    return order


def delivered():
    order = ready()
    for vendor in ("v1", "v2"):
        order.ship(carrier="UPS", tracking_number=f"T-{vendor}", lines=None, vendor_scope=vendor, actor="s", now=NOW)
    order.deliver(actor="s", now=NOW)
    order.pull_events()
    return order


# -- shipments ------------------------------------------------------------------------------


def test_a_pending_shipment_takes_quantities_without_shipping_them():
    order = ready()
    shipment = order.add_shipment(lines=None, vendor_scope="v1", actor="v", now=NOW)
    assert shipment.status is SS.PENDING and shipment.shipped_at is None and shipment.carrier == ""
    assert order.status is S.CONFIRMED and order.lines[0].shipped_quantity == 0
    assert order.allocatable(order.lines[0]) == 0
    assert types(order) == [ev.ORDER_SHIPMENT_ADDED]
    with pytest.raises(Invalid, match="nothing left"):
        order.add_shipment(lines=None, vendor_scope="v1", actor="v", now=NOW)


def test_a_tracking_reference_ships_it_and_the_order_follows():
    order = ready()
    first = order.add_shipment(lines=None, vendor_scope="v1", actor="v", now=NOW)
    order.add_tracking_reference(
        first.shipment_id, carrier="UPS", tracking_number="1Z", vendor_scope="v1", actor="v", now=NOW
    )
    assert order.shipments[0].status is SS.SHIPPED and order.shipments[0].shipped_at == NOW
    assert order.status is S.PARTIALLY_SHIPPED
    assert types(order) == [ev.ORDER_SHIPMENT_ADDED, ev.ORDER_SHIPPED, ev.ORDER_STATUS_CHANGED]
    with pytest.raises(InvalidTransition):
        order.add_tracking_reference(
            first.shipment_id, carrier="UPS", tracking_number="1Z", vendor_scope=None, actor="s", now=NOW
        )
    with pytest.raises(NotFound):  # another vendor cannot touch it
        order.add_tracking_reference(
            first.shipment_id, carrier="UPS", tracking_number="1Z", vendor_scope="v2", actor="v2", now=NOW
        )


def test_carrier_updates_move_shipments_and_deliver_the_order_when_all_are_delivered():
    order = ready()
    one = order.ship(carrier="UPS", tracking_number="A", lines=None, vendor_scope="v1", actor="v", now=NOW)
    two = order.ship(carrier="DHL", tracking_number="B", lines=None, vendor_scope="v2", actor="v", now=NOW)
    order.pull_events()
    assert order.status is S.SHIPPED
    assert order.track(one.shipment_id, status=SS.IN_TRANSIT, at=LATER, detail="hub", actor="c", now=LATER)
    assert order.track(one.shipment_id, status=SS.IN_TRANSIT, at=LATER + timedelta(1), detail="", actor="c", now=LATER)
    assert not order.track(one.shipment_id, status=SS.DELIVERED, at=LATER, detail="", actor="c", now=LATER), "stale"
    assert order.track(one.shipment_id, status=SS.DELIVERED, at=LATER + timedelta(2), detail="", actor="c", now=LATER)
    assert order.status is S.SHIPPED
    assert order.track(two.shipment_id, status=SS.DELIVERED, at=LATER, detail="", actor="c", now=LATER)
    assert order.status is S.DELIVERED and order.delivered_at == LATER
    assert types(order)[-3:] == [ev.ORDER_SHIPMENT_UPDATED, ev.ORDER_DELIVERED, ev.ORDER_STATUS_CHANGED]
    with pytest.raises(InvalidTransition):
        order.track(two.shipment_id, status=SS.IN_TRANSIT, at=LATER + timedelta(3), detail="", actor="c", now=LATER)


def test_a_failed_shipment_gives_its_quantities_back():
    order = ready()
    one = order.ship(carrier="UPS", tracking_number="A", lines=None, vendor_scope="v1", actor="v", now=NOW)
    assert order.status is S.PARTIALLY_SHIPPED
    order.track(one.shipment_id, status=SS.FAILED, at=LATER, detail="lost", actor="c", now=LATER)
    assert order.status is S.CONFIRMED and order.lines[0].shipped_quantity == 0
    assert order.allocatable(order.lines[0]) == order.lines[0].quantity
    with pytest.raises(InvalidTransition):
        order.track(one.shipment_id, status=SS.DELIVERED, at=LATER + timedelta(1), detail="", actor="c", now=LATER)


def test_only_a_pending_shipment_can_be_cancelled():
    order = ready()
    pending = order.add_shipment(lines=None, vendor_scope="v1", actor="v", now=NOW)
    with pytest.raises(Invalid):
        order.cancel_shipment(pending.shipment_id, reason=" ", vendor_scope=None, actor="s", now=NOW)
    order.cancel_shipment(pending.shipment_id, reason="wrong box", vendor_scope="v1", actor="v", now=NOW)
    assert order.shipments[0].status is SS.CANCELLED and order.allocatable(order.lines[0]) == 1
    shipped = order.ship(carrier="UPS", tracking_number="A", lines=None, vendor_scope="v1", actor="v", now=NOW)
    with pytest.raises(InvalidTransition):
        order.cancel_shipment(shipped.shipment_id, reason="r", vendor_scope=None, actor="s", now=NOW)
    with pytest.raises(NotFound):
        order.cancel_shipment("nope", reason="r", vendor_scope=None, actor="s", now=NOW)


def test_shipments_need_a_confirmed_order():
    order = placed()
    with pytest.raises(InvalidTransition):
        order.add_shipment(lines=None, vendor_scope=None, actor="s", now=NOW)


# -- holds and review -----------------------------------------------------------------------


def test_a_hold_blocks_confirmation_shipping_and_completion_until_released():
    order = placed()
    order.place_on_hold(reason="FRAUD_REVIEW", note="odd address", actor="s", now=NOW)
    assert types(order) == [ev.ORDER_PLACED_ON_HOLD]
    with pytest.raises(InvalidTransition, match="already"):
        order.place_on_hold(reason="PAYMENT_REVIEW", note=None, actor="s", now=NOW)
    with pytest.raises(OrderOnHold):
        order.confirm(method="card", reference="r", amount=order.total, actor="s", now=NOW)
    order.release_hold(note="checked", actor="s", now=NOW)
    assert order.hold is None and types(order) == [ev.ORDER_HOLD_RELEASED]
    with pytest.raises(InvalidTransition, match="not on hold"):
        order.release_hold(note=None, actor="s", now=NOW)
    order.confirm(method="card", reference="r", amount=order.total, actor="s", now=NOW)
    order.place_on_hold(reason="STOCK_RECHECK", note=None, actor="s", now=NOW)
    with pytest.raises(OrderOnHold):
        order.ship(carrier="UPS", tracking_number="A", lines=None, vendor_scope="v1", actor="v", now=NOW)
    with pytest.raises(OrderOnHold):
        order.add_shipment(lines=None, vendor_scope="v1", actor="v", now=NOW)


def test_holds_need_a_known_reason_and_a_live_order():
    order = placed()
    with pytest.raises(Invalid):
        order.place_on_hold(reason="BORED", note=None, actor="s", now=NOW)
    for finished in (draft(), delivered()):
        with pytest.raises(InvalidTransition):
            finished.place_on_hold(reason="FRAUD_REVIEW", note=None, actor="s", now=NOW)


def test_a_review_waits_before_confirmation_and_approval_lets_it_through():
    order = draft()
    order.place(number="1", actor="c", now=NOW, review=True)
    with pytest.raises(ReviewRequired):
        order.confirm(method="card", reference="r", amount=order.total, actor="s", now=NOW)
    order.escalate_review(assignee="boss", note="big", actor="s", now=NOW)
    assert order.review.level == 2 and order.review.assignee == "boss"
    with pytest.raises(Forbidden):
        order.decide_review(decision="APPROVE", note=None, actor="s", now=NOW)
    with pytest.raises(Invalid):
        order.decide_review(decision="MAYBE", note=None, actor="boss", now=NOW)
    order.decide_review(decision="APPROVE", note="ok", actor="boss", now=NOW)
    with pytest.raises(InvalidTransition):
        order.decide_review(decision="APPROVE", note=None, actor="boss", now=NOW)
    order.confirm(method="card", reference="r", amount=order.total, actor="s", now=NOW)
    assert order.status is S.CONFIRMED


def test_a_rejected_review_cancels_the_order():
    order = draft()
    order.place(number="1", actor="c", now=NOW, review=True)
    order.pull_events()
    order.decide_review(decision="REJECT", note="fraud", actor="s", now=NOW)
    assert order.status is S.CANCELLED and order.cancellation.reason == "rejected in review: fraud"
    assert types(order) == [ev.ORDER_REVIEWED, ev.ORDER_CANCELLED, ev.ORDER_STATUS_CHANGED]


def test_no_review_no_decision():
    with pytest.raises(InvalidTransition):
        placed().decide_review(decision="APPROVE", note=None, actor="s", now=NOW)


# -- amendments -----------------------------------------------------------------------------


def test_lowering_a_quantity_reprices_from_the_frozen_prices():
    order = placed(items=(("p1", 3), ("p2", 1)))
    before = order.total
    order.change_quantity(order.lines[0].line_id, 1, actor="c", now=NOW)
    assert order.lines[0].quantity == 1 and order.lines[0].subtotal == usd("10.00")
    assert order.total == before - usd("20.00") and order.revision == 1
    [event] = order.pull_events()
    assert event.type == ev.ORDER_AMENDED and event.data["previous_total"]["amount"] == str(before.amount)
    assert event.data["payment_adjustment"] is None, "nothing was paid yet"


@pytest.mark.parametrize("quantity", [0, 3, "2", True])
def test_a_new_quantity_is_a_positive_integer_other_than_the_lines(quantity):
    order = placed(items=(("p1", 3),))
    with pytest.raises(Invalid):
        order.change_quantity(order.lines[0].line_id, quantity, actor="c", now=NOW)


def test_a_quantity_goes_up_within_the_products_limit_at_the_frozen_price():
    order = placed(items=(("p1", 3),))
    unit = order.lines[0].unit_price
    with pytest.raises(QuantityLimit, match="at most 4"):
        order.change_quantity(order.lines[0].line_id, 5, actor="c", now=NOW, limit=4)
    with pytest.raises(QuantityLimit, match="at most 10000"):
        order.change_quantity(order.lines[0].line_id, 10_001, actor="c", now=NOW)
    order.change_quantity(order.lines[0].line_id, 4, actor="c", now=NOW, limit=4)
    assert order.lines[0].quantity == 4 and order.lines[0].subtotal == unit.times(4)
    assert order.pull_events()[-1].data["changed_fields"] == ["lines"]


def test_removing_a_line_drops_its_vendor_shipping_and_marks_the_payment():
    order = ready()
    paid = order.total
    order.remove_lines([order.lines[1].line_id], actor="s", now=NOW)
    assert [s.vendor_id for s in order.shipping] == ["v1"] and len(order.lines) == 1
    assert order.payment_adjustment == order.total - paid and order.payment_adjustment.amount < 0
    with pytest.raises(Invalid, match="cancel it instead"):
        order.remove_lines([order.lines[0].line_id], actor="s", now=NOW)
    with pytest.raises(NotFound):
        order.remove_lines(["nope"], actor="s", now=NOW)


def test_coupons_are_prorated_on_amendment():
    from .domain_fixtures import catalog, coupon, product

    cat = catalog(products=[product("p1", "v1"), product("p2", "v2", price="20.00")], coupons=[coupon("C1")])
    order = draft(items=(("p1", 2), ("p2", 1)), cat=cat, coupon_codes=["C1"])
    order.place(number="1", actor="c", now=NOW)
    assert order.coupons[0].discount == usd("4.00")  # 10% of 40
    order.change_quantity(order.lines[0].line_id, 1, actor="c", now=NOW)
    assert order.coupons[0].discount == usd("3.00")  # 10% of 30


def test_the_destination_may_move_within_its_country_only():
    order = placed()
    same = Address.create({"line1": "2 Side St", "city": "Shelbyville", "postal_code": "54321", "country": "US"})
    order.amend_destination(same, actor="c", now=NOW)
    assert order.shipping_address.city == "Shelbyville" and order.revision == 1
    with pytest.raises(Invalid):
        order.amend_destination(same, actor="c", now=NOW)
    abroad = Address.create({"line1": "1 Rue", "city": "Paris", "postal_code": "75001", "country": "FR"})
    with pytest.raises(Invalid):
        order.amend_destination(abroad, actor="c", now=NOW)


def test_nothing_is_amended_once_a_shipment_exists():
    order = ready()
    order.add_shipment(lines=None, vendor_scope="v1", actor="v", now=NOW)
    with pytest.raises(InvalidTransition):
        order.change_quantity(order.lines[1].line_id, 1, actor="s", now=NOW)
    with pytest.raises(InvalidTransition):
        delivered().remove_lines(["x"], actor="s", now=NOW)


# -- returns and refunds --------------------------------------------------------------------


def test_a_return_runs_from_request_to_receipt():
    order = delivered()
    line = order.lines[1]  # p2, quantity 2
    request = order.request_return(
        lines=[ShipmentLine(line.line_id, 1)],
        reason="broken",
        window_days=30,
        actor="cust-1",
        now=NOW + timedelta(days=3),
    )
    assert request.vendor_id == "v2" and order.returnable(line) == 1
    with pytest.raises(InvalidTransition):
        order.receive_return(request.return_id, actor="s", now=NOW)
    order.decide_return(request.return_id, approve=True, note=None, actor="v", now=NOW)
    with pytest.raises(InvalidTransition):
        order.decide_return(request.return_id, approve=False, note="no", actor="v", now=NOW)
    order.receive_return(request.return_id, actor="v", now=NOW)
    assert order.returns[0].received_at == NOW
    assert types(order) == [ev.ORDER_RETURN_REQUESTED, ev.ORDER_RETURN_APPROVED, ev.ORDER_RETURN_RECEIVED]


def test_returns_are_refused_outside_the_window_or_beyond_what_was_delivered():
    order = delivered()
    line = order.lines[0]
    with pytest.raises(ReturnWindowClosed):
        order.request_return(
            lines=[ShipmentLine(line.line_id, 1)], reason="r", window_days=30, actor="c", now=NOW + timedelta(days=31)
        )
    bad = {
        "too many": [ShipmentLine(line.line_id, 2)],
        "none": [],
        "zero": [ShipmentLine(line.line_id, 0)],
        "unknown": [ShipmentLine("x", 1)],
        "two vendors": [ShipmentLine(line.line_id, 1), ShipmentLine(order.lines[1].line_id, 1)],
    }
    for lines in bad.values():
        with pytest.raises((Invalid, NotFound)):
            order.request_return(lines=lines, reason="r", window_days=30, actor="c", now=NOW)
    with pytest.raises(InvalidTransition):
        ready().request_return(lines=[ShipmentLine(line.line_id, 1)], reason="r", window_days=30, actor="c", now=NOW)


def test_a_rejection_needs_a_reason_and_frees_the_quantity():
    order = delivered()
    line = order.lines[0]
    request = order.request_return(
        lines=[ShipmentLine(line.line_id, 1)], reason="r", window_days=30, actor="c", now=NOW
    )
    with pytest.raises(Invalid):
        order.decide_return(request.return_id, approve=False, note="", actor="v", now=NOW)
    order.decide_return(request.return_id, approve=False, note="used", actor="v", now=NOW)
    assert order.returnable(line) == 1


def test_refunds_never_pass_what_was_paid():
    order = delivered()
    paid = order.payment.amount
    with pytest.raises(RefundExceedsPaid):
        order.refund(amount=paid + usd("0.01"), reason="r", return_id=None, actor="s", now=NOW)
    with pytest.raises(Invalid):
        order.refund(amount=usd("0"), reason="r", return_id=None, actor="s", now=NOW)
    order.refund(amount=usd("5.00"), reason="goodwill", return_id=None, actor="s", now=NOW)
    assert order.payment_status is PaymentStatus.PARTIALLY_REFUNDED and order.refundable == paid - usd("5.00")
    with pytest.raises(RefundExceedsPaid):
        order.refund(amount=paid, reason="r", return_id=None, actor="s", now=NOW)
    order.refund(amount=order.refundable, reason="rest", return_id=None, actor="s", now=NOW)
    assert order.payment_status is PaymentStatus.REFUNDED and order.refunded_total == paid
    assert [e.type for e in order.pull_events()] == [ev.ORDER_REFUNDED, ev.ORDER_REFUNDED]


def test_a_refund_needs_a_payment_and_an_accepted_return():
    with pytest.raises(InvalidTransition):
        placed().refund(amount=usd("1"), reason="r", return_id=None, actor="s", now=NOW)
    order = delivered()
    request = order.request_return(
        lines=[ShipmentLine(order.lines[0].line_id, 1)], reason="r", window_days=30, actor="c", now=NOW
    )
    with pytest.raises(InvalidTransition):
        order.refund(amount=usd("1"), reason="r", return_id=request.return_id, actor="s", now=NOW)
    with pytest.raises(NotFound):
        order.refund(amount=usd("1"), reason="r", return_id="nope", actor="s", now=NOW)


def test_a_refund_settles_an_amendment_marker():
    order = ready()
    order.remove_lines([order.lines[1].line_id], actor="s", now=NOW)
    owed = -order.payment_adjustment.amount
    order.refund(amount=Money(owed, "USD"), reason="amended", return_id=None, actor="s", now=NOW)
    assert order.payment_adjustment.amount == 0 and order.payment_status is PaymentStatus.PARTIALLY_REFUNDED


def test_a_vendor_sees_its_returns_and_no_refunds():
    order = delivered()
    order.request_return(
        lines=[ShipmentLine(order.lines[1].line_id, 1)], reason="r", window_days=30, actor="c", now=NOW
    )
    order.refund(amount=usd("1"), reason="r", return_id=None, actor="s", now=NOW)
    assert order.restricted_to("v1").returns == [] and len(order.restricted_to("v2").returns) == 1
    assert order.restricted_to("v2").refunds == []
