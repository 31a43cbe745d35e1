"""Never sell the last unit twice (issue 22, docs/inventory.md): placement reserves each line
against the product's sellable quantity in one conditional UPDATE, cancellation and amendments
release or reserve the difference, and a product snapshot recounts what its count does not
include (`as_of`, or the sync window). Through the GraphQL endpoint and the signed webhook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ordering.infrastructure import models
from snapshots.infrastructure.models import ProductSnapshot, StockReservation
from tests.tokens import hs_token

MUG = {
    "product_id": "mug",
    "vendor_id": "acme",
    "sku": "ACME-MUG",
    "name": "Blue mug",
    "active": True,
    "price": {"amount": "12.50", "currency": "USD"},
    "max_quantity": 20,
}
STOCK_QUERY = (
    "query($id: ID!) { productStock(productId: $id) { productId sku availableQuantity "
    "reservedQuantity sellableQuantity asOf countedUntil } }"
)


class Stock:
    """The mug's inventory count, sent by the inventory system as `product.upserted`."""

    def __init__(self, sender) -> None:
        self.sender = sender
        self.version = 100

    def count(self, available: int | None, as_of: datetime | None = None) -> None:
        self.version += 1
        data = {**MUG, "available_quantity": available, "version": self.version}
        if as_of is not None:
            data["as_of"] = as_of.isoformat()
        response = self.sender.post({"type": "product.upserted", "data": data})
        assert response.status_code == 204, response.content


@pytest.fixture
def stock(sender, shop) -> Stock:
    return Stock(sender)


def mug() -> ProductSnapshot:
    return ProductSnapshot.objects.get(product_id="mug")


def customer(shop, n: int) -> str:
    return hs_token(shop.tenant, sub=f"buyer-{n}", roles=["customer"])


def draft_for(shop, token: str, quantity: int = 1) -> dict:
    payload = shop.checkout((("mug", quantity),), token=token)
    assert payload["errors"] == [], payload["errors"]
    return payload["order"]


def place(shop, token: str, order: dict) -> dict:
    return shop.call("placeOrder", token, orderId=order["id"])


def test_the_last_unit_sells_once_and_the_rest_are_refused_with_nothing_written(shop, stock):
    stock.count(1)
    buyers = [customer(shop, n) for n in range(5)]
    drafts = [draft_for(shop, token) for token in buyers]  # checkout only checks: every cart sees 1
    results = [place(shop, token, order) for token, order in zip(buyers, drafts)]
    assert results[0]["order"]["status"] == "PENDING"
    for refused in results[1:]:
        assert refused["order"] is None
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [("OUT_OF_STOCK", "lines[0].quantity")]
        assert "only 0 of ACME-MUG left" in refused["errors"][0]["message"]
    assert (mug().available_quantity, mug().reserved_quantity) == (1, 1)
    assert list(StockReservation.objects.values_list("order_id", "quantity")) == [
        (models.Order.objects.get(status="PENDING").id, 1)
    ]
    assert models.Order.objects.filter(status="DRAFT").count() == 4
    assert not models.OutboxEvent.objects.filter(
        type="order.placed", aggregate_id__in=[d["id"] for d in drafts[1:]]
    ).exists()
    checkout = shop.checkout((("mug", 1),), token=buyers[1])
    assert [e["code"] for e in checkout["errors"]] == ["OUT_OF_STOCK"], "checkout sees what is left too"


def test_every_short_line_is_its_own_error(shop, stock, sender):
    stock.count(1)
    sender.post(
        {
            "type": "product.upserted",
            "data": {
                "product_id": "kettle",
                "vendor_id": "acme",
                "sku": "ACME-KETTLE",
                "name": "Steel kettle",
                "active": True,
                "price": {"amount": "39.00", "currency": "USD"},
                "available_quantity": 2,
                "version": 9,
            },
        }
    )
    first = draft_for(shop, shop.customer)
    second = shop.draft(items=(("kettle", 2), ("mug", 1), ("lamp", 1)))
    shop.ok("placeOrder", shop.customer, orderId=first["id"])
    shop.ok("placeOrder", shop.customer, orderId=shop.draft(items=(("kettle", 1),))["id"])
    payload = shop.call("placeOrder", shop.customer, orderId=second["id"])
    assert sorted((e["code"], e["field"]) for e in payload["errors"]) == [
        ("OUT_OF_STOCK", "lines[0].quantity"),
        ("OUT_OF_STOCK", "lines[1].quantity"),
    ]
    assert ProductSnapshot.objects.get(product_id="kettle").reserved_quantity == 1


