"""SnapshotWriter over the ORM: one table per kind, keyed by (tenant, upstream id)."""

from __future__ import annotations

from typing import Any

from django.db import models

from .models import CustomerAddressSnapshot, CustomerDetailsSnapshot, UserAuthorizationSnapshot

TABLES: dict[str, tuple[type[models.Model], str]] = {
    "customer": (CustomerDetailsSnapshot, "user_id"),
    "customer_address": (CustomerAddressSnapshot, "address_id"),
    "user_authorization": (UserAuthorizationSnapshot, "user_id"),
}


def row_values(snapshot: Any) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in snapshot.__dict__.items()}


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
