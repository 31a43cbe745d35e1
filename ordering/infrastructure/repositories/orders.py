"""The order repository: an order in and out of its tables, bound to one tenant.

`get` reads one order with its children in one statement (its row locked); `add` and `save`
queue the writes on the unit of work's batch: only the child rows that changed, the status
counters (`order_counts`) and the stock the order now holds or gives back (`stock_reservations`).
What a save compares against is what the order looked like when it was loaded."""

from __future__ import annotations

import uuid

from oms_project.kernel import prepared
from ordering.domain.order import (
    Order,
)
from ordering.domain.sales_figures import Figures

from .. import json_rows, models
from ..stock_reservations import OrmStockReservations
from ..write_batch import WriteBatch, WriteConflict
from .order_changes import LoadedOrders, count_change, figure_change, reserve_change, sync_rows
from .order_rows import (
    children_of,
    coupon_rows,
    history_rows,
    line_rows,
    order_values,
    shipment_rows,
    shipping_rows,
    to_domain,
    with_children,
)

ORDER_SQL = f"SELECT to_jsonb(o)::text FROM {models.Order._meta.db_table} AS o WHERE o.tenant_id = %s AND o.id = %s"


def order_row(tenant_id: str, order_id: uuid.UUID, lock: bool):
    """The order's row. With `lock`, the row is locked (and re-read at its latest version if we
    waited) before its children are read: the lock serialises every writer."""
    if not prepared.on_postgresql():
        rows = models.Order.objects.filter(tenant_id=tenant_id, id=order_id)
        return (rows.select_for_update(of=("self",)) if lock else rows).first()
    with prepared.cursor() as cursor:
        cursor.execute(ORDER_SQL + (" FOR UPDATE OF o" if lock else ""), [tenant_id, order_id])
        found = cursor.fetchone()
    return json_rows.row(models.Order, json_rows.loads(found[0])) if found else None


class StaleWrite(WriteConflict):
    """The row changed under a locked load: a bug or a lock that was not taken."""


class OrmOrderRepository:
    """Orders in and out. Writes are queued on the unit of work's batch, sent when it commits."""

    def __init__(self, tenant_id: str, writes: WriteBatch, stock: OrmStockReservations) -> None:
        self.tenant_id = tenant_id
        self.writes = writes
        self.stock = stock
        self.seen: list[Order] = []
        self.loaded = LoadedOrders()  # what each order looked like when loaded or last written

    def get(self, order_id: str, *, lock: bool = True) -> Order | None:
        """The order, with its row locked until the transaction ends (PostgreSQL `FOR UPDATE`)."""
        try:
            key = uuid.UUID(str(order_id))
        except ValueError:
            return None
        row = order_row(self.tenant_id, key, lock)
        if row is None:
            return None
        order = to_domain(with_children([row])[0])
        self._track(order)
        return order

    def settle_late_values(self, drawn: dict[str, str]) -> None:
        """Orders whose number was a placeholder (`OrmOrderNumbers`) get the number drawn for it."""
        for order in self.seen:
            if order.number in drawn:
                order.number = drawn[order.number]

    def _track(self, order: Order, figures: Figures | None = None) -> None:
        self.loaded.remember(order, figures)
        self.seen.append(order)

    def add(self, order: Order) -> None:
        order_id = uuid.UUID(order.order_id)
        self.writes.insert(models.Order, [{"id": order_id, "tenant_id": self.tenant_id, **order_values(order)}])
        self._write_children(order, order_id, history_from=0)
        count_change(self.writes, self.tenant_id, None, order)
        figures = figure_change(self.writes, self.tenant_id, {}, order)
        reserve_change(self.stock, {}, order)
        self._track(order, figures)

    def save(self, order: Order) -> None:
        loaded = self.loaded.of(order.order_id)
        self.writes.update(
            models.Order,
            {"tenant_id": self.tenant_id, "id": order.order_id, "version": loaded.version},
            order_values(order),
            expect_one=f"order {order.order_id} changed since it was loaded",
        )
        row = uuid.UUID(order.order_id)
        before_lines, before_shipping, before_coupons, before_shipments = loaded.children
        after_lines, after_shipping, after_coupons, after_shipments = children_of(order)
        # Lines and shipments have ids of their own: only the rows that changed are written, all
        # in the batch. Shipping and coupons are rewritten whole when they changed (amendments).
        sync_rows(
            self.writes,
            self.tenant_id,
            models.OrderLine,
            {t[0]: (i, t) for i, t in enumerate(before_lines)},
            {t[0]: (i, t) for i, t in enumerate(after_lines)},
            line_rows(self.tenant_id, order, row),
        )
        sync_rows(
            self.writes,
            self.tenant_id,
            models.Shipment,
            {s.shipment_id: (i, s) for i, s in enumerate(before_shipments)},
            {s.shipment_id: (i, s) for i, s in enumerate(after_shipments)},
            shipment_rows(self.tenant_id, order, row),
        )
        for table, before, after, rows in (
            (models.OrderShipping, before_shipping, after_shipping, shipping_rows),
            (models.OrderCoupon, before_coupons, after_coupons, coupon_rows),
        ):
            if before != after:
                table.objects.filter(tenant_id=self.tenant_id, order_id=row).delete()
                self.writes.insert(table, rows(self.tenant_id, order, row))
        self.writes.insert(models.OrderHistoryEntry, history_rows(self.tenant_id, order, row, loaded.history))
        count_change(self.writes, self.tenant_id, loaded.counted, order)
        figures = figure_change(self.writes, self.tenant_id, loaded.figures, order)
        reserve_change(self.stock, loaded.held, order)
        self.loaded.remember(order, figures)

    def _write_children(self, order: Order, row: uuid.UUID, *, history_from: int) -> None:
        self.writes.insert(models.OrderLine, line_rows(self.tenant_id, order, row))
        self.writes.insert(models.OrderShipping, shipping_rows(self.tenant_id, order, row))
        self.writes.insert(models.OrderCoupon, coupon_rows(self.tenant_id, order, row))
        self.writes.insert(models.Shipment, shipment_rows(self.tenant_id, order, row))
        self.writes.insert(models.OrderHistoryEntry, history_rows(self.tenant_id, order, row, history_from))
