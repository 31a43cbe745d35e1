"""Catalog snapshot types through the signed webhook endpoint."""

from __future__ import annotations

from decimal import Decimal

import pytest

from snapshots.infrastructure.models import (
    CouponSnapshot,
    OfferSnapshot,
    ProductSnapshot,
    ShippingOptionSnapshot,
    VendorSnapshot,
)
from tests.snapshots.test_domain_catalog import COUPON, OFFER, PRODUCT, SHIPPING, VENDOR

TABLES = [VendorSnapshot, ProductSnapshot, CouponSnapshot, OfferSnapshot, ShippingOptionSnapshot]


def test_every_catalog_kind_is_applied(sender, tenant):
    for kind, data in [
        ("vendor", VENDOR),
        ("product", PRODUCT),
        ("coupon", COUPON),
        ("offer", OFFER),
        ("shipping_option", SHIPPING),
    ]:
        response = sender.post({"type": f"{kind}.upserted", "data": data})
        assert response.status_code == 204, (kind, response.content)

    product = ProductSnapshot.objects.get(tenant=tenant, product_id="p-1")
    assert (product.price_amount, product.price_currency) == (Decimal("12.5"), "USD")
    shipping = ShippingOptionSnapshot.objects.get(tenant=tenant, option_id="s-1")
    assert (shipping.countries, shipping.per_item_cost_amount, shipping.free_over_amount) == (
        ["DE", "FR"],
        Decimal("1"),
        None,
    )
    assert CouponSnapshot.objects.get(tenant=tenant).code == "SAVE10"
    assert OfferSnapshot.objects.get(tenant=tenant).value == Decimal("15")
    assert VendorSnapshot.objects.get(tenant=tenant).currency == "USD"


def test_product_update_delete_and_stale(sender, tenant):
    sender.post({"type": "product.upserted", "data": {**PRODUCT, "version": 2, "name": "Big mug"}})
    assert sender.post({"type": "product.upserted", "data": {**PRODUCT, "version": 1}})["X-Webhook-Outcome"] == "stale"
    assert ProductSnapshot.objects.get().name == "Big mug"
    sender.post({"type": "coupon.upserted", "data": COUPON})
    assert sender.post({"type": "coupon.deleted", "data": {"code": "save10", "version": 1}}).status_code == 204
    assert sender.post({"type": "product.deleted", "data": {"product_id": "p-1", "version": 3}}).status_code == 204
    assert not ProductSnapshot.objects.exists() and not CouponSnapshot.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**PRODUCT, "price": {"amount": "-0.01", "currency": "USD"}}, "price.amount"),
        ({**PRODUCT, "price": {"amount": "9.99"}}, "price.currency"),
    ],
    ids=["negative-price", "no-currency"],
)
def test_bad_product_gets_400_and_writes_nothing(sender, data, field):
    response = sender.post({"type": "product.upserted", "data": data})
    assert response.status_code == 400
    assert response.json() == {"code": "INVALID", "message": response.json()["message"], "field": field}
    assert not any(model.objects.exists() for model in TABLES)
