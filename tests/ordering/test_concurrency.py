"""Real concurrent transactions on PostgreSQL, each request on its own connection.

To make the race certain rather than likely, the test holds a row lock that both requests need,
waits until PostgreSQL reports both requests blocked on a lock, then lets go.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import contextmanager

import pytest
from django.db import connection, transaction
from django.test import Client, override_settings

from ordering.infrastructure import models
from tests.conftest import GraphQLClient, requires_postgres

from .conftest import Shop

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def wait_until_blocked(count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # statistics views are cached per transaction
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return
        time.sleep(0.02)
    raise AssertionError(f"{count} requests never blocked on a lock")


@contextmanager
def holding(rows) -> None:
    """Hold FOR UPDATE locks on `rows` (a queryset) until the block ends."""
    with transaction.atomic():
        assert list(rows.select_for_update())
        yield


@contextmanager
def holding_inserts_into(table: str) -> None:
    """Let requests read `table` but queue their inserts until the block ends."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        yield


def race(shop: Shop, calls: list[tuple[str, str, dict]], gate: Callable[[], object]) -> list[dict]:
    """Run the mutations at once, each in its own thread and connection, while `gate` holds the
    lock they queue on; return their payloads in the order of `calls`. The serving capacity is
    raised for the race: these are database races, and admission (oms_project/admission) would
    refuse a tenant's requests beyond this process's eight at once."""
    results: list[dict | BaseException] = [None] * len(calls)

    def call(index: int, name: str, token: str, variables: dict) -> None:
        try:
            body = GraphQLClient(Client()).post(_mutation(name), variables, token=token).json()
            results[index] = body
        except BaseException as error:  # surfaced by the assertion below
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(i, *c)) for i, c in enumerate(calls)]
    with override_settings(OMS_SERVING_CAPACITY=len(calls) + 8):
        with gate():
            for thread in threads:
                thread.start()
            wait_until_blocked(len(calls))
        for thread in threads:
            thread.join(30)
    assert all(isinstance(r, dict) for r in results), results
    return [
        r["data"][name] if r.get("data") and r["data"].get(name) is not None else r
        for r, (name, _, _) in zip(results, calls, strict=True)
    ]


def _mutation(name: str) -> str:
    from .conftest import mutation

    return mutation(name)


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload.get("errors", [])]


def test_two_placements_with_one_idempotency_key_make_one_order(shop):
    draft = shop.draft()
    variables = {"orderId": draft["id"], "idempotencyKey": "place-once"}
    first, second = race(
        shop,
        [("placeOrder", shop.customer, variables)] * 2,
        lambda: holding(models.Order.objects.filter(id=draft["id"])),
    )
    assert codes(first) == codes(second) == []
    assert first["order"] == second["order"]
    assert first["order"]["number"] == "1001"
    row = models.Order.objects.get(id=draft["id"])
    assert row.status == "PENDING" and row.version == 2
    assert list(models.OrderNumberCounter.objects.values_list("last_number", flat=True)) == [1]
    assert models.IdempotencyKey.objects.filter(operation="placeOrder").count() == 1
    assert models.OrderHistoryEntry.objects.filter(order_id=draft["id"], to_status="PENDING").count() == 1


