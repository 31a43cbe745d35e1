"""Tenant isolation and vendor privacy: every query and mutation with another tenant's or
vendor's ids. tenant-b has the same catalog ids, user ids and vendor ids as tenant-a, so any
lookup that forgot its tenant would find something."""

from __future__ import annotations

import pytest

from ordering.infrastructure import models
from snapshots.infrastructure.models import ProductSnapshot

from .conftest import US_ADDRESS, Shop, seed_catalog
from .test_api_orders_list import ORDERS
from .test_api_refusals import db_state, refused


@pytest.fixture
def other_shop(gql, other_tenant) -> Shop:
    seed_catalog(other_tenant.id)
    ProductSnapshot.objects.filter(tenant_id=other_tenant.id, product_id="mug").update(price_amount="20.00")
    return Shop(gql, other_tenant)


def every_mutation(order_id: str, total: str):
    payment = {"method": "card", "reference": "r", "amount": total}
    return [
        ("updateCheckoutItems", {"orderId": order_id, "items": [{"productId": "mug", "quantity": 2}]}),
        ("changeDestination", {"orderId": order_id, "shippingAddress": US_ADDRESS}),
        ("selectShippingOption", {"orderId": order_id, "vendorId": "acme", "shippingOptionId": "acme-us-only"}),
        ("applyCoupon", {"orderId": order_id, "code": "ACME10"}),
        ("removeCoupon", {"orderId": order_id, "code": "ACME10"}),
        ("placeOrder", {"orderId": order_id}),
        ("confirmOrder", {"orderId": order_id, "payment": payment}),
        ("shipOrder", {"orderId": order_id, "carrier": "UPS", "trackingNumber": "t"}),
        ("deliverOrder", {"orderId": order_id}),
        ("completeOrder", {"orderId": order_id}),
        ("cancelOrder", {"orderId": order_id, "reason": "r"}),
    ]


MISSING = "00000000-0000-0000-0000-000000000000"


def answers_as_if_missing(shop, name, token, variables):
    """The answer for an order the caller may not see is the answer for an order that does not
    exist (NOT_FOUND, or FORBIDDEN when the role may never do this), and nothing is written."""
    before = db_state()
    seen = shop.raw(name, token, **variables)
    missing = shop.raw(name, token, **{**variables, "orderId": MISSING})
    # The caller's own budget moves between the two calls (extensions.cost.throttleStatus); the
    # costs themselves, like everything else, must be the same.
    for body in (seen, missing):
        body.get("extensions", {}).get("cost", {}).pop("throttleStatus", None)
    assert seen == missing
    assert db_state() == before
    errors = (seen["data"][name] or {}).get("errors") or [
        {"code": e["extensions"]["code"]} for e in seen.get("errors", [])
    ]
    assert [e["code"] for e in errors] in (["NOT_FOUND"], ["FORBIDDEN"]), seen
    return errors[0]["code"]


def test_another_tenants_orders_do_not_exist(shop, other_shop):
    draft = shop.draft()
    placed = shop.placed()
    confirmed = shop.confirmed()
    intruders = [other_shop.staff, other_shop.customer, other_shop.acme, other_shop.globex]
    codes = set()
    for order in (draft, confirmed):
        for token in intruders:
            assert other_shop.order(order["id"], token) is None
            for name, variables in every_mutation(order["id"], order["total"]["amount"]):
                codes.add((name, token == other_shop.staff, answers_as_if_missing(other_shop, name, token, variables)))
    assert ("cancelOrder", True, "NOT_FOUND") in codes and ("confirmOrder", True, "NOT_FOUND") in codes
    for token in intruders:
        page = other_shop.gql.execute(ORDERS, {}, token=token)["orders"]
        assert page["totalCount"] == 0 and page["edges"] == []
        page = other_shop.gql.execute(ORDERS, {"search": "ada"}, token=token)["orders"]
        assert page["totalCount"] == 0
    assert {o["status"] for o in (shop.order(x["id"], shop.staff) for x in (draft, placed, confirmed))} == {
        "DRAFT",
        "PENDING",
        "CONFIRMED",
    }