def test_unlimited_products_place_as_before(shop):
    ProductSnapshot.objects.filter(product_id="mug").update(available_quantity=None)
    for _ in range(3):
        assert shop.placed(items=(("mug", 20),))["status"] == "PENDING"


def test_cancelling_releases_and_one_more_can_be_placed(shop, stock):
    stock.count(2)
    a, b, c = (customer(shop, n) for n in range(3))
    first, second, third = draft_for(shop, a), draft_for(shop, b), draft_for(shop, c)
    assert place(shop, a, first)["order"]["status"] == "PENDING"
    assert place(shop, b, second)["order"]["status"] == "PENDING"
    assert [e["code"] for e in place(shop, c, third)["errors"]] == ["OUT_OF_STOCK"]
    shop.ok("cancelOrder", a, orderId=first["id"], reason="changed my mind")
    assert mug().reserved_quantity == 1
    assert place(shop, c, third)["order"]["status"] == "PENDING"
    assert list(
        StockReservation.objects.filter(order_id=first["id"]).order_by("id").values_list("quantity", flat=True)
    ) == [1, -1]


def test_shipping_keeps_the_units_reserved(shop, stock):
    stock.count(3)
    order = shop.confirmed(items=(("mug", 2), ("lamp", 1)))
    shop.ok("shipOrder", shop.acme, orderId=order["id"], carrier="UPS", trackingNumber="1Z")
    assert mug().reserved_quantity == 2
    assert StockReservation.objects.filter(product_id="mug").count() == 1


def test_an_amendment_releases_or_reserves_the_difference(shop, stock):
    stock.count(5)
    order = shop.placed(items=(("mug", 3), ("lamp", 1)))
    line = order["lines"][0]["id"]
    down = shop.ok("changeOrderQuantity", shop.customer, orderId=order["id"], lineId=line, quantity=1)
    assert mug().reserved_quantity == 1
    up = shop.ok("changeOrderQuantity", shop.customer, orderId=order["id"], lineId=line, quantity=5)
    assert mug().reserved_quantity == 5 and up["lines"][0]["quantity"] == 5
    assert up["total"]["amount"] != down["total"]["amount"]
    payload = shop.call("changeOrderQuantity", shop.customer, orderId=order["id"], lineId=line, quantity=6)
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("OUT_OF_STOCK", "quantity")]
    assert mug().reserved_quantity == 5 and shop.order(order["id"], shop.customer)["lines"][0]["quantity"] == 5
    too_many = shop.call("changeOrderQuantity", shop.customer, orderId=order["id"], lineId=line, quantity=21)
    assert [e["code"] for e in too_many["errors"]] == ["QUANTITY_LIMIT"], "the product's max_quantity is 20"
    shop.ok("removeLineItems", shop.customer, orderId=order["id"], lineIds=[line])
    assert mug().reserved_quantity == 0


def test_a_count_taken_before_a_reservation_keeps_it_subtracted_one_after_includes_it(shop, stock):
    stock.count(10)
    order = shop.placed(items=(("mug", 3), ("lamp", 1)))
    placed_at = datetime.fromisoformat(order["placedAt"])
    stock.count(10, as_of=placed_at - timedelta(seconds=1))  # counted before the order: 10 - 3 left
    assert (mug().reserved_quantity, mug().counted_until) == (3, placed_at - timedelta(seconds=1))
    stock.count(7, as_of=placed_at + timedelta(seconds=1))  # the inventory took the order into account
    assert mug().reserved_quantity == 0
    shop.ok("cancelOrder", shop.customer, orderId=order["id"], reason="changed my mind")
    assert mug().reserved_quantity == -3, "released after the count: 7 + 3 can be sold"
    assert shop.placed(items=(("mug", 10), ("lamp", 1)))["status"] == "PENDING"


def test_without_as_of_the_reservations_of_the_sync_window_stay_subtracted(shop, stock, settings):
    stock.count(10)
    order = shop.placed(items=(("mug", 4), ("lamp", 1)))
    stock.count(10)  # within the window: the count may not include the order yet
    assert mug().reserved_quantity == 4
    StockReservation.objects.filter(order_id=order["id"]).update(
        at=datetime.now(UTC) - timedelta(seconds=settings.OMS_INVENTORY_SYNC_WINDOW + 5)
    )
    stock.count(6)  # the window has passed: the count includes it
    assert mug().reserved_quantity == 0
    settings.OMS_INVENTORY_SYNC_WINDOW = 3600
    stock.count(6)
    assert mug().reserved_quantity == 4, "a longer window keeps it subtracted again"


def test_an_as_of_in_the_future_counts_only_up_to_now(shop, stock):
    stock.count(10, as_of=datetime.now(UTC) + timedelta(days=1))
    assert mug().counted_until <= datetime.now(UTC)
    shop.placed(items=(("mug", 2), ("lamp", 1)))
    assert mug().reserved_quantity == 2