def test_two_checkouts_with_one_idempotency_key_make_one_order(shop):
    variables = {
        "items": [{"productId": "kettle", "quantity": 1}],
        "idempotencyKey": "cart-once",
        "shippingAddress": {"line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "US"},
        "customer": {"email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace"},
    }
    # Both have looked the key up and found nothing before either may insert it.
    first, second = race(
        shop,
        [("checkoutItems", shop.customer, variables)] * 2,
        lambda: holding_inserts_into("ordering_idempotency_key"),
    )
    assert codes(first) == codes(second) == []
    assert first["order"]["id"] == second["order"]["id"]
    assert models.Order.objects.count() == 1


def test_cancel_racing_ship_exactly_one_wins(shop):
    order = shop.confirmed(items=(("kettle", 1),))
    cancel, ship = race(
        shop,
        [
            ("cancelOrder", shop.staff, {"orderId": order["id"], "reason": "customer called"}),
            ("shipOrder", shop.acme, {"orderId": order["id"], "carrier": "UPS", "trackingNumber": "1Z"}),
        ],
        lambda: holding(models.Order.objects.filter(id=order["id"])),
    )
    outcomes = sorted([codes(cancel), codes(ship)])
    assert outcomes == [[], ["INVALID_TRANSITION"]], (cancel, ship)
    row = models.Order.objects.get(id=order["id"])
    if codes(cancel) == []:
        assert row.status == "CANCELLED" and models.Shipment.objects.count() == 0
    else:
        assert row.status == "SHIPPED" and row.cancel_reason == ""
    assert row.version == 4


def test_the_last_use_of_a_coupon_goes_to_one_of_two_concurrent_placements(shop):
    first = shop.draft(items=(("kettle", 1),), couponCodes=["ONCE"])
    second = shop.draft(items=(("kettle", 1),), couponCodes=["ONCE"])
    models.CouponUsage.objects.create(tenant_id=shop.tenant.id, code="ONCE", used=0)
    a, b = race(
        shop,
        [
            ("placeOrder", shop.customer, {"orderId": first["id"]}),
            ("placeOrder", shop.customer, {"orderId": second["id"]}),
        ],
        lambda: holding(models.CouponUsage.objects.filter(code="ONCE")),
    )
    assert sorted([codes(a), codes(b)]) == [[], ["COUPON_EXHAUSTED"]], (a, b)
    assert list(models.CouponUsage.objects.values_list("used", flat=True)) == [1]
    assert sorted(models.Order.objects.values_list("status", flat=True)) == ["DRAFT", "PENDING"]
    assert list(models.OrderNumberCounter.objects.values_list("last_number", flat=True)) == [1]


def test_concurrent_placements_get_distinct_consecutive_numbers(shop):
    drafts = [shop.draft(items=(("kettle", 1),)) for _ in range(4)]
    models.OrderNumberCounter.objects.create(tenant_id=shop.tenant.id, last_number=0)
    results = race(
        shop,
        [("placeOrder", shop.customer, {"orderId": d["id"]}) for d in drafts],
        lambda: holding(models.OrderNumberCounter.objects.all()),
    )
    assert all(codes(r) == [] for r in results), results
    assert sorted(r["order"]["number"] for r in results) == ["1001", "1002", "1003", "1004"]


def test_an_amendment_racing_a_shipment_exactly_one_wins(shop):
    """Both callers read the order at the same version: whichever commits first wins, the other
    is refused with CONFLICT and writes nothing."""
    order = shop.confirmed(items=(("mug", 2), ("lamp", 1)))
    mug = next(line for line in order["lines"] if line["vendorId"] == "acme")
    version = order["version"]
    amend, ship = race(
        shop,
        [
            (
                "changeOrderQuantity",
                shop.customer,
                {"orderId": order["id"], "lineId": mug["id"], "quantity": 1, "expectedVersion": version},
            ),
            (
                "shipOrder",
                shop.acme,
                {"orderId": order["id"], "carrier": "UPS", "trackingNumber": "1Z", "expectedVersion": version},
            ),
        ],
        lambda: holding(models.Order.objects.filter(id=order["id"])),
    )
    assert sorted([codes(amend), codes(ship)]) == [[], ["CONFLICT"]], (amend, ship)
    row = models.Order.objects.get(id=order["id"])
    shipments = list(models.Shipment.objects.filter(order_id=order["id"]).values_list("lines", flat=True))
    if codes(amend) == []:
        assert row.revision == 1 and row.status == "CONFIRMED" and shipments == []
    else:
        assert row.revision == 0 and row.status == "PARTIALLY_SHIPPED" and shipments[0][0]["quantity"] == 2
    assert row.version == version + 1
    assert models.OutboxEvent.objects.filter(aggregate_id=order["id"], type="order.amended").count() == row.revision


def test_once_a_shipment_won_an_amendment_is_refused(shop):
    order = shop.confirmed(items=(("mug", 2), ("lamp", 1)))
    mug = next(line for line in order["lines"] if line["vendorId"] == "acme")
    ship, amend = race(
        shop,
        [
            ("shipOrder", shop.acme, {"orderId": order["id"], "carrier": "UPS", "trackingNumber": "1Z"}),
            ("changeOrderQuantity", shop.customer, {"orderId": order["id"], "lineId": mug["id"], "quantity": 1}),
        ],
        lambda: holding(models.Order.objects.filter(id=order["id"])),
    )
    row = models.Order.objects.get(id=order["id"])
    if codes(amend) == []:  # the amendment went first: the shipment carries what is left
        assert row.revision == 1 and models.Shipment.objects.get().lines[0]["quantity"] == 1
    else:
        assert codes(amend) == ["INVALID_TRANSITION"] and row.revision == 0
    assert codes(ship) == []