def test_each_tenant_prices_numbers_and_counts_coupons_on_its_own(shop, other_shop):
    mine = shop.placed(
        items=(("mug", 1),),
        couponCodes=["ONCE"],
        shippingOptions=[{"vendorId": "acme", "shippingOptionId": "acme-std"}],
    )
    theirs = other_shop.placed(
        items=(("mug", 1),),
        couponCodes=["ONCE"],
        shippingOptions=[{"vendorId": "acme", "shippingOptionId": "acme-std"}],
    )
    assert mine["number"] == theirs["number"] == "1001"
    assert mine["lines"][0]["unitPrice"]["amount"] == "12.50"
    assert theirs["lines"][0]["unitPrice"]["amount"] == "20.00"
    assert sorted(models.CouponUsage.objects.values_list("tenant_id", "code", "used")) == [
        ("tenant-a", "ONCE", 1),
        ("tenant-b", "ONCE", 1),
    ]


def test_idempotency_keys_are_per_tenant(shop, other_shop):
    mine = shop.draft(idempotencyKey="cart-1")
    theirs = other_shop.draft(idempotencyKey="cart-1")
    assert mine["id"] != theirs["id"]
    assert models.Order.objects.filter(tenant_id="tenant-b").count() == 1


def test_a_tenant_cannot_order_another_tenants_products(shop, other_shop):
    ProductSnapshot.objects.filter(tenant_id="tenant-b", product_id="lamp").delete()
    before = db_state()
    payload = other_shop.checkout()
    assert payload["order"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("PRODUCT_UNAVAILABLE", "items[1].productId")]
    assert db_state() == before


def test_vendors_never_see_or_touch_orders_without_their_lines(shop):
    kettle_only = shop.confirmed(items=(("kettle", 1),))
    assert shop.order(kettle_only["id"], shop.globex) is None
    codes = {
        name: answers_as_if_missing(shop, name, shop.globex, variables)
        for name, variables in every_mutation(kettle_only["id"], kettle_only["total"]["amount"])
    }
    assert codes["shipOrder"] == codes["cancelOrder"] == codes["deliverOrder"] == "NOT_FOUND"
    assert codes["confirmOrder"] == "FORBIDDEN", "vendors never confirm, whatever the order"
    assert shop.gql.execute(ORDERS, {}, token=shop.globex)["orders"]["totalCount"] == 0


def test_a_vendor_sees_only_its_own_lines_of_a_shared_order(shop):
    order = shop.confirmed(items=(("mug", 2), ("lamp", 1)), couponCodes=["WELCOME5", "ACME10"])
    globex_lines = [line["id"] for line in shop.order(order["id"], shop.staff)["lines"] if line["vendorId"] == "globex"]
    seen = shop.order(order["id"], shop.acme)
    assert [line["productId"] for line in seen["lines"]] == ["mug"]
    assert [s["vendorId"] for s in seen["shippingOptions"]] == ["acme"]
    assert [c["code"] for c in seen["coupons"]] == ["ACME10"], "tenant-wide coupons are not a vendor's to see"
    assert seen["payment"] is None
    assert seen["subtotal"]["amount"] == "25.00"
    # Acme cannot ship globex's line: to acme it does not exist.
    refused(
        shop,
        "shipOrder",
        shop.acme,
        "NOT_FOUND",
        "lines[0].lineId",
        orderId=order["id"],
        carrier="UPS",
        trackingNumber="t",
        lines=[{"lineId": globex_lines[0], "quantity": 1}],
    )
    shipped = shop.ok("shipOrder", shop.acme, orderId=order["id"], carrier="UPS", trackingNumber="t")
    assert [s["vendorId"] for s in shipped["shipments"]] == ["acme"]
    globex_view = shop.order(order["id"], shop.globex)
    assert globex_view["shipments"] == [], "another vendor's shipments are not shown"
    assert [line["shippedQuantity"] for line in globex_view["lines"]] == [0]
    assert all(
        entry["actor"] in {"cust-1", "staff-1", "acme-user"} for entry in shop.order(order["id"], shop.staff)["history"]
    )
