"""Every error code of api.md through /graphql/: each refusal names its code and writes nothing."""

from __future__ import annotations

import pytest

from ordering.infrastructure import models
from snapshots.infrastructure.models import CouponSnapshot, ProductSnapshot, VendorSnapshot

from .conftest import US_ADDRESS


def db_state():
    """Everything a refused mutation could have written."""
    return {
        "orders": list(models.Order.objects.order_by("id").values_list("id", "version", "status", "updated_at")),
        "lines": list(models.OrderLine.objects.order_by("id").values_list("id", "quantity", "shipped_quantity")),
        "shipping": list(models.OrderShipping.objects.order_by("id").values_list("id", "option_id", "cost")),
        "coupons": list(models.OrderCoupon.objects.order_by("id").values_list("id", "code")),
        "history": models.OrderHistoryEntry.objects.count(),
        "shipments": models.Shipment.objects.count(),
        "numbers": list(models.OrderNumberCounter.objects.values_list("tenant_id", "last_number")),
        "coupon_uses": list(models.CouponUsage.objects.values_list("code", "used")),
        "keys": list(models.IdempotencyKey.objects.values_list("key", "order_id")),
    }


def refused(shop, name, token, code, field=None, /, **variables):
    before = db_state()
    payload = shop.call(name, token, **variables)
    assert payload["order"] is None, payload
    assert [e["code"] for e in payload["errors"]] == [code], payload["errors"]
    if field is not None:
        assert payload["errors"][0]["field"] == field
    assert payload["errors"][0]["message"]
    assert db_state() == before, "a refusal wrote something"
    return payload["errors"][0]


def forbidden(shop, name, token, /, **variables):
    before = db_state()
    body = shop.raw(name, token, **variables)
    assert body["data"][name] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert db_state() == before


# -- INVALID ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variables, field",
    [
        ({"items": []}, "items"),
        ({"items": [{"productId": "mug", "quantity": 0}]}, "items[0].quantity"),
        ({"items": [{"productId": "mug", "quantity": -1}]}, "items[0].quantity"),
        ({"items": [{"productId": "mug", "quantity": 1}, {"productId": "mug", "quantity": 1}]}, "items[1].productId"),
        ({"shippingAddress": {**US_ADDRESS, "country": "ZZ"}}, "shippingAddress.country"),
        ({"shippingAddress": {**US_ADDRESS, "city": "  "}}, "shippingAddress.city"),
        ({"customer": {"email": "not-an-email", "firstName": "A", "lastName": "B"}}, "customer.email"),
        ({"idempotencyKey": "   "}, "idempotencyKey"),
        ({"couponCodes": [""]}, "couponCodes[0]"),
        (
            {
                "shippingOptions": [
                    {"vendorId": "acme", "shippingOptionId": "acme-std"},
                    {"vendorId": "acme", "shippingOptionId": "acme-us-only"},
                ]
            },
            "shippingOptions[1].vendorId",
        ),
    ],
)
def test_checkout_input_is_invalid(shop, variables, field):
    before = db_state()
    payload = shop.checkout(**variables)
    assert payload["order"] is None
    assert payload["errors"] == [{"field": field, "code": "INVALID", "message": payload["errors"][0]["message"]}]
    assert db_state() == before


def test_graphql_type_errors_are_refused_before_anything_runs(shop):
    before = db_state()
    body = shop.gql.post(
        'mutation { checkoutItems(items: [{productId: "mug", quantity: "two"}], '
        'shippingAddress: {line1: "x", city: "y", postalCode: "1", country: "US"}) { order { id } } }',
        token=shop.customer,
    ).json()
    assert (body["errors"] and "data" not in body) or body.get("data") is None
    assert db_state() == before


