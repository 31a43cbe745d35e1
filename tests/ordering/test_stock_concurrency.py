"""20 buyers, 3 units, at the same moment (issue 22): every placement has read the product (3
left) before any reserves, and exactly 3 get a unit. PostgreSQL, each request on its own
connection, released together from a held lock on the product row (`test_concurrency.race`)."""

from __future__ import annotations

import pytest

from ordering.infrastructure import models
from snapshots.infrastructure.models import ProductSnapshot, StockReservation
from tests.conftest import requires_postgres
from tests.tokens import hs_token

from .test_concurrency import codes, holding, race

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_twenty_concurrent_placements_for_three_units_place_exactly_three(shop):
    ProductSnapshot.objects.filter(product_id="mug").update(available_quantity=3, reserved_quantity=0)
    buyers = [hs_token(shop.tenant, sub=f"buyer-{n}", roles=["customer"]) for n in range(20)]
    drafts = []
    for token in buyers:
        payload = shop.checkout((("mug", 1),), token=token)
        assert payload["errors"] == [], payload["errors"]
        drafts.append(payload["order"])
    results = race(
        shop,
        [("placeOrder", token, {"orderId": draft["id"]}) for token, draft in zip(buyers, drafts)],
        lambda: holding(ProductSnapshot.objects.filter(product_id="mug")),
    )
    outcomes = [tuple(codes(r)) for r in results]
    assert outcomes.count(()) == 3 and outcomes.count(("OUT_OF_STOCK",)) == 17, outcomes
    mug = ProductSnapshot.objects.get(product_id="mug")
    assert (mug.available_quantity - mug.reserved_quantity) == 0
    assert models.Order.objects.filter(status="PENDING").count() == 3
    assert StockReservation.objects.count() == 3
    assert sorted(models.Order.objects.exclude(number=None).values_list("number", flat=True)) == [
        "1001",
        "1002",
        "1003",
    ]

    placed = [(token, r["order"]) for token, r in zip(buyers, results) if not codes(r)]
    waiting = [(token, draft) for token, draft, r in zip(buyers, drafts, results) if codes(r)]
    token, order = placed[0]
    assert shop.call("cancelOrder", token, orderId=order["id"], reason="changed my mind")["errors"] == []
    again = [shop.call("placeOrder", t, orderId=d["id"]) for t, d in waiting[:2]]
    assert [codes(r) for r in again] == [[], ["OUT_OF_STOCK"]]
