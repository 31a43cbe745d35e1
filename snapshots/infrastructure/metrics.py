"""Stock figures in `/metrics`, read from the product snapshots at scrape time (registered by
`SnapshotsConfig.ready` with the kernel's `collect_at_scrape`)."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily


class StockCollector:
    """Per tenant, over the products with a count (docs/inventory.md): units reserved and not in
    the count yet, units left to sell, products with none left. One scan of the product
    snapshots per scrape."""

    def collect(self):
        from django.db.models import Count, F, Q, Sum, Value
        from django.db.models.functions import Greatest

        from snapshots.infrastructure.models import ProductSnapshot

        left = F("available_quantity") - F("reserved_quantity")
        rows = (
            ProductSnapshot.objects.filter(available_quantity__isnull=False)
            .order_by()
            .values("tenant_id")
            .annotate(
                reserved=Sum("reserved_quantity"),
                sellable=Sum(Greatest(left, Value(0))),
                sold_out=Count("id", filter=Q(available_quantity__lte=F("reserved_quantity"))),
            )
        )
        reserved = GaugeMetricFamily(
            "oms_stock_reserved_units",
            "Units placed orders hold that the inventory count does not include yet.",
            labels=["tenant"],
        )
        sellable = GaugeMetricFamily(
            "oms_stock_sellable_units", "Units left to sell, over products with a count.", labels=["tenant"]
        )
        sold_out = GaugeMetricFamily(
            "oms_products_sold_out", "Products with a count and nothing left to sell.", labels=["tenant"]
        )
        for row in rows:
            reserved.add_metric([row["tenant_id"]], row["reserved"] or 0)
            sellable.add_metric([row["tenant_id"]], row["sellable"] or 0)
            sold_out.add_metric([row["tenant_id"]], row["sold_out"])
        yield from (reserved, sellable, sold_out)
