"""What one order adds to the dashboard's daily figures, and how the figures read back.

Each order contributes a few figures, each keyed by (day, metric, currency, key) and holding a
count and an amount. The contribution is a function of the order's state only, so the daily
rollup is kept exact the way the status counters are: when an order is written, what it
contributed as loaded is taken away and what it contributes now is added, netted (a change that
touches no figure writes nothing). Days are UTC calendar days.

- `placed`: on the day it was placed, one order and its total (tax and shipping included).
- `product`: on the day it was placed, per SKU, the units ordered and the lines' net amount;
  `product_month` the same on the first day of the month it was placed in, so a long range reads
  its whole months from a twelfth of the rows.
- `cancelled`: on the day it was cancelled, one order and its total.
- `refunded`: on each refund's day, the refunds and their amount.
- `shipped`: on the day its first shipment left, one order in the bucket of the time from
  placing to that shipment (key: the bucket's index), with that time in seconds as the amount,
  so p50/p90 read from the buckets without touching the orders.

Drafts contribute nothing: an order counts from the moment it is placed.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from .lifecycle import OrderStatus
from .order_state import OrderState

PLACED = "placed"
PRODUCT = "product"
PRODUCT_MONTH = "product_month"
# Figures every order of a day adds to (spread over slots by the store) and those keyed by SKU,
# which concurrent orders rarely share.
PER_SKU = frozenset({PRODUCT, PRODUCT_MONTH})
CANCELLED = "cancelled"
REFUNDED = "refunded"
SHIPPED = "shipped"

# Upper bounds, in seconds, of the placing-to-first-shipment buckets; the last bucket is open.
HOUR = 3600
LEAD_BOUNDS: tuple[int, ...] = (
    HOUR // 4,
    HOUR // 2,
    HOUR,
    2 * HOUR,
    4 * HOUR,
    8 * HOUR,
    12 * HOUR,
    24 * HOUR,
    36 * HOUR,
    48 * HOUR,
    72 * HOUR,
    96 * HOUR,
    5 * 24 * HOUR,
    7 * 24 * HOUR,
    10 * 24 * HOUR,
    14 * 24 * HOUR,
    21 * 24 * HOUR,
    30 * 24 * HOUR,
)


class FigureKey(NamedTuple):
    """Tuples: every order change makes and sorts a few of them, on the write path."""

    day: date
    metric: str
    currency: str
    key: str


class Figure(NamedTuple):
    tally: int  # orders, units or refunds (the `count` column)
    amount: Decimal


Figures = dict[FigureKey, Figure]


def month_split(since: date, until: date) -> tuple[list[tuple[date, date]], tuple[date, date] | None]:
    """The inclusive range as day ranges at its ends and the whole months between them:
    ([(first day, last day), ...], (first month's first day, last month's first day) or None)."""
    first_month = since if since.day == 1 else _next_month(since)
    end = _next_month(until) if _next_month(until) - timedelta(days=1) == until else until.replace(day=1)
    if first_month >= end:
        return [(since, until)], None
    days = []
    if since < first_month:
        days.append((since, first_month - timedelta(days=1)))
    if end <= until:
        days.append((end, until))
    last_month = (end - timedelta(days=1)).replace(day=1)
    return days, (first_month, last_month)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def lead_bucket(seconds: float) -> int:
    """The index of the bucket `seconds` falls in (bucket i holds LEAD_BOUNDS[i-1] < s <= LEAD_BOUNDS[i])."""
    return bisect_left(LEAD_BOUNDS, max(seconds, 0))


def contribution(order: OrderState) -> Figures:
    """What `order` adds to the daily figures as it stands."""
    if order.placed_at is None or order.status is OrderStatus.DRAFT or order.total is None:
        return {}
    figures: dict[FigureKey, Figure] = {}

    def add(day: date, metric: str, key: str, count: int, amount: Decimal) -> None:
        _plus(figures, FigureKey(day, metric, order.currency, key), count, amount)

    placed = order.placed_at.date()
    add(placed, PLACED, "", 1, order.total.amount)
    for line in order.lines:
        add(placed, PRODUCT, line.sku, line.quantity, line.total.amount)
        add(placed.replace(day=1), PRODUCT_MONTH, line.sku, line.quantity, line.total.amount)
    if order.status is OrderStatus.CANCELLED and order.cancellation is not None:
        add(order.cancellation.at.date(), CANCELLED, "", 1, order.total.amount)
    for refund in order.refunds:
        add(refund.at.date(), REFUNDED, "", 1, refund.amount.amount)
    first = _first_shipment(order)
    if first is not None:
        seconds = max((first - order.placed_at).total_seconds(), 0)
        add(first.date(), SHIPPED, str(lead_bucket(seconds)), 1, Decimal(int(seconds)))
    return figures


def add_up(into: dict[FigureKey, Figure], figures: Figures) -> None:
    """Add `figures` into `into`, key by key (a tenant's rollup, rebuilt from its orders)."""
    for key, figure in figures.items():
        _plus(into, key, figure.tally, figure.amount)


def _plus(into: dict[FigureKey, Figure], key: FigureKey, tally: int, amount: Decimal) -> None:
    old = into.get(key)
    into[key] = Figure(tally, amount) if old is None else Figure(old.tally + tally, old.amount + amount)


def _first_shipment(order: OrderState) -> datetime | None:
    times = [shipment.shipped_at for shipment in order.shipments if shipment.shipped_at is not None]
    return min(times) if times else None


def change(before: Figures, after: Figures) -> list[tuple[FigureKey, Figure]]:
    """`after` minus `before`, without the figures that did not move, in key order (so two
    transactions touch shared rows in the same order and never wait on each other in a cycle)."""
    counts: Counter[FigureKey] = Counter()
    amounts: dict[FigureKey, Decimal] = {}
    for sign, figures in ((-1, before), (1, after)):
        for key, figure in figures.items():
            counts[key] += sign * figure.tally
            amounts[key] = amounts.get(key, Decimal(0)) + sign * figure.amount
    return [
        (key, Figure(counts[key], amounts[key])) for key in sorted(amounts) if counts[key] != 0 or amounts[key] != 0
    ]


def lead_percentile(buckets: dict[int, int], fraction: float) -> float | None:
    """The time (seconds) below which `fraction` of the orders shipped, from bucket counts:
    interpolated linearly inside the bucket it falls in (the open last bucket answers its lower
    bound). None when nothing shipped."""
    total = sum(buckets.values())
    if total <= 0:
        return None
    wanted = fraction * total
    seen = 0
    for index in sorted(buckets):
        count = buckets[index]
        if count <= 0:
            continue
        if seen + count >= wanted:
            low = LEAD_BOUNDS[index - 1] if index > 0 else 0
            if index >= len(LEAD_BOUNDS):
                return float(low)
            high = LEAD_BOUNDS[index]
            return low + (high - low) * (wanted - seen) / count
        seen += count
    return float(LEAD_BOUNDS[-1])
