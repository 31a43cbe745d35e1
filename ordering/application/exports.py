"""Orders out to a spreadsheet or an accounting tool (docs/admin.md, "Exporting orders").

`export_orders` writes the tenant's orders that match the orders list's filters (statuses, placed
or created between two instants, the list's search) as rows: one per order, or one per line
with the order's columns repeated. Orders come oldest first, a batch at a time by keyset
(created_at, id), so a million orders are written in constant memory; all of it is read in the
tenant's transaction, so row-level security holds on every read. Money is a decimal string in
the currency's minor units next to a `currency` column; instants are ISO 8601 in UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from identity.domain.principal import Principal
from oms_project.kernel.money import minor_units
from ordering.domain.errors import Forbidden, Invalid
from ordering.domain.lifecycle import OrderStatus

from .ports import UnitOfWork

BATCH = 2000  # orders read per statement
MAX_SEARCH = 200

ORDER_COLUMNS = (
    "number",
    "order_id",
    "status",
    "payment_status",
    "channel",
    "created_at",
    "placed_at",
    "customer_email",
    "customer_name",
    "ship_to_country",
    "currency",
    "subtotal",
    "discount",
    "shipping",
    "tax",
    "total",
    "payment_method",
    "paid_at",
)
LINE_COLUMNS = (
    "line",
    "sku",
    "product",
    "vendor_id",
    "quantity",
    "unit_price",
    "line_discount",
    "line_subtotal",
    "tax_rate",
)


@dataclass(frozen=True)
class ExportOrders:
    statuses: tuple[str, ...] = ()
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before
    search: str | None = None
    lines: bool = False


@dataclass(frozen=True)
class ExportedLine:
    position: int
    sku: str
    product_name: str
    vendor_id: str
    quantity: int
    unit_price: Decimal
    discount: Decimal
    subtotal: Decimal
    tax_rate: Decimal


@dataclass(frozen=True)
class ExportedOrder:
    id: str
    number: str | None
    status: str
    payment_status: str
    channel: str
    created_at: datetime
    placed_at: datetime | None
    customer_email: str
    customer_name: str
    ship_to_country: str
    currency: str
    subtotal: Decimal
    discount_total: Decimal
    shipping_total: Decimal
    tax_total: Decimal
    total: Decimal
    payment_method: str
    paid_at: datetime | None


class OrderSheet(Protocol):
    """The tenant's orders as an export reads them (the unit of work's `sheet`)."""

    def count(self, command: ExportOrders) -> int:
        """How many orders match."""

    def orders(self, command: ExportOrders, after: tuple[datetime, str] | None, limit: int) -> list[ExportedOrder]:
        """Up to `limit` matching orders after the keyset position `after`, by (created_at, id)."""

    def lines(self, order_ids: list[str]) -> dict[str, list[ExportedLine]]:
        """These orders' lines, each order's by position."""


class RowWriter(Protocol):
    def row(self, values: list[str | int]) -> None: ...


def checked(command: ExportOrders) -> ExportOrders:
    """The command with its search normalized, or Invalid naming the bad option."""
    known = {status.value for status in OrderStatus}
    for status in command.statuses:
        if status not in known:
            raise Invalid(f"unknown status {status!r} (one of {', '.join(sorted(known))})", field="status")
    if command.since and command.until and command.since >= command.until:
        raise Invalid("since must be before until", field="since")
    search = command.search.strip().lower() if command.search else None
    if search and len(search) > MAX_SEARCH:
        raise Invalid(f"search is at most {MAX_SEARCH} characters", field="search")
    return ExportOrders(command.statuses, command.since, command.until, search or None, command.lines)


def export_orders(
    principal: Principal,
    command: ExportOrders,
    uow: UnitOfWork,
    writer: RowWriter,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write the header, then every matching order (or line); returns how many orders. Staff of
    the tenant only. `progress(done, total)` is called after each batch."""
    if not principal.is_staff:
        raise Forbidden("only staff can export orders")
    command = checked(command)
    with uow:
        total = uow.sheet.count(command)
        writer.row(list(ORDER_COLUMNS + (LINE_COLUMNS if command.lines else ())))
        done = 0
        after: tuple[datetime, str] | None = None
        while True:
            batch = uow.sheet.orders(command, after, BATCH)
            if not batch:
                break
            lines = uow.sheet.lines([order.id for order in batch]) if command.lines else {}
            for order in batch:
                columns = order_columns(order)
                if not command.lines:
                    writer.row(columns)
                    continue
                for line in lines.get(order.id, []):
                    writer.row(columns + line_columns(line, order.currency))
            done += len(batch)
            after = (batch[-1].created_at, batch[-1].id)
            if progress is not None:
                progress(done, total)
    return done


def amount(value: Decimal, currency: str) -> str:
    """A decimal string with the currency's minor units: 12.5 EUR -> "12.50", 1000 JPY -> "1000"."""
    return str(value.quantize(Decimal(1).scaleb(-minor_units(currency))))


def _instant(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def order_columns(order: ExportedOrder) -> list[str | int]:
    currency = order.currency
    return [
        order.number or "",
        order.id,
        order.status,
        order.payment_status,
        order.channel,
        _instant(order.created_at),
        _instant(order.placed_at),
        order.customer_email,
        order.customer_name,
        order.ship_to_country,
        currency,
        amount(order.subtotal, currency),
        amount(order.discount_total, currency),
        amount(order.shipping_total, currency),
        amount(order.tax_total, currency),
        amount(order.total, currency),
        order.payment_method,
        _instant(order.paid_at),
    ]


def line_columns(line: ExportedLine, currency: str) -> list[str | int]:
    return [
        line.position,
        line.sku,
        line.product_name,
        line.vendor_id,
        line.quantity,
        amount(line.unit_price, currency),
        amount(line.discount, currency),
        amount(line.subtotal, currency),
        f"{line.tax_rate.normalize():f}",
    ]
