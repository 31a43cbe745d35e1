"""Placement never happens at a stale price (issue 22, api.md PRICE_CHANGED): a frozen amount
that is not today's refuses placeOrder, one error per changed amount, with nothing written; the
customer re-prices the draft with updateCheckoutItems and places it at the new total."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal

from ordering.domain.price_check import price_changes
from ordering.infrastructure import models
from snapshots.domain.catalog import Product, ShippingOption
from snapshots.infrastructure.snapshot_writer import OrmSnapshotWriter


def set_price(shop, product_id: str, sku: str, vendor_id: str, amount: str, version: int) -> None:
    OrmSnapshotWriter().upsert(
        shop.tenant.id,
        "product",
        Product.create(
            {
                "product_id": product_id,
                "vendor_id": vendor_id,
                "sku": sku,
                "name": sku,
                "active": True,
                "price": {"amount": amount, "currency": "USD"},
                "version": version,
            }
        ),
    )


def nothing_written(order_id: str, version: int, events: int) -> bool:
    row = models.Order.objects.get(id=order_id)
    return (
        row.status == "DRAFT"
        and row.version == version
        and row.number is None
        and models.OutboxEvent.objects.filter(aggregate_id=order_id).count() == events
    )


def test_a_price_that_went_up_refuses_placement_until_the_draft_is_repriced(shop):
    draft = shop.draft(items=(("kettle", 1), ("lamp", 1)))
    events = models.OutboxEvent.objects.filter(aggregate_id=draft["id"]).count()
    set_price(shop, "kettle", "ACME-KETTLE", "acme", "49.00", 2)
    payload = shop.call("placeOrder", shop.customer, orderId=draft["id"])
    assert payload["order"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("PRICE_CHANGED", "lines[0].unitPrice")]
    assert "49.00 USD" in payload["errors"][0]["message"] and "39.00 USD" in payload["errors"][0]["message"]
    assert nothing_written(draft["id"], draft["version"], events)

    repriced = shop.ok(
        "updateCheckoutItems",
        shop.customer,
        orderId=draft["id"],
        items=[{"productId": "kettle", "quantity": 1}, {"productId": "lamp", "quantity": 1}],
    )
    assert Decimal(repriced["total"]["amount"]) == Decimal(draft["total"]["amount"]) + 10
    placed = shop.ok("placeOrder", shop.customer, orderId=draft["id"])
    assert placed["status"] == "PENDING" and placed["total"] == repriced["total"]


def test_a_price_that_went_down_is_refused_the_same_way(shop):
    draft = shop.draft(items=(("kettle", 1),))
    set_price(shop, "kettle", "ACME-KETTLE", "acme", "29.00", 2)
    payload = shop.call("placeOrder", shop.customer, orderId=draft["id"])
    assert [e["code"] for e in payload["errors"]] == ["PRICE_CHANGED"]
    assert "29.00 USD" in payload["errors"][0]["message"]


def test_every_changed_amount_is_its_own_error(shop):
    draft = shop.draft(items=(("mug", 2), ("lamp", 1)))  # the mugs-2 offer takes 10% off the mugs
    set_price(shop, "mug", "ACME-MUG", "acme", "15.00", 2)  # a new unit price, so a new offer discount
    OrmSnapshotWriter().upsert(
        shop.tenant.id,
        "shipping_option",
        ShippingOption.create(
            {
                "option_id": "globex-std",
                "vendor_id": "globex",
                "name": "Globex standard",
                "carrier": "FedEx",
                "base_cost": {"amount": "9.50", "currency": "USD"},
                "countries": ["US", "GB"],
                "active": True,
                "version": 2,
            }
        ),
    )
    payload = shop.call("placeOrder", shop.customer, orderId=draft["id"])
    fields = [e["field"] for e in payload["errors"]]
    assert {e["code"] for e in payload["errors"]} == {"PRICE_CHANGED"}
    assert fields == ["lines[0].unitPrice", "lines[0].discount", "shippingOptions[globex]"]


def test_the_same_prices_place_as_before(shop):
    placed = shop.placed(items=(("mug", 2), ("lamp", 1)), couponCodes=["WELCOME5"])
    assert placed["status"] == "PENDING"


def reprice(order, cat):
    from datetime import datetime

    from ordering.domain.checkout import price_cart

    return price_cart(
        order.items,
        cat,
        coupon_codes=order.coupon_codes,
        selections=order.selections,
        destination_country=order.shipping_address.country,
        now=datetime.now(UTC),
    )


def test_the_domain_comparison_sees_only_what_changed():
    """Plain domain, no database: the same catalog repeats every amount; a new price is one change."""
    from tests.ordering import domain_fixtures as f

    today = f.catalog()
    order = f.draft(cat=today)
    assert price_changes(order, reprice(order, today)) == []
    dearer = f.catalog(products=[f.product("p1", "v1", price="11.00"), f.product("p2", "v2", price="20.00")])
    changes = price_changes(order, reprice(order, dearer))
    assert [(c.field, str(c.was), str(c.now)) for c in changes] == [("lines[0].unit_price", "10.00 USD", "11.00 USD")]
