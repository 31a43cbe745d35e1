"""The dashboard's daily rollup (`ordering_daily_figure`), kept in the transaction of every order
change, and the dashboard's reads.

What an order contributes is the domain's rule (`ordering.domain.sales_figures`); here the change
between two contributions becomes one upsert in the write batch, its rows touched in key order.
Tenant-wide figures are spread over the status counters' slots so that concurrent orders of a
tenant rarely wait on one row; per-SKU figures stay in slot 0. The reads sum over the slots, one
statement per figure, each an index range of (tenant, metric, day).

`rebuild(tenant_id)` recomputes a tenant's rows from its orders through the same rule
(`manage.py rebuild_dashboard`, after an upgrade that added the table).
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

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


BACKLOG_CAP = 10_000


class OrmDashboardFigures:
    """`DashboardFigures` for one tenant (ordering/application/dashboard.py): each figure one
    statement, an index range of (tenant, metric, day) summed over the slots."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id

    def _sums(self, metric: str, since: date, until: date, *by: str) -> QuerySet:
        rows = models.DailyFigure.objects.filter(tenant_id=self.tenant_id, metric=metric, day__range=(since, until))
        return rows.order_by().values(*by).annotate(n=Sum("count"), total=Sum("amount")).order_by(*by)

    def per_day(self, metric: str, since: date, until: date) -> list[tuple[date, str, int, Decimal]]:
        rows = self._sums(metric, since, until, "day", "currency")
        return [(row["day"], row["currency"], row["n"] or 0, row["total"] or Decimal(0)) for row in rows]

    def totals(self, metric: str, since: date, until: date) -> list[tuple[str, int, Decimal]]:
        rows = self._sums(metric, since, until, "currency")
        return [(row["currency"], row["n"] or 0, row["total"] or Decimal(0)) for row in rows]

    def lead_buckets(self, since: date, until: date) -> dict[int, int]:
        rows = self._sums(sf.SHIPPED, since, until, "key")
        return {int(row["key"]): row["n"] or 0 for row in rows if row["key"].isdigit()}

    def top_products(self, since: date, until: date, limit: int) -> list[tuple[str, str, int, Decimal]]:
        """Whole months from the monthly rows, the days at either end from the daily ones."""
        days, months = sf.month_split(since, until)
        parts = Q(metric=sf.PRODUCT_MONTH, day__gte=months[0], day__lte=months[1]) if months else Q(pk__in=[])
        for first, last in days:
            parts |= Q(metric=sf.PRODUCT, day__gte=first, day__lte=last)
        rows = (
            models.DailyFigure.objects.filter(parts, tenant_id=self.tenant_id)
            .order_by()
            .values("key", "currency")
            .annotate(units=Sum("count"), total=Sum("amount"))
            .filter(units__gt=0)
            .order_by("-units", "key")[:limit]
        )
        return [(row["key"], row["currency"], row["units"], row["total"] or Decimal(0)) for row in rows]

    def status_counts(self) -> dict[str, int]:
        rows = (
            models.OrderStatusCount.objects.filter(tenant_id=self.tenant_id, scope="")
            .order_by()
            .values("status")
            .annotate(n=Sum("count"))
        )
        return {row["status"]: row["n"] or 0 for row in rows}

    def relay_backlog(self) -> tuple[int, float | None]:
        """Counted up to BACKLOG_CAP + 1, so a huge backlog costs no more than a large one; the
        outbox's index of undispatched events serves both statements."""
        waiting = models.OutboxEvent.objects.filter(tenant_id=self.tenant_id, dispatched_at__isnull=True)
        count = waiting.order_by("position").values("position")[: BACKLOG_CAP + 1].count()
        oldest = waiting.order_by("position").values_list("occurred_at", flat=True).first() if count else None
        return count, (timezone.now() - oldest).total_seconds() if oldest is not None else None


def rebuild(tenant_id: str, batch: int = 2000) -> int:
    """Recompute the tenant's rollup from its orders through the domain's rule; returns how many
    orders were read. Run inside the tenant's scope; it replaces the tenant's rows in one
    transaction."""
    from .repositories.order_rows import to_domain, with_children  # here: the repositories import this module

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
                sf.add_up(totals_by_key, sf.contribution(order))
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