def test_payment_and_shipment_input_is_invalid(shop):
    order = shop.placed(items=(("kettle", 1),))
    for amount in ("abc", "-5", "1.001", "NaN"):
        refused(
            shop,
            "confirmOrder",
            shop.staff,
            "INVALID",
            "payment.amount",
            orderId=order["id"],
            payment={"method": "card", "reference": "r", "amount": amount},
        )
    refused(
        shop,
        "confirmOrder",
        shop.staff,
        "INVALID",
        "payment.method",
        orderId=order["id"],
        payment={"method": " ", "reference": "r", "amount": order["total"]["amount"]},
    )
    confirmed = shop.ok(
        "confirmOrder",
        shop.staff,
        orderId=order["id"],
        payment={"method": "card", "reference": "r", "amount": order["total"]["amount"]},
    )
    line = confirmed["lines"][0]["id"]
    refused(
        shop, "shipOrder", shop.acme, "INVALID", "trackingNumber", orderId=order["id"], carrier="UPS", trackingNumber=""
    )
    refused(
        shop,
        "shipOrder",
        shop.acme,
        "INVALID",
        "lines[0].quantity",
        orderId=order["id"],
        carrier="UPS",
        trackingNumber="t",
        lines=[{"lineId": line, "quantity": 2}],
    )
    refused(
        shop,
        "shipOrder",
        shop.acme,
        "NOT_FOUND",
        "lines[0].lineId",
        orderId=order["id"],
        carrier="UPS",
        trackingNumber="t",
        lines=[{"lineId": "no-such-line", "quantity": 1}],
    )
    refused(shop, "cancelOrder", shop.staff, "INVALID", "reason", orderId=order["id"], reason=" ")


# -- snapshot-driven refusals -----------------------------------------------------------------


def test_product_vendor_quantity_and_stock(shop):
    refused(
        shop,
        "checkoutItems",
        shop.customer,
        "PRODUCT_UNAVAILABLE",
        "items[1].productId",
        items=[{"productId": "mug", "quantity": 1}, {"productId": "ghost", "quantity": 1}],
        shippingAddress=US_ADDRESS,
    )
    refused(
        shop,
        "checkoutItems",
        shop.customer,
        "QUANTITY_LIMIT",
        "items[0].quantity",
        items=[{"productId": "mug", "quantity": 21}],
        shippingAddress=US_ADDRESS,
    )
    ProductSnapshot.objects.filter(product_id="mug").update(available_quantity=1)
    refused(
        shop,
        "checkoutItems",
        shop.customer,
        "OUT_OF_STOCK",
        "items[0].quantity",
        items=[{"productId": "mug", "quantity": 2}],
        shippingAddress=US_ADDRESS,
    )
    ProductSnapshot.objects.filter(product_id="kettle").update(active=False)
    refused(
        shop,
        "checkoutItems",
        shop.customer,
        "PRODUCT_UNAVAILABLE",
        "items[0].productId",
        items=[{"productId": "kettle", "quantity": 1}],
        shippingAddress=US_ADDRESS,
    )
    VendorSnapshot.objects.filter(vendor_id="globex").update(active=False)
    refused(
        shop,
        "checkoutItems",
        shop.customer,
        "VENDOR_UNAVAILABLE",
        "items[0].productId",
        items=[{"productId": "lamp", "quantity": 1}],
        shippingAddress=US_ADDRESS,
    )


@pytest.mark.parametrize(
    "change, code",
    [
        (lambda: ProductSnapshot.objects.filter(product_id="lamp").update(active=False), "PRODUCT_UNAVAILABLE"),
        (lambda: VendorSnapshot.objects.filter(vendor_id="globex").update(active=False), "VENDOR_UNAVAILABLE"),
        (lambda: ProductSnapshot.objects.filter(product_id="mug").update(max_quantity=1), "QUANTITY_LIMIT"),
        (lambda: ProductSnapshot.objects.filter(product_id="mug").update(available_quantity=1), "OUT_OF_STOCK"),
        (lambda: CouponSnapshot.objects.filter(code="WELCOME5").update(active=False), "COUPON_INVALID"),
    ],
)
def test_placing_rechecks_the_draft_against_todays_snapshots(shop, change, code):
    order = shop.draft(items=(("mug", 2), ("lamp", 1)), couponCodes=["WELCOME5"])
    change()
    refused(shop, "placeOrder", shop.customer, code, orderId=order["id"])
    assert shop.order(order["id"], shop.customer)["status"] == "DRAFT"


