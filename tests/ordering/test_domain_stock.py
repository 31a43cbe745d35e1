"""What an order holds of each product, and what saving it reserves or releases (no Django)."""

from __future__ import annotations

from ordering.domain.errors import OutOfStock
from ordering.domain.stock import Held, Shortage, StockChange, StockShortage, held_stock, stock_changes

from .domain_fixtures import NOW, confirmed, draft


def quantities(order) -> dict[str, int]:
    return {product: held.quantity for product, held in held_stock(order).items()}


def test_a_draft_holds_nothing_and_a_placed_order_each_lines_quantity():
    order = draft(items=(("p1", 1), ("p2", 2)))
    assert held_stock(order) == {}
    order.place(number="1001", actor="c", now=NOW)
    assert held_stock(order) == {"p1": Held(1, order.lines[0].sku, 0), "p2": Held(2, order.lines[1].sku, 1)}


def test_placing_reserves_every_line_in_product_order():
    order = draft(items=(("p2", 2), ("p1", 1)))
    before = held_stock(order)
    order.place(number="1001", actor="c", now=NOW)
    changes = stock_changes(before, held_stock(order))
    assert [(c.product_id, c.quantity, c.field) for c in changes] == [
        ("p1", 1, "lines[1].quantity"),
        ("p2", 2, "lines[0].quantity"),
    ]


def test_an_amendment_reserves_or_releases_the_difference():
    order = confirmed()
    before = held_stock(order)
    order.change_quantity(order.lines[1].line_id, 1, actor="c", now=NOW)
    assert [(c.product_id, c.quantity) for c in stock_changes(before, held_stock(order))] == [("p2", -1)]
    before = held_stock(order)
    order.change_quantity(order.lines[1].line_id, 5, actor="c", now=NOW)
    assert [(c.product_id, c.quantity) for c in stock_changes(before, held_stock(order))] == [("p2", 4)]
    before = held_stock(order)
    order.remove_lines([order.lines[0].line_id], actor="c", now=NOW)
    assert [(c.product_id, c.quantity) for c in stock_changes(before, held_stock(order))] == [("p1", -1)]


def test_shipping_changes_nothing():
    order = confirmed()
    before = held_stock(order)
    order.ship(carrier="UPS", tracking_number="T", lines=None, vendor_scope="v1", actor="v", now=NOW)
    assert order.lines[0].shipped_quantity == 1 and stock_changes(before, held_stock(order)) == []


def test_cancelling_releases_what_did_not_ship():
    order = confirmed()
    before = held_stock(order)
    order.add_shipment(lines=None, vendor_scope="v1", actor="v", now=NOW)  # pending: nothing left yet
    order.cancel(reason="changed my mind", actor="s", now=NOW)
    assert held_stock(order) == {}
    assert [(c.product_id, c.quantity) for c in stock_changes(before, held_stock(order))] == [("p1", -1), ("p2", -2)]


def test_a_cancelled_order_keeps_holding_what_had_shipped():
    """Cancelling after a shipment is not allowed today; if it were, shipped units stay sold."""
    import dataclasses

    from ordering.domain.lifecycle import OrderStatus

    order = confirmed()
    order.lines[0] = dataclasses.replace(order.lines[0], shipped_quantity=1)
    order.status = OrderStatus.CANCELLED
    assert quantities(order) == {"p1": 1}


def test_a_shortage_is_out_of_stock_with_one_part_per_short_line():
    error = StockShortage(
        [Shortage("p1", "SKU-1", 3, 1, "lines[0].quantity"), Shortage("p2", "SKU-2", 2, 0, "lines[1].quantity")]
    )
    assert isinstance(error, OutOfStock) and error.code == "OUT_OF_STOCK"
    parts = error.parts()
    assert [(p.field, p.message) for p in parts] == [
        ("lines[0].quantity", "only 1 of SKU-1 left to sell; this needs 3 more"),
        ("lines[1].quantity", "only 0 of SKU-2 left to sell; this needs 2 more"),
    ]
    assert StockChange("p1", "SKU-1", 1, "f") != StockChange("p1", "SKU-1", -1, "f")
