"""The `orders` connection: visibility per role, filters, search, sorts, cursors and query count."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ordering.infrastructure import models

from .conftest import ORDER_FIELDS

ORDERS = f"""
query($first: Int, $after: String, $filter: OrderFilter, $sort: OrderSort, $search: String) {{
  orders(first: $first, after: $after, filter: $filter, sort: $sort, search: $search) {{
    totalCount
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {{ {ORDER_FIELDS} }} }}
  }}
}}
"""


def orders(shop, token, **variables):
    return shop.gql.execute(ORDERS, variables, token=token)["orders"]


def ids(connection_):
    return [edge["node"]["id"] for edge in connection_["edges"]]


def refused(shop, token, code, field=None, **variables):
    body = shop.gql.post(ORDERS, variables, token=token).json()
    assert body["data"] is None, body
    assert body["errors"][0]["extensions"]["code"] == code, body
    if field is not None:
        assert body["errors"][0]["extensions"]["field"] == field


@pytest.fixture
def market(shop):
    """Five orders of cust-1 and one of cust-2, in creation order:
    draft (mug), pending (lamp), confirmed (mug+lamp), shipped (kettle), cancelled (mug x3),
    and cust-2's pending (kettle + lamp)."""
    made = {}
    made["draft"] = shop.draft(items=(("mug", 1),))
    made["pending"] = shop.placed(items=(("lamp", 1),))
    made["confirmed"] = shop.confirmed(items=(("mug", 1), ("lamp", 1)))
    shipped = shop.confirmed(items=(("kettle", 1),))
    made["shipped"] = shop.ok("shipOrder", shop.acme, orderId=shipped["id"], carrier="UPS", trackingNumber="1Z")
    cancelled = shop.placed(items=(("mug", 3),))
    made["cancelled"] = shop.ok("cancelOrder", shop.customer, orderId=cancelled["id"], reason="changed my mind")
    other = shop.checkout(
        (("kettle", 1), ("lamp", 1)),
        token=shop.other_customer,
        customer={"email": "bob@example.com", "firstName": "Bob", "lastName": "Babbage"},
    )
    made["other"] = shop.ok("placeOrder", shop.other_customer, orderId=other["order"]["id"])
    return {name: order["id"] for name, order in made.items()}


NEWEST_FIRST = ["other", "cancelled", "shipped", "confirmed", "pending", "draft"]


def test_staff_see_the_whole_tenant_newest_first(shop, market):
    page = orders(shop, shop.staff)
    assert ids(page) == [market[name] for name in NEWEST_FIRST]
    assert page["totalCount"] == 6
    assert page["pageInfo"]["hasNextPage"] is False and page["pageInfo"]["hasPreviousPage"] is False


def test_customers_see_their_own_orders(shop, market):
    assert ids(orders(shop, shop.customer)) == [market[n] for n in NEWEST_FIRST if n != "other"]
    mine = orders(shop, shop.other_customer)
    assert ids(mine) == [market["other"]] and mine["totalCount"] == 1


def test_vendors_see_placed_orders_with_their_lines_and_only_their_lines(shop, market):
    acme = orders(shop, shop.acme)
    assert ids(acme) == [market[n] for n in ("other", "cancelled", "shipped", "confirmed")], "no drafts, no lamps-only"
    assert acme["totalCount"] == 4
    for edge in acme["edges"]:
        node = edge["node"]
        assert {line["vendorId"] for line in node["lines"]} == {"acme"}
        assert {s["vendorId"] for s in node["shippingOptions"]} == {"acme"}
        assert node["payment"] is None
    other = acme["edges"][0]["node"]
    assert other["subtotal"]["amount"] == "39.00", "the kettle only, not globex's lamp"
    globex = orders(shop, shop.globex)
    assert ids(globex) == [market[n] for n in ("other", "confirmed", "pending")]


