"""The tenant's sales channels and the snapshots an import is checked against, over the ORM; the
same adapter is the registry `manage.py channels` manages them with."""

from __future__ import annotations

from django.db.models import Q

from ordering.domain.intake import SalesChannel
from snapshots.infrastructure.models import ProductSnapshot, VendorSnapshot

from . import models


class OrmSalesChannels:
    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id

    def channel(self, channel_id: str) -> SalesChannel | None:
        row = models.SalesChannel.objects.filter(tenant_id=self.tenant_id, channel_id=channel_id).first()
        return None if row is None else _channel(row)

    def all(self) -> list[SalesChannel]:
        return [
            _channel(row) for row in models.SalesChannel.objects.filter(tenant_id=self.tenant_id).order_by("channel_id")
        ]

    def add(self, channel: SalesChannel) -> None:
        models.SalesChannel.objects.create(
            tenant_id=self.tenant_id,
            channel_id=channel.channel_id,
            kind=channel.kind,
            accept_any_vendor=channel.accept_any_vendor,
            active=channel.active,
        )

    def revoke(self, channel_id: str) -> None:
        models.SalesChannel.objects.filter(tenant_id=self.tenant_id, channel_id=channel_id).update(active=False)

    def known_vendors(self, vendor_ids: set[str]) -> set[str] | None:
        vendors = VendorSnapshot.objects.filter(tenant_id=self.tenant_id)
        known = set(vendors.filter(vendor_id__in=vendor_ids).values_list("vendor_id", flat=True))
        if known or vendors.exists():
            return known
        return None

    def products(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
        if not keys:
            return {}
        wanted = Q()
        for vendor_id, sku in keys:
            wanted |= Q(vendor_id=vendor_id, sku=sku)
        rows = ProductSnapshot.objects.filter(wanted, tenant_id=self.tenant_id).values_list(
            "vendor_id", "sku", "product_id"
        )
        return {(vendor_id, sku): product_id for vendor_id, sku, product_id in rows}

    def order_of(self, channel_id: str, external_reference: str) -> str | None:
        found = (
            models.Order.objects.filter(
                tenant_id=self.tenant_id, channel=channel_id, external_reference=external_reference
            )
            .values_list("id", flat=True)
            .first()
        )
        return None if found is None else str(found)


def _channel(row: models.SalesChannel) -> SalesChannel:
    return SalesChannel(row.channel_id, row.kind, row.accept_any_vendor, row.active)
