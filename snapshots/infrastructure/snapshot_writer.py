"""SnapshotWriter over the ORM: one table per kind, keyed by (tenant, upstream id)."""

from __future__ import annotations

from typing import Any

from django.db import models

from snapshots.domain.catalog import Money

from .models import (
    CouponSnapshot,
    CustomerAddressSnapshot,
    CustomerDetailsSnapshot,
    OfferSnapshot,
    ProductSnapshot,
    ShippingOptionSnapshot,
    UserAuthorizationSnapshot,
    VendorSnapshot,
)

TABLES: dict[str, tuple[type[models.Model], str]] = {
    "customer": (CustomerDetailsSnapshot, "user_id"),
    "customer_address": (CustomerAddressSnapshot, "address_id"),
    "user_authorization": (UserAuthorizationSnapshot, "user_id"),
    "vendor": (VendorSnapshot, "vendor_id"),
    "product": (ProductSnapshot, "product_id"),
    "coupon": (CouponSnapshot, "code"),
    "offer": (OfferSnapshot, "offer_id"),
    "shipping_option": (ShippingOptionSnapshot, "option_id"),
}


def row_values(snapshot: Any) -> dict[str, Any]:
    """Columns of a snapshot: Money becomes `<name>_amount` and `<name>_currency`."""
    values: dict[str, Any] = {}
    for name, value in snapshot.__dict__.items():
        if name in MONEY_FIELDS.get(type(snapshot).__name__, ()):
            values[f"{name}_amount"] = value.amount if isinstance(value, Money) else None
            values[f"{name}_currency"] = value.currency if isinstance(value, Money) else ""
        else:
            values[name] = list(value) if isinstance(value, tuple) else value
    return values


MONEY_FIELDS = {
    "Product": ("price",),
    "Coupon": ("min_subtotal",),
    "ShippingOption": ("base_cost", "per_item_cost", "free_over"),
}


class OrmSnapshotWriter:
    def locked_version(self, tenant_id: str, kind: str, key: str) -> int | None:
        model, key_field = TABLES[kind]
        return (
            model.objects.select_for_update()
            .filter(tenant_id=tenant_id, **{key_field: key})
            .values_list("version", flat=True)
            .first()
        )

    def upsert(self, tenant_id: str, kind: str, snapshot: Any) -> None:
        model, key_field = TABLES[kind]
        values = row_values(snapshot)
        model.objects.bulk_create(
            [model(tenant_id=tenant_id, **values)],
            update_conflicts=True,
            unique_fields=["tenant", key_field],
            update_fields=[name for name in values if name != key_field] + ["updated_at"],
        )

    def delete(self, tenant_id: str, kind: str, key: str) -> None:
        model, key_field = TABLES[kind]
        model.objects.filter(tenant_id=tenant_id, **{key_field: key}).delete()