def test_coupons(shop):
    refused(
        shop,
        "checkoutItems",
        shop.customer,
        "COUPON_INVALID",
        "couponCodes[0]",
        items=[{"productId": "kettle", "quantity": 1}],
        shippingAddress=US_ADDRESS,
        couponCodes=["NOPE"],
    )
    refused(
        shop,
        "checkoutItems",
        shop.customer,
        "COUPON_INVALID",
        "couponCodes",
        items=[{"productId": "mug", "quantity": 1}],
        shippingAddress=US_ADDRESS,
        couponCodes=["WELCOME5"],
    )
    order = shop.draft(items=(("mug", 1),), shippingOptions=[])
    refused(shop, "applyCoupon", shop.customer, "COUPON_INVALID", "code", orderId=order["id"], code="WELCOME5")
    refused(shop, "applyCoupon", shop.customer, "COUPON_INVALID", "code", orderId=order["id"], code="NOPE")
    refused(shop, "removeCoupon", shop.customer, "NOT_FOUND", "code", orderId=order["id"], code="ACME10")
    applied = shop.ok("applyCoupon", shop.customer, orderId=order["id"], code="ACME10")
    refused(shop, "applyCoupon", shop.customer, "INVALID", "code", orderId=order["id"], code="ACME10")
    assert applied["coupons"][0]["code"] == "ACME10"


def test_a_coupon_with_a_usage_limit_is_counted_when_placed(shop):
    first = shop.draft(items=(("kettle", 1),), couponCodes=["ONCE"])
    second = shop.draft(items=(("kettle", 1),), couponCodes=["ONCE"])
    shop.ok("placeOrder", shop.customer, orderId=first["id"])
    assert list(models.CouponUsage.objects.values_list("code", "used")) == [("ONCE", 1)]
    refused(shop, "placeOrder", shop.customer, "COUPON_EXHAUSTED", "couponCodes[0]", orderId=second["id"])
    refused(
        shop,
        "checkoutItems",
        shop.customer,
        "COUPON_EXHAUSTED",
        "couponCodes[0]",
        items=[{"productId": "kettle", "quantity": 1}],
        shippingAddress=US_ADDRESS,
        couponCodes=["ONCE"],
    )
    third = shop.draft(items=(("kettle", 1),))
    refused(shop, "applyCoupon", shop.customer, "COUPON_EXHAUSTED", "code", orderId=third["id"], code="ONCE")


def test_shipping_options(shop):
    refused(
        shop,
        "checkoutItems",
        shop.customer,
        "SHIPPING_OPTION_UNAVAILABLE",
        "shippingOptions",
        items=[{"productId": "mug", "quantity": 1}],
        shippingAddress=US_ADDRESS,
        shippingOptions=[{"vendorId": "acme", "shippingOptionId": "globex-std"}],
    )
    refused(
        shop,
        "checkoutItems",
        shop.customer,
        "SHIPPING_OPTION_UNAVAILABLE",
        "shippingAddress.country",
        items=[{"productId": "lamp", "quantity": 1}],
        shippingAddress={**US_ADDRESS, "country": "FR"},
        shippingOptions=[{"vendorId": "globex", "shippingOptionId": "globex-std"}],
    )
    order = shop.draft(items=(("mug", 1),))
    refused(
        shop,
        "selectShippingOption",
        shop.customer,
        "SHIPPING_OPTION_UNAVAILABLE",
        "shippingOptionId",
        orderId=order["id"],
        vendorId="acme",
        shippingOptionId="nope",
    )
    refused(
        shop,
        "selectShippingOption",
        shop.customer,
        "INVALID",
        "vendorId",
        orderId=order["id"],
        vendorId="globex",
        shippingOptionId="globex-std",
    )
    gb = shop.ok(
        "changeDestination", shop.customer, orderId=order["id"], shippingAddress={**US_ADDRESS, "country": "GB"}
    )
    refused(
        shop,
        "selectShippingOption",
        shop.customer,
        "SHIPPING_OPTION_UNAVAILABLE",
        "shippingOptionId",
        orderId=gb["id"],
        vendorId="acme",
        shippingOptionId="acme-us-only",
    )


