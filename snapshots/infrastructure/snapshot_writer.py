"""SnapshotWriter over the ORM: one table per kind, keyed by (tenant, upstream id)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from oms_project.kernel.money import Money
from oms_project.kernel.tenancy import tenant_transaction
from snapshots.domain.customers import is_newer

from . import stock
from .models import (
    CouponSnapshot,
    CustomerAddressSnapshot,
    CustomerDetailsSnapshot,
    OfferSnapshot,
    PaymentOptionSnapshot,
    ProductSnapshot,
    ShippingOptionSnapshot,
    TaxOptionSnapshot,
    TenantWorkflowSnapshot,
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
    "tenant_workflow": (TenantWorkflowSnapshot, "workflow_key"),
    "tax_option": (TaxOptionSnapshot, "tax_key"),
    "payment_option": (PaymentOptionSnapshot, "option_id"),
}


# Fields the OMS keeps itself: an upstream snapshot never writes them.
OWN_FIELDS = frozenset({"reserved_quantity"})


def row_values(snapshot: Any) -> dict[str, Any]:
    """Columns of a snapshot: Money becomes `<name>_amount` and `<name>_currency`."""
    values: dict[str, Any] = {}
    for name, value in snapshot.__dict__.items():
        if name in OWN_FIELDS:
            continue
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
        self._upsert_rows(tenant_id, kind, [snapshot])

    def atomic(self, tenant_id: str):
        return tenant_transaction(tenant_id)

    def bulk_upsert(self, tenant_id: str, kind: str, snapshots: list[Any]) -> tuple[int, int]:
        """One query for the stored versions (rows locked), one INSERT ... ON CONFLICT UPDATE."""
        model, key_field = TABLES[kind]
        # In key order, the order placements lock products in (no deadlock between the two).
        snapshots = sorted(snapshots, key=lambda s: getattr(s, key_field))
        keys = [getattr(s, key_field) for s in snapshots]
        stored = dict(
            model.objects.select_for_update()
            .filter(tenant_id=tenant_id, **{f"{key_field}__in": keys})
            .order_by(key_field)
            .values_list(key_field, "version")
        )
        fresh = [s for s in snapshots if is_newer(s.version, stored.get(getattr(s, key_field)))]
        if fresh:
            self._upsert_rows(tenant_id, kind, fresh)
        return len(fresh), len(snapshots) - len(fresh)

    def _upsert_rows(self, tenant_id: str, kind: str, snapshots: list[Any]) -> None:
        model, key_field = TABLES[kind]
        rows = [row_values(snapshot) for snapshot in snapshots]
        if kind == "product":  # the count's own stock columns (docs/inventory.md)
            now = timezone.now()
            rows = [{**values, **stock.count_columns(snapshot.as_of, now)} for values, snapshot in zip(rows, snapshots)]
        model.objects.bulk_create(
            [model(tenant_id=tenant_id, **values) for values in rows],
            update_conflicts=True,
            unique_fields=["tenant", key_field],
            update_fields=[name for name in rows[0] if name != key_field] + ["updated_at"],
        )
        if kind == "product":
            stock.recount(
                tenant_id,
                [snapshot.product_id for snapshot in snapshots],
                min(values["counted_until"] for values in rows),
            )
        _invalidate(tenant_id, kind, [getattr(snapshot, key_field) for snapshot in snapshots])

    def delete(self, tenant_id: str, kind: str, key: str) -> None:
        model, key_field = TABLES[kind]
        model.objects.filter(tenant_id=tenant_id, **{key_field: key}).delete()
        _invalidate(tenant_id, kind, [key])


def _invalidate(tenant_id: str, kind: str, keys: list[str]) -> None:
    """A written authorization snapshot must not be served from the authentication cache."""
    if kind != "user_authorization":
        return
    from .customer_store import AUTHORIZATIONS

    if len(keys) > 100:
        AUTHORIZATIONS.invalidate()
    else:
        for key in keys:
            AUTHORIZATIONS.invalidate((tenant_id, key))
