"""Order counts by status for three kinds of scope, kept in the transaction of every change.

Scopes: the whole tenant (""), a vendor ("v:<vendor id>": orders with at least one of its
lines) and a customer ("c:<user id>"). When an order is added or saved, its old (status, scopes)
loses one and its new (status, scopes) gains one, netted, in a single upsert; rows are always
touched in (scope, status, slot) order, so two transactions never wait on each other in a cycle.
Tenant and vendor rows use one of SLOTS random slots to spread concurrent transitions; a
customer's rows use slot 0. A count is the sum over its slots.

`rebuild_sql` recomputes a tenant's rows from the orders and their lines (the migration that
added the table; bench seeding).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable

from django.db import connection
from django.db.models import BigIntegerField, Subquery, Sum
from django.db.models.functions import Coalesce

from . import models

SLOTS = 8
_UPSERT = (
    "INSERT INTO ordering_order_status_count (tenant_id, scope, status, slot, count) VALUES {values} "
    "ON CONFLICT (tenant_id, scope, status, slot) DO UPDATE "
    "SET count = ordering_order_status_count.count + EXCLUDED.count"
)


def vendor_scope(vendor_id: str) -> str:
    return f"v:{vendor_id}"


def customer_scope(user_id: str) -> str:
    return f"c:{user_id}"


def scopes_of(customer_user_id: str, vendor_ids: Iterable[str]) -> frozenset[str]:
    scopes = {""} | {vendor_scope(v) for v in vendor_ids}
    if customer_user_id:
        scopes.add(customer_scope(customer_user_id))
    return frozenset(scopes)


def record_change(tenant_id: str, before: tuple[str, frozenset[str]] | None, after: tuple[str, frozenset[str]]) -> None:
    """`before`/`after`: (status, scopes) of the order as it was loaded and as it is written."""
    change = change_sql(tenant_id, before, after)
    if change is not None:
        with connection.cursor() as cursor:
            cursor.execute(*change)


def change_sql(
    tenant_id: str, before: tuple[str, frozenset[str]] | None, after: tuple[str, frozenset[str]]
) -> tuple[str, list] | None:
    """The counter upsert `record_change` sends, as (sql, params); None when nothing changes."""
    deltas: Counter[tuple[str, str]] = Counter()
    if before is not None:
        status, scopes = before
        deltas.subtract({(scope, status): 1 for scope in scopes})
    status, scopes = after
    deltas.update({(scope, status): 1 for scope in scopes})
    rows = sorted((scope, status, delta) for (scope, status), delta in deltas.items() if delta)
    if not rows:
        return None
    slot = random.randrange(SLOTS)
    params = []
    for scope, status, delta in rows:
        params += [tenant_id, scope, status, 0 if scope.startswith("c:") else slot, delta]
    return _UPSERT.format(values=", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))), params


def _counters(tenant_id: str, scope: str, statuses: Iterable[str] | None):
    rows = models.OrderStatusCount.objects.filter(tenant_id=tenant_id, scope=scope)
    if statuses is not None:
        rows = rows.filter(status__in=list(statuses))
    return rows


def count(tenant_id: str, scope: str = "", statuses: Iterable[str] | None = None) -> int:
    return _counters(tenant_id, scope, statuses).aggregate(total=Sum("count"))["total"] or 0


def count_expression(tenant_id: str, scope: str = "", statuses: Iterable[str] | None = None) -> Subquery:
    """The same count as a scalar subquery, to ride along with another query (the orders page)."""
    total = (
        _counters(tenant_id, scope, statuses)
        .order_by()
        .values("tenant_id")
        .annotate(total=Sum("count"))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=BigIntegerField()), 0)


def rebuild_sql() -> list[str]:
    """Statements recomputing one tenant's counters (one parameter each: the tenant id)."""
    return [
        "DELETE FROM ordering_order_status_count WHERE tenant_id = %s",
        "INSERT INTO ordering_order_status_count (tenant_id, scope, status, slot, count) "
        "SELECT tenant_id, '', status, 0, count(*) FROM ordering_order WHERE tenant_id = %s "
        "GROUP BY tenant_id, status",
        "INSERT INTO ordering_order_status_count (tenant_id, scope, status, slot, count) "
        "SELECT tenant_id, 'c:' || customer_user_id, status, 0, count(*) FROM ordering_order "
        "WHERE tenant_id = %s AND customer_user_id <> '' GROUP BY tenant_id, customer_user_id, status",
        "INSERT INTO ordering_order_status_count (tenant_id, scope, status, slot, count) "
        "SELECT o.tenant_id, 'v:' || l.vendor_id, o.status, 0, count(DISTINCT o.id) "
        "FROM ordering_order o JOIN ordering_order_line l ON l.tenant_id = o.tenant_id AND l.order_id = o.id "
        "WHERE o.tenant_id = %s GROUP BY o.tenant_id, l.vendor_id, o.status",
    ]


def rebuild(tenant_id: str) -> None:
    with connection.cursor() as cursor:
        for sql in rebuild_sql():
            cursor.execute(sql, [tenant_id])