def test_one_currency_per_order(shop):
    from snapshots.domain.catalog import Product
    from snapshots.infrastructure.snapshot_writer import OrmSnapshotWriter

    OrmSnapshotWriter().upsert(
        shop.tenant.id,
        "product",
        Product.create(
            {
                "product_id": "euro-mug",
                "vendor_id": "acme",
                "sku": "EU-MUG",
                "name": "Euro mug",
                "price": {"amount": "11.00", "currency": "EUR"},
                "active": True,
                "version": 1,
            }
        ),
    )
    refused(
        shop,
        "checkoutItems",
        shop.customer,
        "CURRENCY_MISMATCH",
        items=[{"productId": "mug", "quantity": 1}, {"productId": "euro-mug", "quantity": 1}],
        shippingAddress=US_ADDRESS,
    )


def test_payment_must_match_the_total(shop):
    order = shop.placed(items=(("kettle", 1),))
    refused(
        shop,
        "confirmOrder",
        shop.staff,
        "PAYMENT_MISMATCH",
        "payment.amount",
        orderId=order["id"],
        payment={"method": "card", "reference": "r", "amount": "1.00"},
    )


# -- lifecycle refusals -----------------------------------------------------------------------


def test_invalid_transitions(shop):
    draft = shop.draft(items=(("kettle", 1),))
    refused(
        shop,
        "confirmOrder",
        shop.staff,
        "INVALID_TRANSITION",
        orderId=draft["id"],
        payment={"method": "card", "reference": "r", "amount": draft["total"]["amount"]},
    )
    refused(shop, "shipOrder", shop.staff, "INVALID_TRANSITION", orderId=draft["id"], carrier="UPS", trackingNumber="t")
    placed = shop.ok("placeOrder", shop.customer, orderId=draft["id"])
    refused(shop, "placeOrder", shop.customer, "INVALID_TRANSITION", orderId=placed["id"])
    refused(
        shop,
        "updateCheckoutItems",
        shop.customer,
        "INVALID_TRANSITION",
        orderId=placed["id"],
        items=[{"productId": "kettle", "quantity": 2}],
    )
    refused(shop, "applyCoupon", shop.customer, "INVALID_TRANSITION", orderId=placed["id"], code="ACME10")
    refused(shop, "deliverOrder", shop.staff, "INVALID_TRANSITION", orderId=placed["id"])
    refused(shop, "completeOrder", shop.staff, "INVALID_TRANSITION", orderId=placed["id"])
    confirmed = shop.ok(
        "confirmOrder",
        shop.staff,
        orderId=placed["id"],
        payment={"method": "card", "reference": "r", "amount": placed["total"]["amount"]},
    )
    refused(shop, "cancelOrder", shop.customer, "INVALID_TRANSITION", orderId=confirmed["id"], reason="late")
    shop.ok("shipOrder", shop.acme, orderId=confirmed["id"], carrier="UPS", trackingNumber="t")
    refused(shop, "cancelOrder", shop.staff, "INVALID_TRANSITION", orderId=confirmed["id"], reason="late")
    refused(
        shop, "shipOrder", shop.acme, "INVALID_TRANSITION", orderId=confirmed["id"], carrier="UPS", trackingNumber="t"
    )


