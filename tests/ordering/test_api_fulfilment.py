"""Issue 7 through /graphql/ and /webhooks/ with real JWTs and signatures: shipments and carrier
tracking, holds and review, amendments, returns and refunds. Each mutation with the right and
the wrong role and tenant; every refusal has its code and writes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ordering.infrastructure import models
from tests.conftest import Sender
from tests.tokens import hs_token
from webhooks.domain.signatures import new_secret
from webhooks.infrastructure.models import InboundWebhookReceipt, InboundWebhookSecret

from .conftest import Shop

pytestmark = pytest.mark.django_db


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["errors"]]


def events(order_id: str) -> list[str]:
    return list(
        models.OutboxEvent.objects.filter(aggregate_id=order_id).order_by("sequence").values_list("type", flat=True)
    )


def snapshot(order_id: str) -> tuple:
    """What a refused call must leave alone: the order row, its shipments and its events."""
    row = models.Order.objects.values().get(id=order_id)
    return row, list(models.Shipment.objects.filter(order_id=order_id).values()), events(order_id)


@pytest.fixture
def sender(client, shop) -> Sender:
    secret = InboundWebhookSecret.objects.create(tenant=shop.tenant, secret=new_secret()).secret
    return Sender(client, shop.tenant.id, secret)


def tracking(sender: Sender, number: str, status: str, at: datetime, **extra):
    data = {"tracking_number": number, "status": status, "occurred_at": at.isoformat(), **extra}
    return sender.post({"type": "shipment.tracking_updated", "data": data})


def line_of(order: dict, vendor: str) -> dict:
    return next(line for line in order["lines"] if line["vendorId"] == vendor)


# -- shipments and carrier tracking -----------------------------------------------------------


def test_shipments_tracked_by_the_carrier_deliver_the_order(shop, sender):
    order = shop.confirmed()
    packed = shop.ok("addShipment", shop.acme, orderId=order["id"])
    [pending] = packed["shipments"]
    assert pending["status"] == "PENDING" and pending["shippedAt"] is None and packed["status"] == "CONFIRMED"
    shipped = shop.ok(
        "addShippingTrackingReference",
        shop.acme,
        orderId=order["id"],
        shipmentId=pending["id"],
        carrier="UPS",
        trackingNumber="1ZACME",
    )
    assert shipped["status"] == "PARTIALLY_SHIPPED" and shipped["shipments"][0]["status"] == "SHIPPED"
    shop.ok("shipOrder", shop.globex, orderId=order["id"], carrier="FedEx", trackingNumber="FX-1")

    now = datetime.now(UTC)
    assert tracking(sender, "1ZACME", "IN_TRANSIT", now, carrier="ups", detail="left hub").status_code == 204
    assert tracking(sender, "1ZACME", "DELIVERED", now + timedelta(hours=5)).status_code == 204
    assert shop.order(order["id"], shop.staff)["status"] == "SHIPPED"
    response = tracking(sender, "FX-1", "DELIVERED", now + timedelta(hours=6))
    assert response.status_code == 204 and response["X-Webhook-Outcome"] == "applied"

    final = shop.order(order["id"], shop.staff)
    assert final["status"] == "DELIVERED" and final["deliveredAt"]
    assert {s["status"] for s in final["shipments"]} == {"DELIVERED"}
    assert events(order["id"])[-7:] == [
        "order.shipped",
        "order.status_changed",
        "order.shipment_updated",
        "order.shipment_updated",
        "order.shipment_updated",
        "order.delivered",
        "order.status_changed",
    ]
    assert final["history"][-1]["actor"] == "carrier:tracking"


def test_a_tracking_update_is_refused_without_a_good_signature_and_changes_nothing(shop, sender):
    order = shop.confirmed()
    shop.ok("shipOrder", shop.acme, orderId=order["id"], carrier="UPS", trackingNumber="1Z")
    before = snapshot(order["id"])
    body = {
        "type": "shipment.tracking_updated",
        "data": {"tracking_number": "1Z", "status": "DELIVERED", "occurred_at": datetime.now(UTC).isoformat()},
    }
    assert sender.post(body, secret=new_secret()).status_code == 401
    assert sender.post(body, headers={"HTTP_WEBHOOK_SIGNATURE": None}).status_code == 401
    assert snapshot(order["id"]) == before
    assert not InboundWebhookReceipt.objects.exists()


@pytest.mark.parametrize(
    "data, status, code",
    [
        ({"tracking_number": "nope", "status": "DELIVERED"}, 404, "SHIPMENT_NOT_FOUND"),
        ({"tracking_number": "1Z", "status": "LOST"}, 400, "INVALID"),
        ({"tracking_number": "1Z", "status": "DELIVERED", "occurred_at": "yesterday"}, 400, "INVALID"),
        ({"tracking_number": "1Z", "status": "DELIVERED", "occurred_at": "2026-01-01T10:00:00"}, 400, "INVALID"),
        ({"status": "DELIVERED"}, 400, "INVALID"),
    ],
)
def test_bad_tracking_updates_get_a_code_and_change_nothing(shop, sender, data, status, code):
    order = shop.confirmed()
    shop.ok("shipOrder", shop.acme, orderId=order["id"], carrier="UPS", trackingNumber="1Z")
    before = snapshot(order["id"])
    data = {"occurred_at": datetime.now(UTC).isoformat(), **data}
    response = sender.post({"type": "shipment.tracking_updated", "data": data})
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert snapshot(order["id"]) == before and not InboundWebhookReceipt.objects.exists()


def test_late_and_impossible_tracking_updates(shop, sender):
    order = shop.confirmed(items=(("mug", 1),))
    shop.ok("shipOrder", shop.acme, orderId=order["id"], carrier="UPS", trackingNumber="1Z")
    now = datetime.now(UTC) + timedelta(minutes=1)
    assert tracking(sender, "1Z", "DELIVERED", now).status_code == 204
    late = tracking(sender, "1Z", "IN_TRANSIT", now - timedelta(hours=1))
    assert late.status_code == 204 and late["X-Webhook-Outcome"] == "stale"
    before = snapshot(order["id"])
    impossible = tracking(sender, "1Z", "IN_TRANSIT", now + timedelta(hours=1))
    assert (impossible.status_code, impossible.json()["code"]) == (409, "INVALID_TRANSITION")
    assert snapshot(order["id"]) == before


def test_a_failed_shipment_can_ship_again(shop, sender):
    order = shop.confirmed(items=(("mug", 1),))
    shop.ok("shipOrder", shop.acme, orderId=order["id"], carrier="UPS", trackingNumber="1Z")
    assert tracking(sender, "1Z", "FAILED", datetime.now(UTC), detail="lost").status_code == 204
    assert shop.order(order["id"], shop.staff)["status"] == "CONFIRMED"
    again = shop.ok("shipOrder", shop.acme, orderId=order["id"], carrier="UPS", trackingNumber="1Z-2")
    assert again["status"] == "SHIPPED" and [s["status"] for s in again["shipments"]] == ["FAILED", "SHIPPED"]


def test_tracking_numbers_are_matched_within_the_tenant_only(shop, other_tenant, sender):
    order = shop.confirmed(items=(("mug", 1),))
    shop.ok("shipOrder", shop.acme, orderId=order["id"], carrier="UPS", trackingNumber="SHARED")
    secret = InboundWebhookSecret.objects.create(tenant=other_tenant, secret=new_secret()).secret
    theirs = Sender(sender.client, other_tenant.id, secret)
    response = tracking(theirs, "SHARED", "DELIVERED", datetime.now(UTC))
    assert response.status_code == 404
    assert shop.order(order["id"], shop.staff)["status"] == "SHIPPED"


def test_shipment_mutations_check_roles_vendors_and_states(shop):
    order = shop.confirmed()
    assert shop.raw("addShipment", shop.customer, orderId=order["id"])["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    acme = shop.ok("addShipment", shop.acme, orderId=order["id"])
    shipment_id = acme["shipments"][0]["id"]
    wrong_vendor = shop.call("cancelShipment", shop.globex, orderId=order["id"], shipmentId=shipment_id, reason="x")
    assert codes(wrong_vendor) == ["NOT_FOUND"]
    other_tenant_staff = hs_token(shop.tenant, sub="s", roles=["staff"], tenant_id="tenant-b")
    assert (
        shop.raw("cancelShipment", other_tenant_staff, orderId=order["id"], shipmentId=shipment_id, reason="x")[
            "errors"
        ][0]["extensions"]["code"]
        == "UNAUTHENTICATED"
    )
    cancelled = shop.ok("cancelShipment", shop.acme, orderId=order["id"], shipmentId=shipment_id, reason="re-pack")
    assert cancelled["shipments"][0]["status"] == "CANCELLED"
    again = shop.call("cancelShipment", shop.staff, orderId=order["id"], shipmentId=shipment_id, reason="x")
    assert codes(again) == ["INVALID_TRANSITION"]
    pending = shop.placed()
    assert codes(shop.call("addShipment", shop.staff, orderId=pending["id"])) == ["INVALID_TRANSITION"]
    assert events(pending["id"])[-1] == "order.status_changed"


# -- holds and review -------------------------------------------------------------------------


def test_staff_hold_an_order_and_it_cannot_be_confirmed_until_released(shop):
    order = shop.placed()
    payment = {"method": "card", "reference": "ch", "amount": order["total"]["amount"]}
    assert (
        shop.raw("placeOnHold", shop.customer, orderId=order["id"], reason="FRAUD_REVIEW")["errors"][0]["extensions"][
            "code"
        ]
        == "FORBIDDEN"
    )
    held = shop.ok("placeOnHold", shop.staff, orderId=order["id"], reason="FRAUD_REVIEW", note="odd")
    assert held["hold"]["reason"] == "FRAUD_REVIEW" and held["hold"]["by"] == "staff-1"
    before = snapshot(order["id"])
    assert codes(shop.call("confirmOrder", shop.staff, orderId=order["id"], payment=payment)) == ["ORDER_ON_HOLD"]
    assert codes(shop.call("placeOnHold", shop.staff, orderId=order["id"], reason="PAYMENT_REVIEW")) == [
        "INVALID_TRANSITION"
    ]
    assert snapshot(order["id"]) == before
    assert shop.ok("releaseHold", shop.staff, orderId=order["id"], note="fine")["hold"] is None
    assert shop.ok("confirmOrder", shop.staff, orderId=order["id"], payment=payment)["status"] == "CONFIRMED"
    assert "order.placed_on_hold" in events(order["id"]) and "order.hold_released" in events(order["id"])


def test_a_held_order_cannot_ship(shop):
    order = shop.confirmed()
    shop.ok("placeOnHold", shop.staff, orderId=order["id"], reason="ADDRESS_VERIFICATION")
    payload = shop.call("shipOrder", shop.acme, orderId=order["id"], carrier="UPS", trackingNumber="1")
    assert codes(payload) == ["ORDER_ON_HOLD"] and not models.Shipment.objects.exists()


def workflow(sender: Sender, **data):
    body = {"type": "tenant_workflow.upserted", "data": {"version": 1, **data}}
    response = sender.post(body)
    assert response.status_code == 204, response.content


def test_a_tenant_workflow_requires_a_review_before_confirmation(shop, sender):
    workflow(sender, review_required=True, review_min_total="50")
    small = shop.placed(items=(("mug", 1),))
    assert small["review"] is None
    order = shop.placed()
    assert order["review"] == {"status": "PENDING", "level": 1, "assignee": None, "decidedBy": None, "note": None}
    payment = {"method": "card", "reference": "ch", "amount": order["total"]["amount"]}
    assert codes(shop.call("confirmOrder", shop.staff, orderId=order["id"], payment=payment)) == ["REVIEW_REQUIRED"]
    boss = hs_token(shop.tenant, sub="boss", roles=["staff"])
    escalated = shop.ok("escalateReviewer", shop.staff, orderId=order["id"], reviewerId="boss", note="large")
    assert escalated["review"]["level"] == 2 and escalated["review"]["assignee"] == "boss"
    refused = shop.raw("reviewOrder", shop.staff, orderId=order["id"], decision="APPROVE")
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (
        shop.raw("reviewOrder", shop.customer, orderId=order["id"], decision="APPROVE")["errors"][0]["extensions"][
            "code"
        ]
        == "FORBIDDEN"
    )
    approved = shop.ok("reviewOrder", boss, orderId=order["id"], decision="APPROVE", note="ok")
    assert approved["review"]["status"] == "APPROVED" and approved["review"]["decidedBy"] == "boss"
    assert shop.ok("confirmOrder", shop.staff, orderId=order["id"], payment=payment)["status"] == "CONFIRMED"
    assert events(order["id"])[3:6] == ["order.review_escalated", "order.reviewed", "order.confirmed"]


def test_a_rejected_review_cancels_the_order(shop, sender):
    workflow(sender, review_required=True)
    order = shop.placed()
    rejected = shop.ok("reviewOrder", shop.staff, orderId=order["id"], decision="REJECT", note="fraud")
    assert rejected["status"] == "CANCELLED" and rejected["cancellation"]["reason"] == "rejected in review: fraud"
    assert codes(shop.call("reviewOrder", shop.staff, orderId=order["id"], decision="APPROVE")) == [
        "INVALID_TRANSITION"
    ]


def test_a_bad_workflow_is_refused(shop, sender):
    response = sender.post({"type": "tenant_workflow.upserted", "data": {"version": 1, "return_window_days": -1}})
    assert (response.status_code, response.json()["field"]) == (400, "return_window_days")
    deletion = sender.post({"type": "tenant_workflow.deleted", "data": {"version": 2}})
    assert deletion.status_code == 400
    order = shop.placed()
    assert order["review"] is None


# -- amendments -------------------------------------------------------------------------------


def test_the_customer_lowers_a_quantity_and_the_order_is_repriced_from_frozen_prices(shop):
    order = shop.placed(items=(("mug", 3), ("lamp", 1)))
    mug = line_of(order, "acme")
    from snapshots.domain.catalog import Product
    from snapshots.infrastructure.snapshot_writer import OrmSnapshotWriter

    OrmSnapshotWriter().upsert(
        shop.tenant.id,
        "product",
        Product.create(
            {  # today's price changes
                "product_id": "mug",
                "vendor_id": "acme",
                "sku": "ACME-MUG",
                "name": "Blue mug",
                "price": {"amount": "99.00", "currency": "USD"},
                "active": True,
                "version": 2,
            }
        ),
    )
    amended = shop.ok(
        "changeOrderQuantity",
        shop.customer,
        orderId=order["id"],
        lineId=mug["id"],
        quantity=2,
        expectedVersion=order["version"],
    )
    line = line_of(amended, "acme")
    assert line["quantity"] == 2 and line["unitPrice"]["amount"] == "12.50" and line["discount"]["amount"] == "2.50"
    assert amended["revision"] == 1 and amended["paymentAdjustment"] is None
    event = models.OutboxEvent.objects.filter(aggregate_id=order["id"], type="order.amended").get().data
    assert event["changed_fields"] == ["lines"] and event["revision"] == 1
    assert event["previous_total"]["amount"] == order["total"]["amount"]
    assert event["new_total"]["amount"] == amended["total"]["amount"]


def test_amending_a_paid_order_marks_the_payment_and_a_refund_settles_it(shop):
    order = shop.confirmed()
    lamp = line_of(order, "globex")
    amended = shop.ok("removeLineItems", shop.staff, orderId=order["id"], lineIds=[lamp["id"]])
    assert [line["vendorId"] for line in amended["lines"]] == ["acme"]
    assert [s["vendorId"] for s in amended["shippingOptions"]] == ["acme"]
    owed = amended["paymentAdjustment"]["amount"]
    assert owed.startswith("-")
    refunded = shop.ok("processRefund", shop.staff, orderId=order["id"], amount=owed[1:], reason="amended")
    assert refunded["paymentStatus"] == "PARTIALLY_REFUNDED" and refunded["paymentAdjustment"]["amount"] == "0.00"


def test_destination_amendments_stay_in_the_country(shop):
    order = shop.placed()
    moved = shop.ok(
        "changeDestination",
        shop.staff,
        orderId=order["id"],
        shippingAddress={"line1": "9 Elm", "city": "Shelbyville", "postalCode": "54321", "country": "US"},
    )
    assert moved["shippingAddress"]["city"] == "Shelbyville" and moved["revision"] == 1
    before = snapshot(order["id"])
    abroad = shop.call(
        "changeDestination",
        shop.customer,
        orderId=order["id"],
        shippingAddress={"line1": "1 High St", "city": "London", "postalCode": "N1", "country": "GB"},
    )
    assert codes(abroad) == ["INVALID"] and abroad["errors"][0]["field"] == "shippingAddress.country"
    assert snapshot(order["id"]) == before


def test_amendments_check_roles_state_and_version(shop):
    order = shop.placed()
    mug = line_of(order, "acme")
    assert (
        shop.raw("changeOrderQuantity", shop.acme, orderId=order["id"], lineId=mug["id"], quantity=1)["errors"][0][
            "extensions"
        ]["code"]
        == "FORBIDDEN"
    )
    assert codes(shop.call("removeLineItems", shop.other_customer, orderId=order["id"], lineIds=[mug["id"]])) == [
        "NOT_FOUND"
    ]
    assert codes(
        shop.call("removeLineItems", shop.customer, orderId=order["id"], lineIds=[mug["id"]], expectedVersion=1)
    ) == ["CONFLICT"]
    assert codes(
        shop.call("changeOrderQuantity", shop.customer, orderId=order["id"], lineId=mug["id"], quantity=1)
    ) == ["INVALID"]  # it is 1 already
    confirmed = shop.confirmed()
    shop.ok("shipOrder", shop.acme, orderId=confirmed["id"], carrier="UPS", trackingNumber="1")
    lamp = line_of(confirmed, "globex")
    assert codes(shop.call("removeLineItems", shop.staff, orderId=confirmed["id"], lineIds=[lamp["id"]])) == [
        "INVALID_TRANSITION"
    ]
    assert models.Order.objects.filter(revision__gt=0).count() == 0


# -- returns and refunds ----------------------------------------------------------------------


def delivered(shop: Shop) -> dict:
    order = shop.confirmed(items=(("mug", 2), ("lamp", 1)))
    shop.ok("shipOrder", shop.acme, orderId=order["id"], carrier="UPS", trackingNumber="A")
    shop.ok("shipOrder", shop.globex, orderId=order["id"], carrier="FedEx", trackingNumber="B")
    return shop.ok("deliverOrder", shop.staff, orderId=order["id"])


def test_a_return_is_requested_approved_received_and_refunded(shop):
    order = delivered(shop)
    mug = line_of(order, "acme")
    assert (
        shop.raw(
            "requestReturn", shop.staff, orderId=order["id"], lines=[{"lineId": mug["id"], "quantity": 1}], reason="r"
        )["errors"][0]["extensions"]["code"]
        == "FORBIDDEN"
    )
    requested = shop.ok(
        "requestReturn",
        shop.customer,
        orderId=order["id"],
        lines=[{"lineId": mug["id"], "quantity": 1}],
        reason="chipped",
    )
    [request] = requested["returns"]
    assert request["status"] == "REQUESTED" and request["vendorId"] == "acme"
    assert (
        shop.raw("approveReturn", shop.globex, orderId=order["id"], returnId=request["id"])["errors"][0]["extensions"][
            "code"
        ]
        == "FORBIDDEN"
    )
    assert (
        shop.raw("approveReturn", shop.customer, orderId=order["id"], returnId=request["id"])["errors"][0][
            "extensions"
        ]["code"]
        == "FORBIDDEN"
    )
    assert (
        shop.ok("approveReturn", shop.acme, orderId=order["id"], returnId=request["id"])["returns"][0]["status"]
        == "APPROVED"
    )
    assert shop.ok("receiveReturn", shop.acme, orderId=order["id"], returnId=request["id"])["returns"][0]["receivedAt"]
    refunded = shop.ok(
        "processRefund", shop.staff, orderId=order["id"], amount="11.25", reason="returned mug", returnId=request["id"]
    )
    assert refunded["paymentStatus"] == "PARTIALLY_REFUNDED" and refunded["refundedTotal"]["amount"] == "11.25"
    assert refunded["refunds"][0]["returnId"] == request["id"]
    assert events(order["id"])[-4:] == [
        "order.return_requested",
        "order.return_approved",
        "order.return_received",
        "order.refunded",
    ]


def test_a_refund_above_the_refundable_amount_is_refused_and_changes_nothing(shop):
    order = delivered(shop)
    paid = order["payment"]["amount"]["amount"]
    shop.ok("processRefund", shop.staff, orderId=order["id"], amount="10.00", reason="goodwill")
    before = snapshot(order["id"])
    too_much = shop.call("processRefund", shop.staff, orderId=order["id"], amount=paid, reason="all")
    assert codes(too_much) == ["REFUND_EXCEEDS_PAID"] and too_much["errors"][0]["field"] == "amount"
    for amount in ("-1", "abc", "1.001", "0"):
        assert codes(shop.call("processRefund", shop.staff, orderId=order["id"], amount=amount, reason="r")) == [
            "INVALID"
        ]
    assert (
        shop.raw("processRefund", shop.acme, orderId=order["id"], amount="1", reason="r")["errors"][0]["extensions"][
            "code"
        ]
        == "FORBIDDEN"
    )
    assert snapshot(order["id"]) == before
    rest = f"{float(paid) - 10:.2f}"
    assert (
        shop.ok("processRefund", shop.staff, orderId=order["id"], amount=rest, reason="rest")["paymentStatus"]
        == "REFUNDED"
    )


def test_returns_are_refused_outside_the_window_and_when_rejected_need_a_reason(shop, sender):
    order = delivered(shop)
    mug = line_of(order, "acme")
    rejected = shop.ok(
        "requestReturn", shop.customer, orderId=order["id"], lines=[{"lineId": mug["id"], "quantity": 2}], reason="r"
    )["returns"][0]
    assert codes(shop.call("rejectReturn", shop.acme, orderId=order["id"], returnId=rejected["id"], reason=" ")) == [
        "INVALID"
    ]
    assert (
        shop.ok("rejectReturn", shop.staff, orderId=order["id"], returnId=rejected["id"], reason="used")["returns"][0][
            "status"
        ]
        == "REJECTED"
    )
    assert codes(shop.call("receiveReturn", shop.staff, orderId=order["id"], returnId=rejected["id"])) == [
        "INVALID_TRANSITION"
    ]
    assert codes(
        shop.call(
            "requestReturn",
            shop.customer,
            orderId=order["id"],
            lines=[{"lineId": mug["id"], "quantity": 3}],
            reason="r",
        )
    ) == ["INVALID"]
    workflow(sender, return_window_days=0)
    before = snapshot(order["id"])
    late = shop.call(
        "requestReturn", shop.customer, orderId=order["id"], lines=[{"lineId": mug["id"], "quantity": 1}], reason="late"
    )
    assert codes(late) == ["RETURN_WINDOW_CLOSED"] and snapshot(order["id"]) == before


def test_returns_need_a_delivered_order(shop):
    order = shop.confirmed()
    mug = line_of(order, "acme")
    payload = shop.call(
        "requestReturn", shop.customer, orderId=order["id"], lines=[{"lineId": mug["id"], "quantity": 1}], reason="r"
    )
    assert codes(payload) == ["INVALID_TRANSITION"]
    assert codes(shop.call("approveReturn", shop.staff, orderId=order["id"], returnId=str(uuid.uuid4()))) == [
        "NOT_FOUND"
    ]


ANY_ID = str(uuid.uuid4())
EVERY_NEW_MUTATION = {
    "addShipment": {},
    "addShippingTrackingReference": {"shipmentId": ANY_ID, "carrier": "UPS", "trackingNumber": "1"},
    "cancelShipment": {"shipmentId": ANY_ID, "reason": "r"},
    "placeOnHold": {"reason": "FRAUD_REVIEW"},
    "releaseHold": {},
    "reviewOrder": {"decision": "APPROVE"},
    "escalateReviewer": {"reviewerId": "x"},
    "changeOrderQuantity": {"lineId": ANY_ID, "quantity": 1},
    "removeLineItems": {"lineIds": [ANY_ID]},
    "requestReturn": {"lines": [{"lineId": ANY_ID, "quantity": 1}], "reason": "r"},
    "approveReturn": {"returnId": ANY_ID},
    "rejectReturn": {"returnId": ANY_ID, "reason": "r"},
    "receiveReturn": {"returnId": ANY_ID},
    "processRefund": {"amount": "1", "reason": "r"},
}


@pytest.mark.parametrize("name", sorted(EVERY_NEW_MUTATION))
def test_another_tenant_cannot_touch_an_order(shop, other_tenant, name):
    order = delivered(shop)
    before = snapshot(order["id"])
    roles = ["customer", "vendor", "staff"]
    theirs = hs_token(other_tenant, sub="cust-1", roles=roles, vendor_id="acme")
    payload = shop.call(name, theirs, orderId=order["id"], **EVERY_NEW_MUTATION[name])
    assert codes(payload) == ["NOT_FOUND"] and payload["errors"][0]["field"] == "orderId"
    assert snapshot(order["id"]) == before


WRONG_ROLE = {
    "addShipment": "customer",
    "addShippingTrackingReference": "customer",
    "cancelShipment": "customer",
    "placeOnHold": "acme",
    "releaseHold": "customer",
    "reviewOrder": "acme",
    "escalateReviewer": "customer",
    "changeOrderQuantity": "acme",
    "removeLineItems": "acme",
    "requestReturn": "staff",
    "approveReturn": "customer",
    "rejectReturn": "customer",
    "receiveReturn": "customer",
    "processRefund": "acme",
}


@pytest.mark.parametrize("name", sorted(WRONG_ROLE))
def test_a_role_that_may_never_do_it_is_forbidden_and_nothing_changes(shop, name):
    order = delivered(shop)
    before = snapshot(order["id"])
    body = shop.raw(name, getattr(shop, WRONG_ROLE[name]), orderId=order["id"], **EVERY_NEW_MUTATION[name])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert snapshot(order["id"]) == before
