"""The dashboard's daily rollup (`ordering_daily_figure`), kept in the transaction of every order
change, and the dashboard's reads.

What an order contributes is the domain's rule (`ordering.domain.sales_figures`); here the change
between two contributions becomes one upsert in the write batch, spread over the status
counters' slots so that concurrent orders of a tenant rarely wait on one row, its rows touched in
key order. The reads sum over the slots, one statement per figure, each an index range of
(tenant, metric, day).

`rebuild(tenant_id)` recomputes a tenant's rows from its orders through the same rule (after an
upgrade that added the table, and in the benchmark's seeding).
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum

from ordering.domain import sales_figures as sf

from . import models
from .order_counts import SLOTS

_UPSERT = (
    "INSERT INTO ordering_daily_figure (tenant_id, metric, day, currency, key, slot, count, amount) VALUES {values} "
    "ON CONFLICT (tenant_id, metric, day, currency, key, slot) DO UPDATE "
    "SET count = ordering_daily_figure.count + EXCLUDED.count, amount = ordering_daily_figure.amount + EXCLUDED.amount"
)


def change_sql(tenant_id: str, before: sf.Figures, after: sf.Figures) -> tuple[str, list] | None:
    """The upsert that moves the rollup from `before` to `after`, as (sql, params); None when no
    figure moves."""
    rows = sf.change(before, after)
    if not rows:
        return None
    spread = random.randrange(SLOTS)
    params: list = []
    for key, figure in sorted(rows, key=lambda row: (row[0].metric, row[0].day, row[0].currency, row[0].key)):
        slot = 0 if key.metric in sf.PER_SKU else spread
        params += [tenant_id, key.metric, key.day, key.currency, key.key[:100], slot, figure.tally, figure.amount]
    return _UPSERT.format(values=", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))), params


def _range(tenant_id: str, metric: str, since: date, until: date):
    return models.DailyFigure.objects.filter(tenant_id=tenant_id, metric=metric, day__gte=since, day__lte=until)


def per_day(tenant_id: str, metric: str, since: date, until: date) -> list[tuple[date, str, int, Decimal]]:
    """(day, currency, count, amount) of `metric` for each day with any, in day order."""
    rows = (
        _range(tenant_id, metric, since, until)
        .order_by()
        .values("day", "currency")
        .annotate(n=Sum("count"), total=Sum("amount"))
        .order_by("day", "currency")
    )
    return [(row["day"], row["currency"], row["n"] or 0, row["total"] or Decimal(0)) for row in rows]


def totals(tenant_id: str, metric: str, since: date, until: date) -> list[tuple[str, int, Decimal]]:
    """(currency, count, amount) of `metric` over the range."""
    rows = (
        _range(tenant_id, metric, since, until)
        .order_by()
        .values("currency")
        .annotate(n=Sum("count"), total=Sum("amount"))
        .order_by("currency")
    )
    return [(row["currency"], row["n"] or 0, row["total"] or Decimal(0)) for row in rows]


def lead_buckets(tenant_id: str, since: date, until: date) -> dict[int, int]:
    """Orders per placing-to-first-shipment bucket, for first shipments in the range."""
    rows = _range(tenant_id, sf.SHIPPED, since, until).order_by().values("key").annotate(n=Sum("count")).order_by("key")
    return {int(row["key"]): row["n"] or 0 for row in rows if row["key"].isdigit()}


def top_products(tenant_id: str, since: date, until: date, limit: int) -> list[tuple[str, str, int, Decimal]]:
    """(sku, currency, units, amount) of the best-selling SKUs by units over the range: whole
    months from the monthly rows, the days at either end from the daily ones."""
    days, months = sf.month_split(since, until)
    parts = Q(metric=sf.PRODUCT_MONTH, day__gte=months[0], day__lte=months[1]) if months else Q(pk__in=[])
    for first, last in days:
        parts |= Q(metric=sf.PRODUCT, day__gte=first, day__lte=last)
    rows = (
        models.DailyFigure.objects.filter(parts, tenant_id=tenant_id)
        .order_by()
        .values("key", "currency")
        .annotate(units=Sum("count"), total=Sum("amount"))
        .filter(units__gt=0)
        .order_by("-units", "key")[:limit]
    )
    return [(row["key"], row["currency"], row["units"], row["total"] or Decimal(0)) for row in rows]


BACKLOG_CAP = 10_000


def relay_backlog(tenant_id: str) -> tuple[int, float | None]:
    """Events of the tenant the relay has not fanned out to its subscribers yet (counted up to
    BACKLOG_CAP + 1, so a huge backlog costs no more than a large one), and the age in seconds of
    the oldest. The outbox's index of undispatched events serves both."""
    from django.utils import timezone

    waiting = models.OutboxEvent.objects.filter(tenant_id=tenant_id, dispatched_at__isnull=True).order_by("position")
    count = waiting.values("position")[: BACKLOG_CAP + 1].count()
    oldest = waiting.values_list("occurred_at", flat=True).first() if count else None
    return count, (timezone.now() - oldest).total_seconds() if oldest is not None else None


