"""The stock a placed order holds (docs/inventory.md).

An order holds, per product, what it promised and has not given back: nothing while it is a
DRAFT; each line's quantity once it is placed (amendments move it up or down, a removed line
holds nothing); once cancelled, only what had shipped (the rest is released). Shipping changes
nothing here: shipped units stay sold, and the inventory system accounts for them from
`order.shipped`.

Saving an order reserves or releases the difference between what it held when it was loaded
and what it holds now (`stock_changes`). A reservation that more than the product's sellable
quantity would need refuses the whole use case with OUT_OF_STOCK (`StockShortage`): one error
per short line, nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import OutOfStock
from .lifecycle import OrderStatus

if TYPE_CHECKING:
    from .order import Order


@dataclass(frozen=True)
class Held:
    """What an order holds of one product, and the line that holds it."""

    quantity: int
    sku: str
    line: int  # the line's position, for the error's field


@dataclass(frozen=True)
class StockChange:
    product_id: str
    sku: str
    quantity: int  # > 0 reserves, < 0 releases
    field: str  # the line that changed, e.g. "lines[0].quantity"


@dataclass(frozen=True)
class Shortage:
    product_id: str
    sku: str
    wanted: int
    sellable: int
    field: str

    @property
    def message(self) -> str:
        return f"only {self.sellable} of {self.sku} left to sell; this needs {self.wanted} more"


def held_stock(order: Order) -> dict[str, Held]:
    """Per product, what `order` holds in its current state."""
    if order.status is OrderStatus.DRAFT:
        return {}
    cancelled = order.status is OrderStatus.CANCELLED
    held: dict[str, Held] = {}
    for index, line in enumerate(order.lines):
        if not line.product_id:  # an imported line of no product we know: nothing to hold
            continue
        quantity = line.shipped_quantity if cancelled else line.quantity
        known = held.get(line.product_id)
        held[line.product_id] = Held(
            quantity + (known.quantity if known else 0), line.sku, known.line if known else index
        )
    return {product: h for product, h in held.items() if h.quantity}


def stock_changes(before: dict[str, Held], after: dict[str, Held]) -> list[StockChange]:
    """What to reserve (positive) or release (negative) to go from holding `before` to `after`,
    in product order (concurrent placements lock products in the same order)."""
    changes = []
    for product in sorted(before.keys() | after.keys()):
        was, now = before.get(product), after.get(product)
        difference = (now.quantity if now else 0) - (was.quantity if was else 0)
        if difference:
            where = now or was
            assert where is not None  # a product in neither has no difference
            changes.append(StockChange(product, where.sku, difference, f"lines[{where.line}].quantity"))
    return changes


class StockShortage(OutOfStock):
    """Some reservations would pass what is left to sell; nothing was written."""

    def __init__(self, shortages: list[Shortage]) -> None:
        super().__init__("; ".join(s.message for s in shortages), field=shortages[0].field)
        self.shortages = shortages

    def parts(self) -> list[OutOfStock]:
        return [StockShortage([shortage]) for shortage in self.shortages]