@pytest.mark.parametrize(
    "filter_, expected",
    [
        ({"status": ["PENDING"]}, ["other", "pending"]),
        ({"status": ["DRAFT", "CANCELLED"]}, ["cancelled", "draft"]),
        ({"paymentStatus": ["PAID"]}, ["shipped", "confirmed"]),
        ({"paymentStatus": ["UNPAID"], "status": ["PENDING"]}, ["other", "pending"]),
        ({"vendorId": "globex"}, ["other", "confirmed", "pending"]),
        ({"vendorId": "nobody"}, []),
        ({"customerId": "cust-2"}, ["other"]),
    ],
)
def test_filters(shop, market, filter_, expected):
    page = orders(shop, shop.staff, filter=filter_)
    assert ids(page) == [market[name] for name in expected]
    assert page["totalCount"] == len(expected)


def test_filters_narrow_what_the_role_sees(shop, market):
    assert ids(orders(shop, shop.customer, filter={"vendorId": "globex"})) == [market["confirmed"], market["pending"]]
    assert ids(orders(shop, shop.acme, filter={"vendorId": "globex"})) == [market["other"], market["confirmed"]]
    assert ids(orders(shop, shop.acme, filter={"status": ["DRAFT"]})) == []


def test_only_staff_filter_by_customer(shop, market):
    refused(shop, shop.customer, "FORBIDDEN", filter={"customerId": "cust-2"})
    refused(shop, shop.acme, "FORBIDDEN", filter={"customerId": "cust-1"})


def test_created_between(shop, market):
    days = {"draft": 1, "pending": 2, "confirmed": 3, "shipped": 4, "cancelled": 5, "other": 6}
    for name, day in days.items():
        models.Order.objects.filter(id=market[name]).update(created_at=datetime(2026, 3, day, 12, tzinfo=UTC))
    page = orders(
        shop,
        shop.staff,
        filter={"createdAfter": "2026-03-02T12:00:00+00:00", "createdBefore": "2026-03-05T12:00:00+00:00"},
    )
    assert ids(page) == [market[n] for n in ("shipped", "confirmed", "pending")], "after is inclusive, before is not"
    response = shop.gql.post(ORDERS, {"filter": {"createdAfter": "yesterday"}}, token=shop.staff)
    assert response.status_code == 400 and "DateTime" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "search, expected",
    [
        ("1001", ["pending"]),
        ("acme-kettle", ["other", "shipped"]),
        ("DESK LAMP", ["other", "confirmed", "pending"]),
        ("lovelace", ["cancelled", "shipped", "confirmed", "pending", "draft"]),
        ("ada lovelace", ["cancelled", "shipped", "confirmed", "pending", "draft"]),
        ("bob@example", ["other"]),
        ("  mug ", ["cancelled", "confirmed", "draft"]),
        ("nothing-like-this", []),
    ],
)
def test_search(shop, market, search, expected):
    page = orders(shop, shop.staff, search=search)
    assert ids(page) == [market[name] for name in expected]
    assert page["totalCount"] == len(expected)


def test_a_vendor_searches_only_what_it_may_see(shop, market):
    assert ids(orders(shop, shop.acme, search="glx-lamp")) == [], "another vendor's SKU reveals nothing"
    assert ids(orders(shop, shop.acme, search="desk lamp")) == []
    assert ids(orders(shop, shop.acme, search="acme-kettle")) == [market["other"], market["shipped"]]
    assert ids(orders(shop, shop.acme, search="babbage")) == [market["other"]]
    assert ids(orders(shop, shop.acme, search="bob babbage")) == [market["other"]]
    assert ids(orders(shop, shop.acme, search="1002")) == [market["confirmed"]]
    assert ids(orders(shop, shop.customer, search="bob")) == [], "a customer searches its own orders"
    refused(shop, shop.staff, "INVALID", "search", search="x" * 201)


def test_sorts(shop, market):
    totals = {edge["node"]["id"]: edge["node"]["total"]["amount"] for edge in orders(shop, shop.staff)["edges"]}
    by_total = sorted(totals, key=lambda i: (float(totals[i]), i))
    assert ids(orders(shop, shop.staff, sort="TOTAL_ASC")) == by_total
    assert ids(orders(shop, shop.staff, sort="TOTAL_DESC")) == by_total[::-1]
    assert ids(orders(shop, shop.staff, sort="CREATED_AT_ASC")) == [market[n] for n in reversed(NEWEST_FIRST)]
    assert ids(orders(shop, shop.staff, sort="CREATED_AT_DESC")) == [market[n] for n in NEWEST_FIRST]


