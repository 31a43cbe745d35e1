"""Money shown to people (issue 17, part 2): Babel's currency formatting, in the admin too."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oms_project.kernel.money_display import money


@pytest.mark.parametrize(
    "amount, currency, shown",
    [
        (Decimal("39.0000"), "USD", "$39.00"),
        (Decimal("39.005"), "USD", "$39.00"),  # half-even, to the cent
        (Decimal("3900.0000"), "JPY", "¥3,900"),
        (Decimal("1234567.5"), "EUR", "€1,234,567.50"),
        (Decimal("5"), "CHF", "CHF5.00"),  # no symbol in en-US: the code
        (Decimal("-12.3"), "USD", "-$12.30"),
        ("12.5", "GBP", "£12.50"),
        (None, "USD", "-"),
        (Decimal("2.5000"), "", "2.5"),
    ],
)
def test_amounts_are_rounded_to_minor_units_with_the_symbol(amount, currency, shown):
    assert money(amount, currency).replace("\xa0", " ") == shown


def test_the_admin_shows_money_as_money(shop, client, admin_user, sender):
    order = shop.confirmed(items=(("kettle", 1),))
    sender.post(
        {
            "type": "product.upserted",
            "data": {
                "product_id": "yen-mug",
                "vendor_id": "acme",
                "sku": "YEN-MUG",
                "name": "Yen mug",
                "active": True,
                "price": {"amount": "3900", "currency": "JPY"},
                "version": 1,
            },
        }
    )
    client.force_login(admin_user)
    listing = client.get("/admin/ordering/order/").content.decode()
    assert f"${Decimal(order['total']['amount']):,.2f}" in listing and "0000" not in listing
    page = client.get(f"/admin/ordering/order/{order['id']}/change/").content.decode()
    assert "$39.00" in page and "39.0000" not in page
    products = client.get("/admin/snapshots/productsnapshot/").content.decode()
    assert "¥3,900" in products and "$39.00" in products