def test_a_bad_as_of_is_refused_and_nothing_is_written(shop, sender):
    response = sender.post(
        {"type": "product.upserted", "data": {**MUG, "available_quantity": 3, "as_of": "yesterday", "version": 50}}
    )
    assert response.status_code == 400 and b"as_of" in response.content
    assert mug().available_quantity == 100_000 and mug().as_of is None


def test_staff_and_the_products_vendor_read_its_sellable_quantity(shop, stock, gql):
    as_of = datetime(2026, 1, 1, tzinfo=UTC)
    stock.count(5, as_of=as_of)
    shop.placed(items=(("mug", 2), ("lamp", 1)))
    for token in (shop.staff, shop.acme):
        assert gql.execute(STOCK_QUERY, {"id": "mug"}, token=token)["productStock"] == {
            "productId": "mug",
            "sku": "ACME-MUG",
            "availableQuantity": 5,
            "reservedQuantity": 2,
            "sellableQuantity": 3,
            "asOf": "2026-01-01T00:00:00+00:00",
            "countedUntil": "2026-01-01T00:00:00+00:00",
        }
    assert gql.execute(STOCK_QUERY, {"id": "lamp"}, token=shop.staff)["productStock"]["sellableQuantity"] is None
    assert gql.execute(STOCK_QUERY, {"id": "lamp"}, token=shop.acme)["productStock"] is None, "globex's lamp"
    assert gql.execute(STOCK_QUERY, {"id": "nope"}, token=shop.staff)["productStock"] is None
    body = gql.post(STOCK_QUERY, {"id": "mug"}, token=shop.customer).json()
    assert body["data"]["productStock"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_metrics_show_reserved_and_sellable_units(shop, stock, client, settings):
    settings.OMS_METRICS_TOKEN = ""
    stock.count(5)
    shop.placed(items=(("mug", 2), ("lamp", 1)))
    body = client.get("/metrics").content.decode()
    tenant = shop.tenant.id
    assert f'oms_stock_reserved_units{{tenant="{tenant}"}} 2.0' in body
    assert f'oms_stock_sellable_units{{tenant="{tenant}"}} 3.0' in body
    assert f'oms_products_sold_out{{tenant="{tenant}"}} 0.0' in body
    refused = float(body.split("\noms_stock_refusals_total ")[1].split()[0])
    short = shop.draft(items=(("mug", 3), ("lamp", 1)))
    ProductSnapshot.objects.filter(product_id="mug").update(available_quantity=2)  # counted down meanwhile
    assert shop.call("placeOrder", shop.customer, orderId=short["id"])["errors"][0]["code"] == "OUT_OF_STOCK"
    body = client.get("/metrics").content.decode()
    assert float(body.split("\noms_stock_refusals_total ")[1].split()[0]) == refused + 1
    assert f'oms_products_sold_out{{tenant="{tenant}"}} 1.0' in body


def test_the_admin_shows_available_reserved_and_sellable_quantities(shop, stock, client, admin_user):
    stock.count(5)
    order = shop.placed(items=(("mug", 2), ("lamp", 1)))
    client.force_login(admin_user)
    listing = client.get("/admin/snapshots/productsnapshot/").content.decode()
    for header in ("Available quantity", "Reserved quantity", "sellable", "Counted until"):
        assert header in listing
    page = client.get(f"/admin/snapshots/productsnapshot/{mug().pk}/change/").content.decode()
    assert "Sellable" in page and ">3<" in page.replace("\n", "").replace(" ", "")
    ledger = client.get("/admin/snapshots/stockreservation/").content.decode()
    assert order["id"] in ledger


def test_a_csv_import_recounts_like_the_webhook(shop, stock, tmp_path):
    from django.core.management import call_command

    stock.count(10)
    order = shop.placed(items=(("mug", 4), ("lamp", 1)))
    placed_at = datetime.fromisoformat(order["placedAt"])
    path = tmp_path / "products.csv"
    path.write_text(
        "product_id,vendor_id,sku,name,price_amount,price_currency,active,available_quantity,"
        "max_quantity,version,as_of\n"
        f"mug,acme,ACME-MUG,Blue mug,12.50,USD,true,10,20,500,{placed_at - timedelta(minutes=1):%Y-%m-%dT%H:%M:%S%z}\n"
    )
    call_command("import_snapshots", "product", str(path), "--tenant", shop.tenant.id, "--no-progress")
    assert (mug().available_quantity, mug().reserved_quantity) == (10, 4)
    assert mug().as_of == (placed_at - timedelta(minutes=1)).replace(microsecond=0)
