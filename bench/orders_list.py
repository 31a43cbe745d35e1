"""The `orders` page as a tenant grows: latency and SQL queries per page at each size.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oms_bench_list .venv/bin/python bench/orders_list.py
    BENCH_SIZES=10000,100000,1000000 ...   (default 10000,100000; the database is dropped and rebuilt)

Orders are seeded with SQL (two lines and one history entry each, 40 customers, 20 vendors, mixed
statuses over a year) into tenant `bench`, next to a tenant `other` of 10% that size. Each
figure is the median and p95 of 30 POSTs of the GraphQL query through Django's test client
in-process (no HTTP server), with 50 orders per page and their lines, shipments and history.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import recreate_database

ROOT = Path(__file__).resolve().parent.parent
SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000").split(",")]
RUNS = int(os.environ.get("BENCH_RUNS", "30"))
URL = os.environ.get("DATABASE_URL", "")

FIELDS = (
    "id number status total { amount } lines { sku quantity total { amount } } "
    "shipments { trackingNumber } history { at toStatus }"
)
QUERY = (
    "query($first: Int, $after: String, $filter: OrderFilter, $sort: OrderSort, $search: String) "
    "{ orders(first: $first, after: $after, filter: $filter, sort: $sort, search: $search) "
    f"{{ totalCount pageInfo {{ endCursor }} edges {{ node {{ {FIELDS} }} }} }} }}"
)

SEED = """
INSERT INTO ordering_order (
  id, tenant_id, number, status, payment_status, currency, customer_user_id, customer_email,
  customer_first_name, customer_last_name, customer_phone, shipping_line1, shipping_line2, shipping_city,
  shipping_state, shipping_postal_code, shipping_country, subtotal, discount_total, shipping_total, total,
  payment_method, payment_reference, payment_amount, paid_at, cancel_reason, cancelled_by, cancelled_at,
  search_text, version, event_sequence, created_at, updated_at, placed_at{order_columns})
SELECT gen_random_uuid(), %(tenant)s, (1000 + n)::text,
  (ARRAY['PENDING','CONFIRMED','SHIPPED','DELIVERED','COMPLETED','CANCELLED'])[1 + n %% 6],
  CASE WHEN n %% 6 IN (0, 5) THEN 'UNPAID' ELSE 'PAID' END, 'USD',
  'cust-' || (n %% 40), 'cust' || (n %% 40) || '@example.com', 'First' || (n %% 40), 'Last' || (n %% 40), '',
  '1 Main St', '', 'Springfield', '', '12345', 'US',
  (n %% 500) + 20, 0, 5, (n %% 500) + 25, '', '', NULL, NULL, '', '', NULL,
  lower((1000 + n)::text || ' cust' || (n %% 40) || '@example.com first' || (n %% 40) || ' last' || (n %% 40)
        || ' sku-' || (n %% 997) || ' product ' || (n %% 997) || ' sku-' || ((n + 1) %% 997)),
  2, 2, ts, ts, ts{order_values}
FROM (SELECT n, now() - (interval '365 days' * (1 - n::float / %(last)s::int)) AS ts
      FROM generate_series(%(first)s::int, %(last)s::int) AS n) AS s;
INSERT INTO ordering_order_line (id, tenant_id, order_id, position, product_id, vendor_id, sku, product_name,
  quantity, unit_price, subtotal, discount, offer_id, shipped_quantity{line_columns})
SELECT gen_random_uuid(), o.tenant_id, o.id, p, 'p-' || k, 'vendor-' || (k %% 20), 'SKU-' || k, 'Product ' || k,
  1 + p, 10, 10 * (1 + p), 0, '', 0{line_values}
