"""The dashboard's view of a tenant's stock, from the product snapshots (`StockReport`)."""

from __future__ import annotations

from django.db.models import F, Q

from .models import ProductSnapshot

# The products the partial index `snapshot_product_sold_out` holds: active, with a count, and
# nothing left beyond what placed orders hold (docs/inventory.md).
SOLD_OUT = Q(active=True, available_quantity__lte=F("reserved_quantity"))


class OrmStockReport:
    def sold_out(self, tenant_id: str, limit: int) -> tuple[int, list[tuple[str, str]]]:
        rows = ProductSnapshot.objects.filter(SOLD_OUT, tenant_id=tenant_id)
        first = list(rows.order_by("sku", "id").values_list("sku", "name")[:limit])
        count = len(first) if len(first) < limit else rows.count()
        return count, first

    def product_names(self, tenant_id: str, skus: list[str]) -> dict[str, str]:
        if not skus:
            return {}
        rows = ProductSnapshot.objects.filter(tenant_id=tenant_id, sku__in=skus).order_by("sku", "id")
        names: dict[str, str] = {}
        for sku, name in rows.values_list("sku", "name"):
            names.setdefault(sku, name)
        return names
