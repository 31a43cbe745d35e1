"""Shipments found by tracking number (carriers' updates)."""

from __future__ import annotations

from .. import models


class OrmShipmentFinder:
    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id

    def by_tracking_number(self, tracking_number: str, carrier: str | None) -> list[tuple[str, str]]:
        rows = models.Shipment.objects.filter(tenant_id=self.tenant_id, tracking_number=tracking_number)
        if carrier:
            rows = rows.filter(carrier__iexact=carrier)
        return [(str(o), str(s)) for o, s in rows.order_by("order_id", "id").values_list("order_id", "id")]