FROM ordering_order o, LATERAL (SELECT p, (o.number::int - 1000 + p) %% 997 AS k FROM generate_series(0, 1) AS p) l
WHERE o.tenant_id = %(tenant)s AND o.number::int - 1000 BETWEEN %(first)s::int AND %(last)s::int;
INSERT INTO ordering_order_history (tenant_id, order_id, position, at, actor, from_status, to_status, note)
SELECT tenant_id, id, 1, created_at, customer_user_id, '', status, ''
FROM ordering_order WHERE tenant_id = %(tenant)s AND number::int - 1000 BETWEEN %(first)s::int AND %(last)s::int;
"""


def setup_database() -> None:
    recreate_database(URL)
    env = dict(os.environ, DEBUG="1")
    for args in (
        ["migrate", "--noinput", "-v0"],
        ["create_tenant", "--id", "bench", "--hs256-secret", "b" * 40],
        ["create_tenant", "--id", "other", "--hs256-secret", "o" * 40],
    ):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)


def _defaults(conn, model, statement: str) -> tuple[str, str]:
    """The columns the seed's INSERT into `model`'s table leaves out, with the model's defaults
    (Django keeps them in Python, not in the table), so a new column cannot break the seed."""
    import json

    from django.db.models import AutoField, JSONField
    from psycopg import sql

    listed = statement.split("(", 1)[1].split(")", 1)[0]
    given = {name.strip() for name in listed.replace("{", ",").split(",")}
    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.column in given or field.generated or isinstance(field, AutoField):
            continue
        if field.has_default() or (not field.null and field.empty_strings_allowed):
            default = field.get_default()  # "" for a text field without one, as Django's own insert
            literal = (
                sql.Literal(json.dumps(default)).as_string(conn) + "::jsonb"
                if isinstance(field, JSONField)
                else sql.Literal(default).as_string(conn)
            )
        elif field.null:
            literal = "NULL"
        else:
            raise SystemExit(f"the seed must give {model.__name__}.{field.name}: it has no default")
        columns.append(field.column)
        values.append(literal.replace("%", "%%"))
    return "".join(f", {c}" for c in columns), "".join(f", {v}" for v in values)


def seed(tenant: str, first: int, last: int) -> float:
    import psycopg

    from ordering.infrastructure import models

    started = time.perf_counter()
    with psycopg.connect(URL) as conn:
        statements = [s for s in SEED.split(";") if s.strip()]
        order_columns, order_values = _defaults(conn, models.Order, statements[0])
        line_columns, line_values = _defaults(conn, models.OrderLine, statements[1])
        for statement in statements:
            statement = statement.replace("{order_columns}", order_columns).replace("{order_values}", order_values)
            statement = statement.replace("{line_columns}", line_columns).replace("{line_values}", line_values)
            conn.execute(statement, {"tenant": tenant, "first": first, "last": last})
        # The status counters behind totalCount, recomputed as the migration does.
        from ordering.infrastructure.order_counts import rebuild_sql

        for statement in rebuild_sql():
            conn.execute(statement, [tenant])
        conn.execute("ANALYZE")
    return time.perf_counter() - started


def token(roles: list[str], sub: str, vendor_id: str | None = None) -> str:
    import jwt

    from identity.infrastructure.models import Tenant

    tenant = Tenant.objects.get(id="bench")
    now = int(time.time())
    claims = {"sub": sub, "tenant_id": "bench", "roles": roles, "iat": now, "exp": now + 3600}
    if tenant.jwt_issuer:
        claims["iss"] = tenant.jwt_issuer
    if tenant.jwt_audience:
        claims["aud"] = tenant.jwt_audience
    if vendor_id:
        claims["vendor_id"] = vendor_id
    return jwt.encode(claims, tenant.jwt_hs256_secret, algorithm="HS256")


def measure(client, bearer: str, variables: dict) -> tuple[float, float, int, int]:
    import json

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    body = json.dumps({"query": QUERY, "variables": variables})
    timings, queries, total = [], 0, 0
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.post(
                "/graphql/", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {bearer}"
            )
            timings.append((time.perf_counter() - started) * 1000)
        data = response.json()
        assert response.status_code == 200 and "errors" not in data, data
        queries, total = len(captured), data["data"]["orders"]["totalCount"]
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1], queries, total


def main() -> None:
    if not URL.startswith("postgres"):
        sys.exit("set DATABASE_URL to a PostgreSQL database this benchmark may drop and rebuild")
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_project.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # no access line per request in the figures
    setup_database()
    import django

    django.setup()
    from django.test import Client

    client = Client()
    staff, customer = token(["staff"], "staff-1"), token(["customer"], "cust-7")
    vendor = token(["vendor"], "v-3", vendor_id="vendor-3")
    cases = [
        ("staff, newest first", staff, {"first": 50}),
        ("staff, total desc", staff, {"first": 50, "sort": "TOTAL_DESC"}),
        ("staff, status CONFIRMED", staff, {"first": 50, "filter": {"status": ["CONFIRMED"]}}),
        ("staff, vendor filter", staff, {"first": 50, "filter": {"vendorId": "vendor-11"}}),
        ("staff, search a SKU", staff, {"first": 50, "search": "sku-123"}),
        ("customer, own orders", customer, {"first": 50}),
        ("vendor, its orders", vendor, {"first": 50}),
    ]
    print(f"orders page of 50 with lines, shipments and history; PostgreSQL; {RUNS} runs per figure")
    print(f"{'orders in tenant':>16}  {'case':<26} {'p50 ms':>8} {'p95 ms':>8} {'SQL':>4} {'totalCount':>11}")
    seeded = 0
    for size in SIZES:
        took = seed("bench", seeded + 1, size) + seed("other", seeded // 10 + 1, size // 10)
        seeded = size
        print(f"{size:>16,}  (seeded in {took:.1f} s)")
        for label, bearer, variables in cases:
            p50, p95, queries, total = measure(client, bearer, variables)
            print(f"{'':>16}  {label:<26} {p50:8.1f} {p95:8.1f} {queries:4d} {total:11,}")
        # The page after the first: a keyset cursor, not an OFFSET.
        first_page = client.post(
            "/graphql/",
            {"query": QUERY, "variables": {"first": 50}},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {staff}",
        ).json()
        cursor = first_page["data"]["orders"]["pageInfo"]["endCursor"]
        p50, p95, queries, total = measure(client, staff, {"first": 50, "after": cursor})
        print(f"{'':>16}  {'staff, second page':<26} {p50:8.1f} {p95:8.1f} {queries:4d} {total:11,}")


if __name__ == "__main__":
    main()
