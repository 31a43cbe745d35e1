"""`idempotencyKey` on checkoutItems and placeOrder (product.md, "API conventions")."""

from __future__ import annotations

from ordering.infrastructure import models
from snapshots.infrastructure.models import ProductSnapshot

from .conftest import US_ADDRESS
from .test_api_refusals import db_state, refused


def test_checkout_with_the_same_key_and_input_returns_the_first_order(shop):
    first = shop.draft(idempotencyKey="cart-42")
    before = db_state()
    again = shop.draft(idempotencyKey="cart-42")
    assert again == first
    assert db_state() == before
    assert models.Order.objects.count() == 1
    assert list(models.IdempotencyKey.objects.values_list("user_id", "operation", "key")) == [
        ("cust-1", "checkoutItems", "cart-42")
    ]


def test_a_replay_returns_the_orders_current_state(shop):
    first = shop.draft(idempotencyKey="cart-42")
    shop.ok("placeOrder", shop.customer, orderId=first["id"])
    again = shop.draft(idempotencyKey="cart-42")
    assert again["id"] == first["id"]
    assert again["status"] == "PENDING"
    assert models.Order.objects.count() == 1


def test_checkout_with_the_same_key_and_other_input_is_refused(shop):
    shop.draft(idempotencyKey="cart-42")
    refused(
        shop,
        "checkoutItems",
        shop.customer,
        "IDEMPOTENCY_KEY_REUSED",
        "idempotencyKey",
        items=[{"productId": "mug", "quantity": 3}],
        shippingAddress=US_ADDRESS,
        idempotencyKey="cart-42",
    )
    assert models.Order.objects.count() == 1


def test_keys_belong_to_one_customer(shop):
    mine = shop.draft(idempotencyKey="cart-42")
    payload = shop.checkout(token=shop.other_customer, idempotencyKey="cart-42")
    assert payload["errors"] == []
    assert payload["order"]["id"] != mine["id"]
    assert payload["order"]["customer"]["userId"] == "cust-2"
    assert models.Order.objects.count() == 2


def test_a_refused_attempt_does_not_use_up_the_key(shop):
    ProductSnapshot.objects.filter(product_id="lamp").update(active=False)
    refused(
        shop,
        "checkoutItems",
        shop.customer,
        "PRODUCT_UNAVAILABLE",
        "items[1].productId",
        items=[{"productId": "mug", "quantity": 1}, {"productId": "lamp", "quantity": 1}],
        shippingAddress=US_ADDRESS,
        idempotencyKey="cart-42",
    )
    ProductSnapshot.objects.filter(product_id="lamp").update(active=True)
    order = shop.draft(idempotencyKey="cart-42")
    assert order["status"] == "DRAFT"


def test_place_with_the_same_key_returns_the_placed_order_once(shop):
    draft = shop.draft()
    placed = shop.ok("placeOrder", shop.customer, orderId=draft["id"], idempotencyKey="place-1")
    before = db_state()
    again = shop.ok("placeOrder", shop.customer, orderId=draft["id"], idempotencyKey="place-1")
    assert again == placed
    assert db_state() == before
    assert placed["number"] == "1001"
    assert list(models.OrderNumberCounter.objects.values_list("last_number", flat=True)) == [1]
    # Without the key, placing twice is a refused transition, not a second number.
    refused(shop, "placeOrder", shop.customer, "INVALID_TRANSITION", orderId=draft["id"])


def test_place_with_the_same_key_for_another_order_is_refused(shop):
    first = shop.draft()
    second = shop.draft()
    shop.ok("placeOrder", shop.customer, orderId=first["id"], idempotencyKey="place-1")
    refused(
        shop,
        "placeOrder",
        shop.customer,
        "IDEMPOTENCY_KEY_REUSED",
        "idempotencyKey",
        orderId=second["id"],
        idempotencyKey="place-1",
    )
    assert shop.order(second["id"], shop.customer)["status"] == "DRAFT"


def test_one_key_may_name_a_checkout_and_a_placement(shop):
    draft = shop.draft(idempotencyKey="k")
    placed = shop.ok("placeOrder", shop.customer, orderId=draft["id"], idempotencyKey="k")
    assert placed["status"] == "PENDING"


def test_a_key_is_at_most_255_characters(shop):
    refused(
        shop,
        "checkoutItems",
        shop.customer,
        "INVALID",
        "idempotencyKey",
        items=[{"productId": "mug", "quantity": 1}],
        shippingAddress=US_ADDRESS,
        idempotencyKey="k" * 256,
    )
    draft = shop.draft()
    refused(
        shop, "placeOrder", shop.customer, "INVALID", "idempotencyKey", orderId=draft["id"], idempotencyKey="k" * 256
    )