@pytest.mark.parametrize("sort", ["CREATED_AT_DESC", "CREATED_AT_ASC", "TOTAL_DESC", "TOTAL_ASC"])
def test_cursor_pages_cover_every_order_once(shop, market, sort):
    everything = ids(orders(shop, shop.staff, sort=sort, first=100))
    seen, after, pages = [], None, 0
    while True:
        page = orders(shop, shop.staff, sort=sort, first=4 if pages == 0 else 1, after=after)
        assert page["totalCount"] == 6, "the count ignores the cursor"
        seen += ids(page)
        pages += 1
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]
    assert seen == everything and pages == 3


def test_equal_totals_page_by_id(shop):
    for _ in range(5):
        shop.draft(items=(("kettle", 1),))
    everything = ids(orders(shop, shop.staff, sort="TOTAL_ASC"))
    first = orders(shop, shop.staff, sort="TOTAL_ASC", first=2)
    rest = orders(shop, shop.staff, sort="TOTAL_ASC", first=10, after=first["pageInfo"]["endCursor"])
    assert ids(first) + ids(rest) == everything and len(everything) == 5


def test_bad_pages_are_invalid(shop, market):
    cursor = orders(shop, shop.staff, first=1)["pageInfo"]["endCursor"]
    refused(shop, shop.staff, "INVALID", "after", after="not-a-cursor")
    refused(shop, shop.staff, "INVALID", "after", after=cursor, sort="TOTAL_ASC")
    refused(shop, shop.staff, "INVALID", "first", first=0)
    refused(shop, shop.staff, "INVALID", "first", first=101)
    assert len(ids(orders(shop, shop.staff, first=100))) == 6


def test_callers_without_a_role_see_nothing(shop, market):
    from tests.tokens import hs_token

    nobody = hs_token(shop.tenant, sub="someone", roles=[])
    assert orders(shop, nobody) == {
        "totalCount": 0,
        "edges": [],
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None, "endCursor": None},
    }


# -- cost -------------------------------------------------------------------------------------


def _shipped_orders(shop, count):
    for _ in range(count):
        order = shop.confirmed(items=(("mug", 2), ("kettle", 1), ("lamp", 1)), couponCodes=["WELCOME5"])
        shop.ok("shipOrder", shop.acme, orderId=order["id"], carrier="UPS", trackingNumber="1Z")


def _queries_for_a_page(shop, first):
    with CaptureQueriesContext(connection) as captured:
        page = orders(shop, shop.staff, first=first)
    assert len(page["edges"]) == first
    assert all(edge["node"]["shipments"] and edge["node"]["history"] for edge in page["edges"])
    return len(captured)


# Authentication (tenant and authorization snapshot), COUNT, the page, and one query per child
# table (lines, shipping, coupons, shipments, history).
PAGE_QUERIES = 9


def page_queries() -> int:
    """PAGE_QUERIES plus the request's tenant transaction as a test sees it: a savepoint and its
    release (the test's own transaction is outside), and on PostgreSQL the statement setting
    the tenant scope and the one restoring the test transaction's role."""
    return PAGE_QUERIES + 2 + (2 if connection.vendor == "postgresql" else 0)


def test_a_page_costs_the_same_number_of_queries_whatever_its_size(shop, django_assert_max_num_queries, settings):
    # The per-process auth cache must not expire between the two counts: making 50 shipped
    # orders can take longer than its 5 s on a busy machine, and a refill is one query more.
    settings.OMS_AUTH_CACHE_SECONDS = 3600
    _shipped_orders(shop, 50)
    assert _queries_for_a_page(shop, 2) == _queries_for_a_page(shop, 50)
    with django_assert_max_num_queries(page_queries()):
        page = orders(shop, shop.staff, first=50)
    assert len(page["edges"]) == 50 and page["totalCount"] == 50
    with django_assert_max_num_queries(page_queries()):
        orders(shop, shop.acme, first=50, search="mug", filter={"status": ["PARTIALLY_SHIPPED"]})
