"""`make bench-dashboard`: the admin's start page with the dashboard, for a tenant staff member of a
tenant with BENCH_DASHBOARD_ORDERS orders (default 1,000,000 over a year, two lines each over
997 SKUs, seeded with SQL by bench/orders_list.py's seed), under the tenant's row-level security
scope as in production. Prints the page's server time (median and p95 of RUNS requests through
Django's test client, middleware included) and its SQL statements, for the default range (30
days) and a year. The target (issue 33): under 200 ms at 1,000,000 orders.

The daily rollup is seeded the way the write batch keeps it: one row per (day, metric, currency,
key) and slot, the tenant-wide figures' slots spread as concurrent writers spread them, the per-SKU
figures in slot 0, a row per SKU and day and per SKU and month.

    make bench-dashboard
    BENCH_DASHBOARD_ORDERS=100000 make bench-dashboard
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
URL = f"{PG}/oms_bench_dashboard"
ORDERS = int(os.environ.get("BENCH_DASHBOARD_ORDERS", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "30"))
os.environ["DATABASE_URL"] = URL
sys.path.insert(0, str(BENCH))

import orders_list  # noqa: E402 (reads DATABASE_URL at import)

# What the write batch would have written for the seeded orders (ordering.domain.sales_figures):
# placed orders and revenue, units per SKU, cancellations, and first shipments in buckets.
ROLLUP = """
DELETE FROM ordering_daily_figure WHERE tenant_id = %(tenant)s;
INSERT INTO ordering_daily_figure (tenant_id, metric, day, currency, key, slot, count, amount)
SELECT tenant_id, 'placed', (placed_at AT TIME ZONE 'UTC')::date, currency, '', number::int %% 8, count(*), sum(total)
FROM ordering_order WHERE tenant_id = %(tenant)s AND placed_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO ordering_daily_figure (tenant_id, metric, day, currency, key, slot, count, amount)
SELECT o.tenant_id, 'product', (o.placed_at AT TIME ZONE 'UTC')::date, o.currency, l.sku, 0,
       sum(l.quantity), sum(l.subtotal - l.discount)
FROM ordering_order o JOIN ordering_order_line l ON l.tenant_id = o.tenant_id AND l.order_id = o.id
WHERE o.tenant_id = %(tenant)s AND o.placed_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO ordering_daily_figure (tenant_id, metric, day, currency, key, slot, count, amount)
SELECT o.tenant_id, 'product_month', date_trunc('month', o.placed_at AT TIME ZONE 'UTC')::date, o.currency, l.sku, 0,
       sum(l.quantity), sum(l.subtotal - l.discount)
FROM ordering_order o JOIN ordering_order_line l ON l.tenant_id = o.tenant_id AND l.order_id = o.id
WHERE o.tenant_id = %(tenant)s AND o.placed_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO ordering_daily_figure (tenant_id, metric, day, currency, key, slot, count, amount)
SELECT tenant_id, 'cancelled', (placed_at AT TIME ZONE 'UTC')::date, currency, '', number::int %% 8,
       count(*), sum(total)
FROM ordering_order WHERE tenant_id = %(tenant)s AND status = 'CANCELLED' GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO ordering_daily_figure (tenant_id, metric, day, currency, key, slot, count, amount)
SELECT tenant_id, 'shipped', (placed_at AT TIME ZONE 'UTC')::date, currency, (number::int %% 14)::text,
       number::int %% 8, count(*), sum(3600 * (number::int %% 14))
FROM ordering_order WHERE tenant_id = %(tenant)s AND status IN ('SHIPPED', 'DELIVERED', 'COMPLETED')
GROUP BY 1, 2, 3, 4, 5, 6;
ANALYZE ordering_daily_figure;
"""


def seed_rollup(tenant: str) -> tuple[float, int]:
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(URL, autocommit=True) as conn:
        for statement in (s for s in ROLLUP.split(";") if s.strip()):
            conn.execute(statement, {"tenant": tenant})
        rows = conn.execute("SELECT count(*) FROM ordering_daily_figure WHERE tenant_id = %s", [tenant]).fetchone()[0]
    return time.perf_counter() - started, rows


def measure(client, params: dict) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings, statements = [], 0
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get("/admin/", params)
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and b'id="dashboard-data"' in response.content, response.status_code
        statements = len(captured)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1], statements


def main() -> None:
    print(f"make bench-dashboard: {ORDERS:,} orders (2 lines each, 997 SKUs, a year) in tenant bench, {PG}")
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_project.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    again = os.environ.get("BENCH_SKIP_SEED") == "1"  # the orders of an earlier run, to measure again
    if not again:
        orders_list.setup_database()
    import django

    django.setup()
    if not again:
        print(f"  orders seeded in {orders_list.seed('bench', 1, ORDERS):.1f} s")
    seconds, rows = seed_rollup("bench")
    print(f"  rollup seeded in {seconds:.1f} s: {rows:,} rows")

    from datetime import timedelta

    from django.contrib.auth.models import User
    from django.test import Client
    from django.utils import timezone

    from identity.infrastructure.models import Tenant, TenantStaffMember

    user, _ = User.objects.get_or_create(username="bench-staff", defaults={"is_staff": True})
    TenantStaffMember.objects.get_or_create(user=user, tenant=Tenant.objects.get(pk="bench"))
    client = Client()
    client.force_login(user)
    today = timezone.now().date()
    print(f"  {'range':<22} {'median ms':>10} {'p95 ms':>8} {'statements':>11}")
    for label, params in (
        ("last 30 days", {}),
        ("last 365 days", {"since": (today - timedelta(days=364)).isoformat(), "until": today.isoformat()}),
    ):
        client.get("/admin/", params)  # warm
        median, p95, statements = measure(client, params)
        print(f"  {label:<22} {median:>10.1f} {p95:>8.1f} {statements:>11}")


if __name__ == "__main__":
    main()
