"""Catalog snapshot rows back into the domain dataclasses they were written from."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.db import models

from snapshots.domain.catalog import Coupon, Offer, Product, ShippingOption, Vendor
from snapshots.domain.money import Money

from .snapshot_writer import MONEY_FIELDS


def _from_row(cls: type, row: models.Model) -> Any:
    money_fields = MONEY_FIELDS.get(cls.__name__, ())
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if field.name in money_fields:
            amount = getattr(row, f"{field.name}_amount")
            values[field.name] = None if amount is None else Money(amount, getattr(row, f"{field.name}_currency"))
        else:
            value = getattr(row, field.name)
            values[field.name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def vendor_from_row(row: models.Model) -> Vendor:
    return _from_row(Vendor, row)


def product_from_row(row: models.Model) -> Product:
    return _from_row(Product, row)


def coupon_from_row(row: models.Model) -> Coupon:
    return _from_row(Coupon, row)


def offer_from_row(row: models.Model) -> Offer:
    return _from_row(Offer, row)


def shipping_option_from_row(row: models.Model) -> ShippingOption:
    return _from_row(ShippingOption, row)
