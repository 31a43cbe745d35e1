"""Status counters: kept in the transaction of every change, and what `totalCount` reads for
one scope (the tenant, a vendor, a customer) narrowed by status, so it costs the same at any
tenant size."""

from __future__ import annotations

from django.db import connection
from django.db.models import Count, Sum
from django.test.utils import CaptureQueriesContext

from ordering.infrastructure import models, order_counts

from .test_api_orders_list import orders


def counted() -> dict[tuple[str, str], int]:
    rows = models.OrderStatusCount.objects.values("scope", "status").annotate(n=Sum("count"))
    return {(r["scope"], r["status"]): r["n"] for r in rows if r["n"]}


def actual() -> dict[tuple[str, str], int]:
    """The same figures, counted from the orders and their lines."""
    result = {("", r["status"]): r["n"] for r in models.Order.objects.values("status").annotate(n=Count("id"))}
    for r in models.Order.objects.values("customer_user_id", "status").annotate(n=Count("id")):
        result[(f"c:{r['customer_user_id']}", r["status"])] = r["n"]
    for r in models.OrderLine.objects.values("vendor_id", "order__status").annotate(n=Count("order_id", distinct=True)):
        result[(f"v:{r['vendor_id']}", r["order__status"])] = r["n"]
    return result


def no_order_count(queries) -> bool:
    return not [q for q in queries.captured_queries if "COUNT(" in q["sql"] and '"ordering_order"' in q["sql"]]


def test_counters_follow_every_change_and_refusals_leave_them_alone(shop):
    draft = shop.draft()
    shop.ok("updateCheckoutItems", shop.customer, orderId=draft["id"], items=[{"productId": "lamp", "quantity": 1}])
    shop.placed()
    cancelled = shop.placed(items=(("mug", 1),))
    shop.ok("cancelOrder", shop.customer, orderId=cancelled["id"], reason="r")
    shipped = shop.confirmed()
    shop.ok("shipOrder", shop.acme, orderId=shipped["id"], carrier="UPS", trackingNumber="1")
    refused = shop.call("cancelOrder", shop.customer, orderId=cancelled["id"], reason="again")
    assert refused["errors"][0]["code"] == "INVALID_TRANSITION"
    assert counted() == actual()
    assert counted()[("v:globex", "DRAFT")] == 1 and ("v:acme", "DRAFT") not in counted()  # the draft lost its mug
    assert counted()[("", "PARTIALLY_SHIPPED")] == 1 and counted()[("c:cust-1", "CANCELLED")] == 1


def test_total_count_comes_from_the_counters_for_every_role(shop):
    for _ in range(3):
        shop.placed()
    shop.confirmed(items=(("lamp", 1),))
    shop.draft()
    cases = [
        (shop.staff, {}, 5),
        (shop.staff, {"filter": {"status": ["CONFIRMED"]}}, 1),
        (shop.staff, {"filter": {"status": ["CONFIRMED", "PENDING"]}}, 4),
        (shop.staff, {"filter": {"vendorId": "acme"}}, 4),
        (shop.staff, {"filter": {"customerId": "cust-1"}}, 5),
        (shop.customer, {}, 5),
        (shop.customer, {"filter": {"status": ["DRAFT"]}}, 1),
        (shop.acme, {}, 3),
        (shop.globex, {}, 4),
        (shop.globex, {"filter": {"status": ["CONFIRMED"]}}, 1),
        (shop.acme, {"filter": {"vendorId": "acme", "status": ["DRAFT"]}}, 0),
    ]
    for token, variables, expected in cases:
        with CaptureQueriesContext(connection) as queries:
            page = orders(shop, token, first=1, **variables)
        assert page["totalCount"] == expected, variables
        assert no_order_count(queries), variables
    # Search, payment status and dates count the rows they filter.
    with CaptureQueriesContext(connection) as queries:
        assert orders(shop, shop.staff, search="1001")["totalCount"] == 1
    assert not no_order_count(queries)
    assert orders(shop, shop.staff, filter={"paymentStatus": ["PAID"]})["totalCount"] == 1


def test_rebuild_recomputes_a_tenants_counters(shop):
    shop.placed()
    shop.confirmed()
    models.OrderStatusCount.objects.update(count=99)
    order_counts.rebuild("tenant-a")
    assert counted() == actual()