def test_stale_expected_version_is_a_conflict_for_every_mutation(shop):
    draft = shop.draft(items=(("kettle", 1),))
    order_id = draft["id"]
    stale = {"orderId": order_id, "expectedVersion": 99}
    for name, extra in [
        ("updateCheckoutItems", {"items": [{"productId": "kettle", "quantity": 2}]}),
        ("changeDestination", {"shippingAddress": US_ADDRESS}),
        ("selectShippingOption", {"vendorId": "acme", "shippingOptionId": "acme-std"}),
        ("applyCoupon", {"code": "ACME10"}),
        ("removeCoupon", {"code": "ACME10"}),
        ("placeOrder", {}),
        ("cancelOrder", {"reason": "r"}),
    ]:
        refused(shop, name, shop.customer, "CONFLICT", "expectedVersion", **stale, **extra)
    placed = shop.ok("placeOrder", shop.customer, orderId=order_id, expectedVersion=1)
    refused(
        shop,
        "confirmOrder",
        shop.staff,
        "CONFLICT",
        **stale,
        payment={"method": "card", "reference": "r", "amount": placed["total"]["amount"]},
    )
    shop.ok(
        "confirmOrder",
        shop.staff,
        orderId=order_id,
        payment={"method": "card", "reference": "r", "amount": placed["total"]["amount"]},
    )
    refused(shop, "shipOrder", shop.acme, "CONFLICT", **stale, carrier="UPS", trackingNumber="t")
    shop.ok("shipOrder", shop.acme, orderId=order_id, carrier="UPS", trackingNumber="t")
    refused(shop, "deliverOrder", shop.staff, "CONFLICT", **stale)
    shop.ok("deliverOrder", shop.staff, orderId=order_id)
    refused(shop, "completeOrder", shop.staff, "CONFLICT", **stale)


# -- roles ------------------------------------------------------------------------------------


def test_roles_that_may_never_do_an_action_get_forbidden(shop):
    forbidden(shop, "checkoutItems", shop.acme, items=[{"productId": "mug", "quantity": 1}], shippingAddress=US_ADDRESS)
    forbidden(
        shop, "checkoutItems", shop.staff, items=[{"productId": "mug", "quantity": 1}], shippingAddress=US_ADDRESS
    )
    draft = shop.draft()
    forbidden(shop, "placeOrder", shop.staff, orderId=draft["id"])
    forbidden(shop, "updateCheckoutItems", shop.staff, orderId=draft["id"], items=[{"productId": "mug", "quantity": 2}])
    placed = shop.ok("placeOrder", shop.customer, orderId=draft["id"])
    payment = {"method": "card", "reference": "r", "amount": placed["total"]["amount"]}
    forbidden(shop, "confirmOrder", shop.customer, orderId=placed["id"], payment=payment)
    forbidden(shop, "confirmOrder", shop.acme, orderId=placed["id"], payment=payment)
    shop.ok("confirmOrder", shop.staff, orderId=placed["id"], payment=payment)
    forbidden(shop, "shipOrder", shop.customer, orderId=placed["id"], carrier="UPS", trackingNumber="t")
    forbidden(shop, "cancelOrder", shop.acme, orderId=placed["id"], reason="globex has a line too")
    # Access is checked before the version (order_change.change_order): a stale version does not
    # tell a caller who may not cancel anything about the order.
    forbidden(shop, "cancelOrder", shop.acme, orderId=placed["id"], reason="stale too", expectedVersion=1)
    shop.ok("shipOrder", shop.acme, orderId=placed["id"], carrier="UPS", trackingNumber="t")
    shop.ok("shipOrder", shop.globex, orderId=placed["id"], carrier="UPS", trackingNumber="u")
    forbidden(shop, "deliverOrder", shop.acme, orderId=placed["id"])
    forbidden(shop, "deliverOrder", shop.customer, orderId=placed["id"])
    shop.ok("deliverOrder", shop.staff, orderId=placed["id"])
    forbidden(shop, "completeOrder", shop.acme, orderId=placed["id"])
    forbidden(shop, "completeOrder", shop.customer, orderId=placed["id"])


def test_orders_the_caller_may_not_see_are_not_found(shop):
    draft = shop.draft()
    for token in (shop.other_customer, shop.acme, shop.globex):  # vendors do not see carts
        refused(
            shop,
            "updateCheckoutItems",
            token,
            "NOT_FOUND",
            "orderId",
            orderId=draft["id"],
            items=[{"productId": "mug", "quantity": 2}],
        )
        refused(shop, "cancelOrder", token, "NOT_FOUND", "orderId", orderId=draft["id"], reason="r")
    for missing in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        refused(shop, "placeOrder", shop.customer, "NOT_FOUND", "orderId", orderId=missing)
        refused(shop, "cancelOrder", shop.staff, "NOT_FOUND", "orderId", orderId=missing, reason="r")
        assert shop.order(missing, shop.staff) is None
