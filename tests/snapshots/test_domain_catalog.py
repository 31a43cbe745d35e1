"""Catalog snapshot validation in plain Python."""

from __future__ import annotations

from decimal import Decimal

import pytest

from snapshots.domain.catalog import Coupon, Money, Offer, Product, ShippingOption, Vendor
from snapshots.domain.errors import SnapshotInvalid

PRODUCT = {
    "product_id": "p-1",
    "vendor_id": "v-1",
    "sku": "SKU-1",
    "name": "Mug",
    "price": {"amount": "12.50", "currency": "usd"},
    "active": True,
    "version": 1,
}
COUPON = {"code": "save10", "kind": "percent", "value": "10", "active": True, "version": 1}
OFFER = {"offer_id": "o-1", "vendor_id": "v-1", "kind": "percent_off", "value": "15", "active": True, "version": 1}
SHIPPING = {
    "option_id": "s-1",
    "vendor_id": "v-1",
    "name": "Standard",
    "carrier": "DHL",
    "base_cost": {"amount": "4.99", "currency": "EUR"},
    "per_item_cost": {"amount": "1", "currency": "EUR"},
    "countries": ["de", "FR", "DE"],
    "active": True,
    "version": 1,
}
VENDOR = {"vendor_id": "v-1", "name": "Acme", "active": True, "country": "us", "currency": "usd", "version": 1}


def test_valid_snapshots_are_normalised():
    product = Product.create(PRODUCT)
    assert product.price == Money(Decimal("12.50"), "USD")
    assert (product.min_quantity, product.max_quantity, product.attributes) == (1, None, {})
    assert Coupon.create(COUPON).code == "SAVE10"
    assert Offer.create({**OFFER, "kind": "free_shipping", "value": None}).value is None
    assert ShippingOption.create(SHIPPING).countries == ("DE", "FR")
    assert (Vendor.create(VENDOR).country, Vendor.create(VENDOR).currency) == ("US", "USD")


@pytest.mark.parametrize(
    ("factory", "data", "field"),
    [
        (Product.create, {**PRODUCT, "price": {"amount": "-1", "currency": "USD"}}, "price.amount"),
        (Product.create, {**PRODUCT, "price": {"amount": "1"}}, "price.currency"),
        (Product.create, {**PRODUCT, "price": {"amount": 12.5, "currency": "USD"}}, "price.amount"),
        (Product.create, {**PRODUCT, "price": {"amount": "1.23456", "currency": "USD"}}, "price.amount"),
        (Product.create, {**PRODUCT, "price": {"amount": "NaN", "currency": "USD"}}, "price.amount"),
        (Product.create, {**PRODUCT, "price": "12.50"}, "price"),
        (Product.create, {**PRODUCT, "available_quantity": -1}, "available_quantity"),
        (Product.create, {**PRODUCT, "min_quantity": 5, "max_quantity": 2}, "max_quantity"),
        (Product.create, {**PRODUCT, "attributes": []}, "attributes"),
        (Product.create, {**PRODUCT, "sku": ""}, "sku"),
        (Product.create, {**PRODUCT, "active": "yes"}, "active"),
        (Coupon.create, {**COUPON, "kind": "bogo"}, "kind"),
        (Coupon.create, {**COUPON, "value": "101"}, "value"),
        (Coupon.create, {**COUPON, "value": "0"}, "value"),
        (Coupon.create, {**COUPON, "kind": "fixed", "value": "5"}, "currency"),
        (
            Coupon.create,
            {**COUPON, "valid_from": "2026-02-01T00:00:00Z", "valid_until": "2026-01-01T00:00:00Z"},
            "valid_until",
        ),
        (Coupon.create, {**COUPON, "valid_from": "2026-02-01T00:00:00"}, "valid_from"),
        (Coupon.create, {**COUPON, "usage_limit": 0}, "usage_limit"),
        (Offer.create, {**OFFER, "value": None}, "value"),
        (Offer.create, {**OFFER, "product_ids": "p-1"}, "product_ids"),
        (Offer.create, {**OFFER, "priority": "high"}, "priority"),
        (ShippingOption.create, {**SHIPPING, "countries": []}, "countries"),
        (ShippingOption.create, {**SHIPPING, "countries": ["DE", "XX"]}, "countries[1]"),
        (ShippingOption.create, {**SHIPPING, "free_over": {"amount": "50", "currency": "USD"}}, "free_over.currency"),
        (Vendor.create, {**VENDOR, "currency": "dollars"}, "currency"),
        (Vendor.create, {**VENDOR, "country": "USA"}, "country"),
    ],
)
def test_invalid_snapshots_name_the_field(factory, data, field):
    with pytest.raises(SnapshotInvalid) as error:
        factory(data)
    assert error.value.field == field
