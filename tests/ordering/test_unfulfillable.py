"""UNFULFILLABLE (issue 17): staff or the vendor of every line mark a CONFIRMED or
PARTIALLY_SHIPPED order UNFULFILLABLE with a reason; it is then cancelled (payment marked for
refund, unshipped stock released) or resumed to where its shipments left it."""

from __future__ import annotations

import pytest

from ordering.domain.errors import Invalid, InvalidTransition
from ordering.domain.lifecycle import OrderStatus
from ordering.infrastructure import models
from snapshots.infrastructure.models import ProductSnapshot

from .domain_fixtures import NOW, confirmed, draft


def types(order) -> list[str]:
    return [e.type for e in order.pull_events()]


# -- the domain -------------------------------------------------------------------------------


def test_a_confirmed_order_is_marked_unfulfillable_then_resumed():
    order = confirmed()
    order.pull_events()
    order.mark_unfulfillable(reason="supplier out of stock", actor="s", now=NOW)
    assert (order.status, order.unfulfillable_reason) == (OrderStatus.UNFULFILLABLE, "supplier out of stock")
    assert types(order) == ["order.unfulfillable", "order.status_changed"]
    with pytest.raises(InvalidTransition):
        order.add_shipment(lines=None, vendor_scope="v1", actor="v", now=NOW)
    order.resume(actor="s", now=NOW)
    assert (order.status, order.unfulfillable_reason) == (OrderStatus.CONFIRMED, "")
    assert types(order) == ["order.resumed", "order.status_changed"]


def test_a_partly_shipped_order_resumes_as_partly_shipped_and_cancels_with_its_shipped_units_sold():
    from ordering.domain.stock import held_stock

    order = confirmed()
    order.ship(carrier="UPS", tracking_number="T", lines=None, vendor_scope="v1", actor="v", now=NOW)
    order.mark_unfulfillable(reason="v2 closed", actor="s", now=NOW)
    order.resume(actor="s", now=NOW)
    assert order.status is OrderStatus.PARTIALLY_SHIPPED
    order.mark_unfulfillable(reason="v2 closed for good", actor="s", now=NOW)
    order.cancel(reason="cannot be fulfilled", actor="s", now=NOW)
    assert order.status is OrderStatus.CANCELLED and order.unfulfillable_reason == ""
    assert {p: h.quantity for p, h in held_stock(order).items()} == {"p1": 1}


@pytest.mark.parametrize("reason", ["", "   ", None, 5, "x" * 501])
def test_a_reason_is_required(reason):
    with pytest.raises(Invalid):
        confirmed().mark_unfulfillable(reason=reason, actor="s", now=NOW)


def test_only_confirmed_or_partly_shipped_orders_can_be_marked_and_only_unfulfillable_ones_resumed():
    order = draft()
    with pytest.raises(InvalidTransition):
        order.mark_unfulfillable(reason="r", actor="s", now=NOW)
    with pytest.raises(InvalidTransition):
        confirmed().resume(actor="s", now=NOW)


# -- through the API ---------------------------------------------------------------------------

MARK = "markUnfulfillable"


def test_staff_mark_and_cancel_releasing_the_stock_and_marking_the_refund(shop):
    ProductSnapshot.objects.filter(product_id="mug").update(available_quantity=10, reserved_quantity=0)
    order = shop.confirmed(items=(("mug", 3), ("lamp", 1)))
    marked = shop.ok(
        MARK, shop.staff, orderId=order["id"], reason="warehouse flooded", expectedVersion=order["version"]
    )
    assert (marked["status"], marked["unfulfillableReason"]) == ("UNFULFILLABLE", "warehouse flooded")
    assert ProductSnapshot.objects.get(product_id="mug").reserved_quantity == 3, "still held until decided"
    cancelled = shop.ok("cancelOrder", shop.staff, orderId=order["id"], reason="could not fulfil")
    assert (cancelled["status"], cancelled["paymentStatus"]) == ("CANCELLED", "REFUND_PENDING")
    assert ProductSnapshot.objects.get(product_id="mug").reserved_quantity == 0
    types_ = list(
        models.OutboxEvent.objects.filter(aggregate_id=order["id"]).order_by("sequence").values_list("type", flat=True)
    )
    assert types_[-4:] == ["order.unfulfillable", "order.status_changed", "order.cancelled", "order.status_changed"]
    # (every event's payload against its JSON Schema: tests/webhooks/test_outbound_delivery.py)


def test_the_sole_vendor_may_mark_and_resume_others_may_not(shop):
    order = shop.confirmed(items=(("mug", 1),))
    assert shop.call(MARK, shop.globex, orderId=order["id"], reason="r")["errors"][0]["code"] == "NOT_FOUND"
    assert (
        shop.raw(MARK, shop.customer, orderId=order["id"], reason="r")["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    )
    mixed = shop.confirmed(items=(("mug", 1), ("lamp", 1)))
    assert (
        shop.raw(MARK, shop.acme, orderId=mixed["id"], reason="r")["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    ), "a vendor of some lines only"
    shop.ok(MARK, shop.acme, orderId=order["id"], reason="out of mugs")
    resumed = shop.ok("resumeOrder", shop.acme, orderId=order["id"])
    assert (resumed["status"], resumed["unfulfillableReason"]) == ("CONFIRMED", None)


def test_bad_input_is_refused_with_nothing_written(shop):
    order = shop.confirmed()
    for variables, code in (({"reason": " "}, "INVALID"), ({"reason": "r", "expectedVersion": 1}, "CONFLICT")):
        payload = shop.call(MARK, shop.staff, orderId=order["id"], **variables)
        assert [e["code"] for e in payload["errors"]] == [code]
    assert shop.call("resumeOrder", shop.staff, orderId=order["id"])["errors"][0]["code"] == "INVALID_TRANSITION"
    placed = shop.placed()
    assert shop.call(MARK, shop.staff, orderId=placed["id"], reason="r")["errors"][0]["code"] == "INVALID_TRANSITION"
    row = models.Order.objects.get(id=order["id"])
    assert (row.status, row.unfulfillable_reason, row.version) == ("CONFIRMED", "", order["version"])


def test_the_admin_marks_and_resumes(shop, client, admin_user):
    order = shop.confirmed()
    client.force_login(admin_user)
    url = "/admin/ordering/order/"
    page = client.post(url, {"action": "mark_unfulfillable", "_selected_action": [order["id"]]})
    assert b"Mark these orders unfulfillable" in page.content
    assert f"${float(order['total']['amount']):,.2f}".encode() in page.content, "the total as money"
    client.post(
        url,
        {"action": "mark_unfulfillable", "_selected_action": [order["id"]], "apply": "1", "reason": "carrier strike"},
    )
    row = models.Order.objects.get(id=order["id"])
    assert (row.status, row.unfulfillable_reason) == ("UNFULFILLABLE", "carrier strike")
    client.post(url, {"action": "resume_orders", "_selected_action": [order["id"]]})
    assert models.Order.objects.get(id=order["id"]).status == "CONFIRMED"
