"""Reservations of placed orders against the products' sellable stock (docs/inventory.md).

The repository hands over what an order's save changes (`ordering.domain.stock`); the change
goes into the unit of work's write batch: the conditional UPDATE of the products and one ledger
row per product, in the batch's one statement on PostgreSQL. When the batch has run, a product
that should have been reserved and was not refuses the use case with OUT_OF_STOCK.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from oms_project.kernel.metrics import STOCK_REFUSALS
from ordering.domain.stock import Shortage, StockChange, StockShortage
from snapshots.infrastructure import stock
from snapshots.infrastructure.models import StockReservation

from .write_batch import WriteBatch


class OrmStockReservations:
    def __init__(self, tenant_id: str, writes: WriteBatch) -> None:
        self.tenant_id = tenant_id
        self.writes = writes

    def change(self, order_id: str, changes: list[StockChange], *, at: datetime) -> None:
        """Reserve (or release) `changes` for the order, as of `at` (the time of the order event
        that made them)."""
        if not changes:
            return
        sql, params = stock.reserve_sql(self.tenant_id, {c.product_id: c.quantity for c in changes})
        self.writes.returning(sql, params, lambda made: self._check(changes, set(made)))
        order = uuid.UUID(order_id)
        self.writes.insert(
            StockReservation,
            [
                {
                    "tenant_id": self.tenant_id,
                    "product_id": c.product_id,
                    "order_id": order,
                    "quantity": c.quantity,
                    "at": at,
                }
                for c in changes
            ],
        )

    def _check(self, changes: list[StockChange], made: set[str]) -> None:
        short = [c for c in changes if c.quantity > 0 and c.product_id not in made]
        if not short:
            return
        left = stock.sellable(self.tenant_id, [c.product_id for c in short])
        STOCK_REFUSALS.inc(len(short))
        raise StockShortage(
            [Shortage(c.product_id, c.sku, c.quantity, left.get(c.product_id, 0), c.field) for c in short]
        )
