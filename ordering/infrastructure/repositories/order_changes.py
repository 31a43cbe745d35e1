"""Change tracking: what an order looked like when it was loaded (or last written), and the writes
that bring the database from there to the order now, with their side effects on the status
counters (`order_counts`), on the dashboard's daily figures (`daily_figures`) and on the stock the
order holds (`stock_reservations`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Model

from ordering.domain import sales_figures
from ordering.domain.order import Order
from ordering.domain.stock import Held, held_stock, stock_changes

from .. import daily_figures, order_counts
from ..stock_reservations import OrmStockReservations
from ..write_batch import WriteBatch
from .order_rows import children_of, counted_scopes


@dataclass(frozen=True)
class Loaded:
    """One order as the database has it: what the next save compares against."""

    version: int
    history: int  # history entries written
    counted: tuple[str, frozenset[str]]  # its status and the counters' scopes it is counted in
    children: tuple[Any, ...]  # lines, shipping, coupons, shipments
    held: dict[str, Held]  # the stock it holds
    figures: sales_figures.Figures  # what it adds to the daily figures


class LoadedOrders:
    """The orders of one unit of work as loaded or last written."""

    def __init__(self) -> None:
        self._orders: dict[str, Loaded] = {}

    def remember(self, order: Order, figures: sales_figures.Figures | None = None) -> None:
        """`figures`: the order's contribution, when the caller has just worked it out."""
        self._orders[order.order_id] = Loaded(
            order.version,
            len(order.history),
            counted_scopes(order),
            children_of(order),
            held_stock(order),
            sales_figures.contribution(order) if figures is None else figures,
        )

    def of(self, order_id: str) -> Loaded:
        return self._orders[order_id]


def sync_rows(
    writes: WriteBatch, tenant_id: str, model: type[Model], before: dict[str, Any], after: dict[str, Any], rows: list
) -> None:
    """Child rows with ids of their own: delete the rows gone, update the rows changed (by id),
    insert the new ones; all in the batch."""
    gone = [uuid.UUID(key) for key in before.keys() - after.keys()]
    if gone:
        writes.delete(model._default_manager.filter(tenant_id=tenant_id, id__in=gone))
    by_id = {str(r["id"]): r for r in rows}
    writes.insert(model, [by_id[key] for key in after if key not in before])
    for key in after:
        if key in before and before[key] != after[key]:
            values = dict(by_id[key])
            # Keyed by the order too, so the (tenant, order, position) index finds the row.
            writes.update(
                model, {"tenant_id": tenant_id, "order_id": values["order_id"], "id": values.pop("id")}, values
            )


def count_change(writes: WriteBatch, tenant_id: str, before: tuple[str, frozenset[str]] | None, order: Order) -> None:
    """Move the order between the status counters (`before` None: a new order)."""
    change = order_counts.change_sql(tenant_id, before, counted_scopes(order))
    if change is not None:
        writes.raw(*change)


def figure_change(
    writes: WriteBatch, tenant_id: str, before: sales_figures.Figures, order: Order
) -> sales_figures.Figures:
    """Move the order's contribution to the daily figures (`before` empty: a new order); the
    contribution now."""
    after = sales_figures.contribution(order)
    change = daily_figures.change_sql(tenant_id, before, after)
    if change is not None:
        writes.raw(*change)
    return after


def reserve_change(stock: OrmStockReservations, before: dict[str, Held], order: Order) -> None:
    """Reserve or release what the order holds now that it did not (`ordering.domain.stock`)."""
    stock.change(order.order_id, stock_changes(before, held_stock(order)), at=order.updated_at)
