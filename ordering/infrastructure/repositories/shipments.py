"""Shipments found by tracking number (carriers' updates) or by id (packing slips)."""

from __future__ import annotations

import uuid

from .. import models


class OrmShipmentFinder:
    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id

    def by_tracking_number(self, tracking_number: str, carrier: str | None) -> list[tuple[str, str]]:
        rows = models.Shipment.objects.filter(tenant_id=self.tenant_id, tracking_number=tracking_number)
        if carrier:
            rows = rows.filter(carrier__iexact=carrier)
        return [(str(o), str(s)) for o, s in rows.order_by("order_id", "id").values_list("order_id", "id")]

    def order_of(self, shipment_id: str) -> str | None:
        try:
            key = uuid.UUID(shipment_id)
        except ValueError:
            return None
        order_id = (
            models.Shipment.objects.filter(tenant_id=self.tenant_id, id=key).values_list("order_id", flat=True).first()
        )
        return str(order_id) if order_id is not None else None
