"""Catalog snapshot rows back into the domain dataclasses they were written from."""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any

from django.db import models

from oms_project.kernel.money import Money
from snapshots.domain.catalog import Coupon, Offer, Product, ShippingOption, Vendor

from .snapshot_writer import MONEY_FIELDS


@cache
def _field_names(cls: type) -> tuple[tuple[str, bool], ...]:
    """(name, is money) of each field of a catalog dataclass."""
    money_fields = MONEY_FIELDS.get(cls.__name__, ())
    return tuple((field.name, field.name in money_fields) for field in dataclasses.fields(cls))


def _from_row(cls: type, row: models.Model) -> Any:
    values: dict[str, Any] = {}
    for name, is_money in _field_names(cls):
        if is_money:
            amount = getattr(row, f"{name}_amount")
            values[name] = None if amount is None else Money(amount, getattr(row, f"{name}_currency"))
        else:
            value = getattr(row, name)
            values[name] = tuple(value) if isinstance(value, list) else value
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