def rebuild(tenant_id: str, batch: int = 2000) -> int:
    """Recompute the tenant's rollup from its orders through the domain's rule; returns how many
    orders were read. Run inside the tenant's scope; it replaces the tenant's rows in one
    transaction."""
    from .repositories.order_rows import to_domain, with_children

    read = 0
    with transaction.atomic():
        models.DailyFigure.objects.filter(tenant_id=tenant_id).delete()
        after = None
        totals_by_key: dict[sf.FigureKey, sf.Figure] = {}
        while True:
            rows = models.Order.objects.filter(tenant_id=tenant_id).exclude(placed_at=None).order_by("id")
            if after is not None:
                rows = rows.filter(id__gt=after)
            page = list(rows[:batch])
            if not page:
                break
            for order in (to_domain(row) for row in with_children(page)):
                for key, figure in sf.contribution(order).items():
                    old = totals_by_key.get(key)
                    totals_by_key[key] = (
                        figure if old is None else sf.Figure(old.tally + figure.tally, old.amount + figure.amount)
                    )
            read += len(page)
            after = page[-1].id
        models.DailyFigure.objects.bulk_create(
            [
                models.DailyFigure(
                    tenant_id=tenant_id,
                    metric=key.metric,
                    day=key.day,
                    currency=key.currency,
                    key=key.key[:100],
                    slot=0,
                    count=figure.tally,
                    amount=figure.amount,
                )
                for key, figure in totals_by_key.items()
            ],
            batch_size=5000,
        )
    return read


class OrmDashboardFigures:
    """`DashboardFigures` for one tenant (ordering/application/dashboard.py)."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id

    def per_day(self, metric: str, since: date, until: date) -> list[tuple[date, str, int, Decimal]]:
        return per_day(self.tenant_id, metric, since, until)

    def totals(self, metric: str, since: date, until: date) -> list[tuple[str, int, Decimal]]:
        return totals(self.tenant_id, metric, since, until)

    def lead_buckets(self, since: date, until: date) -> dict[int, int]:
        return lead_buckets(self.tenant_id, since, until)

    def top_products(self, since: date, until: date, limit: int) -> list[tuple[str, str, int, Decimal]]:
        return top_products(self.tenant_id, since, until, limit)

    def status_counts(self) -> dict[str, int]:
        rows = (
            models.OrderStatusCount.objects.filter(tenant_id=self.tenant_id, scope="")
            .order_by()
            .values("status")
            .annotate(n=Sum("count"))
        )
        return {row["status"]: row["n"] or 0 for row in rows}

    def relay_backlog(self) -> tuple[int, float | None]:
        return relay_backlog(self.tenant_id)
