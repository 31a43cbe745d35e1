"""The whole order lifecycle through /graphql/, with real tokens, for each role."""

from __future__ import annotations

import pytest

from ordering.infrastructure import models


def test_checkout_prices_from_snapshots_and_freezes_them(shop):
    order = shop.draft(items=(("mug", 2), ("lamp", 1)), couponCodes=["WELCOME5"])
    assert order["status"] == "DRAFT" and order["paymentStatus"] == "UNPAID" and order["number"] is None
    lines = {line["productId"]: line for line in order["lines"]}
    assert lines["mug"]["unitPrice"] == {"amount": "12.50", "currency": "USD"}
    assert lines["mug"]["discount"]["amount"] == "2.50", "the mugs-2 offer: 10% off two mugs"
    assert lines["mug"]["total"]["amount"] == "22.50"
    assert lines["lamp"]["total"]["amount"] == "54.90"
    shipping = {s["vendorId"]: s for s in order["shippingOptions"]}
    assert shipping["acme"]["cost"]["amount"] == "6.00", "5 + 1 per extra item"
    assert shipping["globex"]["cost"]["amount"] == "7.50"
    assert order["coupons"] == [{"code": "WELCOME5", "vendorId": None, "discount": {"amount": "5.00"}}]
    assert order["subtotal"] == {"amount": "79.90", "currency": "USD"}
    assert order["discountTotal"]["amount"] == "7.50"
    assert order["shippingTotal"]["amount"] == "13.50"
    assert order["total"] == {"amount": "85.90", "currency": "USD"}
    assert order["customer"]["email"] == "ada@example.com"
    assert order["history"][0]["toStatus"] == "DRAFT" and order["history"][0]["fromStatus"] is None
    assert order["version"] == 1

    # A later snapshot change does not touch the order.
    from snapshots.infrastructure.models import ProductSnapshot
    from tests.ordering.conftest import seed_catalog  # noqa: F401  (the catalog is already seeded)

    ProductSnapshot.objects.filter(tenant_id=shop.tenant.id, product_id="mug").update(price_amount="99.00")
    again = shop.order(order["id"], shop.customer)
    assert again["total"] == order["total"] and again["lines"] == order["lines"]


def test_the_whole_lifecycle_for_customer_staff_and_vendors(shop):
    draft = shop.draft()
    order_id = draft["id"]
    placed = shop.ok("placeOrder", shop.customer, orderId=order_id, expectedVersion=1)
    assert placed["status"] == "PENDING" and placed["number"] == "1001" and placed["placedAt"]
    payment = {"method": "card", "reference": "ch_42", "amount": placed["total"]["amount"]}
    confirmed = shop.ok("confirmOrder", shop.staff, orderId=order_id, payment=payment, expectedVersion=2)
    assert confirmed["status"] == "CONFIRMED" and confirmed["paymentStatus"] == "PAID"
    assert confirmed["payment"]["reference"] == "ch_42" and confirmed["payment"]["amount"]["amount"] == "79.90"

    acme_shipped = shop.ok("shipOrder", shop.acme, orderId=order_id, carrier="UPS", trackingNumber="1Z999")
    assert acme_shipped["status"] == "PARTIALLY_SHIPPED"
    assert [line["vendorId"] for line in acme_shipped["lines"]] == ["acme"], "a vendor sees its own lines"
    assert acme_shipped["payment"] is None
    globex_shipped = shop.ok(
        "shipOrder", shop.globex, orderId=order_id, carrier="FedEx", trackingNumber="FX1", expectedVersion=4
    )
    assert globex_shipped["status"] == "SHIPPED"

    delivered = shop.ok("deliverOrder", shop.staff, orderId=order_id, expectedVersion=5)
    assert delivered["status"] == "DELIVERED"
    completed = shop.ok("completeOrder", shop.staff, orderId=order_id, expectedVersion=6)
    assert completed["status"] == "COMPLETED" and completed["version"] == 7
    assert [(h["fromStatus"], h["toStatus"]) for h in completed["history"]] == [
        (None, "DRAFT"),
        ("DRAFT", "PENDING"),
        ("PENDING", "CONFIRMED"),
        ("CONFIRMED", "PARTIALLY_SHIPPED"),
        ("PARTIALLY_SHIPPED", "SHIPPED"),
        ("SHIPPED", "DELIVERED"),
        ("DELIVERED", "COMPLETED"),
    ]
    assert [h["actor"] for h in completed["history"]] == [
        "cust-1",
        "cust-1",
        "staff-1",
        "acme-user",
        "globex-user",
        "staff-1",
        "staff-1",
    ]
    assert {(s["vendorId"], s["trackingNumber"]) for s in completed["shipments"]} == {
        ("acme", "1Z999"),
        ("globex", "FX1"),
    }
    assert all(line["shippedQuantity"] == line["quantity"] for line in completed["lines"])

    seen_by_customer = shop.order(order_id, shop.customer)
    assert seen_by_customer["status"] == "COMPLETED" and len(seen_by_customer["lines"]) == 2


def test_a_single_vendor_order_can_be_delivered_by_its_vendor(shop):
    order = shop.confirmed(items=(("kettle", 1),))
    shop.ok("shipOrder", shop.acme, orderId=order["id"], carrier="UPS", trackingNumber="1Z1")
    delivered = shop.ok("deliverOrder", shop.acme, orderId=order["id"])
    assert delivered["status"] == "DELIVERED"


