"""The dashboard: how a tenant's business is going, for its staff (docs/admin.md, "Dashboard").

Every figure is read from an aggregate kept as orders change, never from the orders themselves,
so the page costs the same at a hundred orders as at a million: the daily rollup
(`ordering.domain.sales_figures`: orders and revenue per day and currency, cancellations,
refunds, the time from placing to the first shipment as buckets, units per SKU), the status
counters (orders by status now), the outbox's index of waiting events (the relay's backlog) and
the sold-out index of the product snapshots. Days are UTC calendar days; the range is inclusive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol

from identity.domain.principal import Principal, Role
from ordering.domain import sales_figures as sf
from ordering.domain.errors import Forbidden, Invalid
from ordering.domain.lifecycle import OrderStatus
from snapshots.application.ports import StockReport

MAX_DAYS = 366
DEFAULT_DAYS = 30
TOP_PRODUCTS = 10
SOLD_OUT_SHOWN = 20


@dataclass(frozen=True)
class ShowDashboard:
    since: date
    until: date


def default_range(today: date) -> ShowDashboard:
    """The last DEFAULT_DAYS days, today included."""
    return ShowDashboard(today - timedelta(days=DEFAULT_DAYS - 1), today)


class DashboardFigures(Protocol):
    """The tenant's aggregates (ordering/infrastructure/daily_figures.py, order_counts.py)."""

    def per_day(self, metric: str, since: date, until: date) -> list[tuple[date, str, int, Decimal]]:
        """(day, currency, count, amount) for each day and currency with any."""

    def totals(self, metric: str, since: date, until: date) -> list[tuple[str, int, Decimal]]:
        """(currency, count, amount) over the range."""

    def lead_buckets(self, since: date, until: date) -> dict[int, int]: ...

    def top_products(self, since: date, until: date, limit: int) -> list[tuple[str, str, int, Decimal]]:
        """(sku, currency, units, amount), most units first."""

    def status_counts(self) -> dict[str, int]: ...

    def relay_backlog(self) -> tuple[int, float | None]:
        """Events waiting for the relay, and the age in seconds of the oldest."""


@dataclass(frozen=True)
class DaySeries:
    """One currency's orders and revenue for every day of the range (zeros included)."""

    currency: str
    orders: list[int]
    revenue: list[Decimal]


@dataclass(frozen=True)
class Amounts:
    currency: str
    count: int
    amount: Decimal


@dataclass(frozen=True)
class TopProduct:
    sku: str
    name: str
    currency: str
    units: int
    amount: Decimal


@dataclass(frozen=True)
class Dashboard:
    since: date
    until: date
    days: list[date]
    series: list[DaySeries]
    placed: list[Amounts]
    by_status: list[tuple[str, int]]  # every status but DRAFT, in lifecycle order
    shipped: int  # orders whose first shipment left in the range
    lead_p50: float | None  # seconds from placing to the first shipment
    lead_p90: float | None
    cancelled: list[Amounts]
    refunded: list[Amounts]
    top_products: list[TopProduct]
    sold_out_count: int
    sold_out: list[tuple[str, str]]
    backlog: int
    backlog_oldest: float | None  # seconds


def checked(command: ShowDashboard) -> ShowDashboard:
    if command.since > command.until:
        raise Invalid("since must not be after until", field="since")
    if (command.until - command.since).days + 1 > MAX_DAYS:
        raise Invalid(f"the range is at most {MAX_DAYS} days", field="since")
    return command


def show_dashboard(
    principal: Principal, command: ShowDashboard, figures: DashboardFigures, stock: StockReport
) -> Dashboard:
    """The dashboard of the principal's tenant: staff only."""
    if Role.STAFF not in principal.roles:
        raise Forbidden("only staff see the dashboard")
    command = checked(command)
    since, until = command.since, command.until
    days = [since + timedelta(days=n) for n in range((until - since).days + 1)]
    index = {day: n for n, day in enumerate(days)}
    series: dict[str, DaySeries] = {}
    for day, currency, count, amount in figures.per_day(sf.PLACED, since, until):
        line = series.setdefault(currency, DaySeries(currency, [0] * len(days), [Decimal(0)] * len(days)))
        line.orders[index[day]] += count
        line.revenue[index[day]] += amount
    buckets = figures.lead_buckets(since, until)
    counts = figures.status_counts()
    top = figures.top_products(since, until, TOP_PRODUCTS)
    names = stock.product_names(principal.tenant_id, sorted({sku for sku, *_ in top}))
    sold_out_count, sold_out = stock.sold_out(principal.tenant_id, SOLD_OUT_SHOWN)
    backlog, oldest = figures.relay_backlog()
    return Dashboard(
        since=since,
        until=until,
        days=days,
        series=[series[currency] for currency in sorted(series)],
        placed=_amounts(figures.totals(sf.PLACED, since, until)),
        by_status=[(s.value, counts.get(s.value, 0)) for s in OrderStatus if s is not OrderStatus.DRAFT],
        shipped=sum(buckets.values()),
        lead_p50=sf.lead_percentile(buckets, 0.5),
        lead_p90=sf.lead_percentile(buckets, 0.9),
        cancelled=_amounts(figures.totals(sf.CANCELLED, since, until)),
        refunded=_amounts(figures.totals(sf.REFUNDED, since, until)),
        top_products=[
            TopProduct(sku, names.get(sku, ""), currency, units, amount) for sku, currency, units, amount in top
        ],
        sold_out_count=sold_out_count,
        sold_out=sold_out,
        backlog=backlog,
        backlog_oldest=oldest,
    )


def _amounts(rows: list[tuple[str, int, Decimal]]) -> list[Amounts]:
    return [Amounts(currency, count, amount) for currency, count, amount in rows]
