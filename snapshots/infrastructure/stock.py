"""Sellable stock over `snapshots_product` and `snapshots_stock_reservation` (docs/inventory.md).

A product's sellable quantity is its `available_quantity` (the inventory system's count) less its
`reserved_quantity`: the sum of the reservation changes made after the count. Two writers keep
that sum:

- placements, amendments and cancellations add their change in one conditional UPDATE
  (`reserve_sql`): a reservation only where enough is left, so two buyers of the last unit
  cannot both get it (the second waits on the row lock, then re-reads the row);
- a product snapshot recounts it (`recount`) from the ledger: the changes after its `as_of`,
  or, without one, after `now - OMS_INVENTORY_SYNC_WINDOW`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from snapshots.domain.catalog import sellable as sellable_quantity

from .models import ProductSnapshot, StockReservation

# How long the ledger keeps a change its product's last count already includes (a snapshot that
# comes later with an older `as_of` still finds the changes after it).
LEDGER_KEEP = timedelta(days=7)

_PRODUCT = ProductSnapshot._meta.db_table

# Changes in, as [{"product_id": ..., "quantity": ...}] (sorted by product: rows lock in that
# order); out, the products whose change was made. A reservation (quantity > 0) is made only where
# the product is unlimited or has that much left; a release always is.
_RESERVE_POSTGRESQL = (
    f"UPDATE {_PRODUCT} AS p SET reserved_quantity = p.reserved_quantity + r.quantity "
    "FROM jsonb_to_recordset(%s::jsonb) AS r(product_id text, quantity integer) "
    "WHERE p.tenant_id = %s AND p.product_id = ANY(%s) AND p.product_id = r.product_id "
    "AND (r.quantity < 0 OR p.available_quantity IS NULL "
    "OR p.available_quantity - p.reserved_quantity >= r.quantity) "
    "RETURNING p.product_id"
)
_RESERVE_SQLITE = (
    f"UPDATE {_PRODUCT} SET reserved_quantity = reserved_quantity + r.quantity "
    "FROM (SELECT json_extract(value, '$.product_id') AS product_id, json_extract(value, '$.quantity') AS quantity "
    "FROM json_each(%s)) AS r "
    f"WHERE {_PRODUCT}.tenant_id = %s AND {_PRODUCT}.product_id = r.product_id "
    f"AND (r.quantity < 0 OR {_PRODUCT}.available_quantity IS NULL "
    f"OR {_PRODUCT}.available_quantity - {_PRODUCT}.reserved_quantity >= r.quantity) "
    f"RETURNING {_PRODUCT}.product_id"
)


def reserve_sql(tenant_id: str, changes: dict[str, int]) -> tuple[str, tuple]:
    """The conditional UPDATE for `changes` (product id -> quantity), and its parameters."""
    products = sorted(changes)
    rows = json.dumps([{"product_id": p, "quantity": changes[p]} for p in products])
    if connection.vendor == "postgresql":
        return _RESERVE_POSTGRESQL, (rows, tenant_id, products)
    return _RESERVE_SQLITE, (rows, tenant_id)


def sellable(tenant_id: str, product_ids: list[str]) -> dict[str, int]:
    """What is left to sell of each product now (0 for one that is gone); unlimited ones are left out."""
    rows = ProductSnapshot.objects.filter(tenant_id=tenant_id, product_id__in=product_ids).values_list(
        "product_id", "available_quantity", "reserved_quantity"
    )
    found = {product: sellable_quantity(available, reserved) for product, available, reserved in rows}
    return {product: found.get(product, 0) for product in product_ids if found.get(product, 0) is not None}


def counted_until(as_of: datetime | None, now: datetime) -> datetime:
    """The time up to which a count includes the reservation changes: its `as_of`, never later
    than now, or without one `now - OMS_INVENTORY_SYNC_WINDOW`."""
    if as_of is not None:
        return min(as_of, now)
    return now - timedelta(seconds=settings.OMS_INVENTORY_SYNC_WINDOW)


def count_columns(as_of: datetime | None, now: datetime) -> dict:
    """The stock columns a product snapshot's upsert writes along with its count: where the count
    stands, and nothing reserved beyond it yet (`recount` then adds the changes after it)."""
    return {"counted_until": counted_until(as_of, now), "reserved_quantity": 0}


def recount(tenant_id: str, product_ids: list[str], oldest: datetime) -> None:
    """After product snapshots were upserted with `count_columns` (their rows locked): the
    products with reservation changes after their `counted_until` get the sum of those as their
    `reserved_quantity`; the others keep 0, so a bulk import touches only products sold lately.
    A separate statement, so it sees every placement that committed before the lock was taken;
    the ones queued behind the lock add theirs to the new figure. `oldest` is the earliest
    `counted_until` written; changes older than it by more than `LEDGER_KEEP` are dropped."""
    recent = StockReservation.objects.filter(tenant_id=tenant_id, product_id__in=product_ids, at__gt=oldest).values(
        "product_id"
    )
    after = (
        StockReservation.objects.filter(
            tenant_id=tenant_id, product_id=OuterRef("product_id"), at__gt=OuterRef("counted_until")
        )
        .order_by()
        .values("product_id")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    ProductSnapshot.objects.filter(tenant_id=tenant_id, product_id__in=recent).update(
        reserved_quantity=Coalesce(Subquery(after, output_field=IntegerField()), Value(0))
    )
    StockReservation.objects.filter(
        tenant_id=tenant_id, product_id__in=product_ids, at__lt=oldest - LEDGER_KEEP
    ).delete()


@dataclass(frozen=True)
class Stock:
    product_id: str
    sku: str
    vendor_id: str
    available_quantity: int | None
    reserved_quantity: int
    as_of: datetime | None
    counted_until: datetime | None

    @property
    def sellable_quantity(self) -> int | None:
        return sellable_quantity(self.available_quantity, self.reserved_quantity)


def stock_of(tenant_id: str, product_id: str) -> Stock | None:
    row = (
        ProductSnapshot.objects.filter(tenant_id=tenant_id, product_id=product_id)
        .values_list(
            "product_id", "sku", "vendor_id", "available_quantity", "reserved_quantity", "as_of", "counted_until"
        )
        .first()
    )
    return None if row is None else Stock(*row)