def test_partial_shipment_by_line_and_quantity(shop):
    order = shop.confirmed(items=(("mug", 3),))
    line = order["lines"][0]["id"]
    first = shop.ok(
        "shipOrder",
        shop.staff,
        orderId=order["id"],
        carrier="UPS",
        trackingNumber="a",
        lines=[{"lineId": line, "quantity": 2}],
    )
    assert first["status"] == "PARTIALLY_SHIPPED" and first["lines"][0]["shippedQuantity"] == 2
    assert first["shipments"][0]["lines"] == [{"lineId": line, "quantity": 2}]
    second = shop.ok("shipOrder", shop.acme, orderId=order["id"], carrier="UPS", trackingNumber="b")
    assert second["status"] == "SHIPPED" and second["shipments"][1]["lines"] == [{"lineId": line, "quantity": 1}]


@pytest.mark.parametrize(
    "who, status",
    [
        ("customer", "DRAFT"),
        ("customer", "PENDING"),
        ("staff", "DRAFT"),
        ("staff", "PENDING"),
        ("staff", "CONFIRMED"),
        ("vendor", "CONFIRMED"),
    ],
)
def test_cancellation_by_each_role_from_each_allowed_status(shop, who, status):
    items = (("kettle", 1),)
    order = {"DRAFT": shop.draft, "PENDING": shop.placed, "CONFIRMED": shop.confirmed}[status](items)
    token = {"customer": shop.customer, "staff": shop.staff, "vendor": shop.acme}[who]
    cancelled = shop.ok("cancelOrder", token, orderId=order["id"], reason="out of paint")
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["cancellation"]["reason"] == "out of paint"
    assert cancelled["paymentStatus"] == ("REFUND_PENDING" if status == "CONFIRMED" else "UNPAID")
    assert cancelled["history"][-1]["note"] == "out of paint"


def test_draft_changes_reprice(shop):
    order = shop.draft(items=(("mug", 1),), shippingOptions=[{"vendorId": "acme", "shippingOptionId": "acme-std"}])
    assert order["total"]["amount"] == "17.50"
    order = shop.ok(
        "updateCheckoutItems",
        shop.customer,
        orderId=order["id"],
        expectedVersion=1,
        items=[{"productId": "mug", "quantity": 2}, {"productId": "kettle", "quantity": 1}],
    )
    assert [line["quantity"] for line in order["lines"]] == [2, 1] and order["version"] == 2
    assert order["subtotal"]["amount"] == "64.00" and order["shippingTotal"]["amount"] == "7.00"
    order = shop.ok("applyCoupon", shop.customer, orderId=order["id"], code="ACME10", expectedVersion=2)
    assert order["coupons"][0]["vendorId"] == "acme" and order["coupons"][0]["discount"]["amount"] == "6.15"
    order = shop.ok("removeCoupon", shop.customer, orderId=order["id"], code="ACME10", expectedVersion=3)
    assert order["coupons"] == []
    order = shop.ok(
        "selectShippingOption",
        shop.customer,
        orderId=order["id"],
        vendorId="acme",
        shippingOptionId="acme-us-only",
        expectedVersion=4,
    )
    assert order["shippingTotal"]["amount"] == "3.00"
    canada = {**order["shippingAddress"], "country": "CA", "postalCode": "K1A 0B1"}
    canada = {k: v for k, v in canada.items() if v is not None}
    order = shop.ok("changeDestination", shop.customer, orderId=order["id"], shippingAddress=canada, expectedVersion=5)
    assert order["shippingAddress"]["country"] == "CA"
    assert order["shippingOptions"][0]["shippingOptionId"] is None, "acme-us-only does not ship to Canada"
    assert order["shippingTotal"]["amount"] == "0.00"
    payload = shop.call("placeOrder", shop.customer, orderId=order["id"])
    assert payload["errors"][0]["code"] == "SHIPPING_OPTION_UNAVAILABLE"
    order = shop.ok(
        "selectShippingOption", shop.customer, orderId=order["id"], vendorId="acme", shippingOptionId="acme-std"
    )
    assert order["shippingTotal"]["amount"] == "7.00"
    assert shop.ok("placeOrder", shop.customer, orderId=order["id"])["status"] == "PENDING"
    notes = [h["note"] for h in shop.order(order["id"], shop.customer)["history"]]
    assert notes[:3] == ["checked out", "items updated", "coupon ACME10 applied"]


def test_customer_details_default_to_the_synced_snapshot(shop):
    order = shop.draft(customer=None)
    assert order["customer"] == {
        "userId": "cust-1",
        "email": "ada@example.com",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "phone": None,
    }
    payload = shop.checkout(token=shop.other_customer, customer=None)
    assert payload["errors"][0]["code"] == "INVALID" and payload["errors"][0]["field"] == "customer"


def test_order_numbers_are_sequential_per_tenant(shop):
    numbers = [shop.placed(items=(("kettle", 1),))["number"] for _ in range(3)]
    assert numbers == ["1001", "1002", "1003"]
    assert models.OrderNumberCounter.objects.get(tenant_id=shop.tenant.id).last_number == 3
