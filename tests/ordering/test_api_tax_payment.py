"""Vendor tax and payment options end to end: synced by signed webhooks, applied at checkout,
frozen on the order, and checked at placement and confirmation."""

from __future__ import annotations

import pytest

from snapshots.infrastructure.models import PaymentOptionSnapshot, TaxOptionSnapshot
from tests.conftest import Sender
from webhooks.domain.signatures import new_secret
from webhooks.infrastructure.models import InboundWebhookSecret

pytestmark = pytest.mark.django_db


@pytest.fixture
def sender(client, shop) -> Sender:
    secret = InboundWebhookSecret.objects.create(tenant=shop.tenant, secret=new_secret()).secret
    return Sender(client, shop.tenant.id, secret)


def send(sender: Sender, event_type: str, **data) -> int:
    return sender.post({"type": event_type, "data": {"version": 1, **data}}).status_code


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["errors"]]


def test_vendor_tax_is_applied_at_checkout_frozen_and_checked_at_placement(shop, sender):
    assert send(sender, "tax_option.upserted", vendor_id="acme", country="US", rate="10", inclusive=False) == 204
    assert send(sender, "tax_option.upserted", vendor_id="globex", country="US", rate="20", inclusive=True) == 204
    order = shop.draft(items=(("kettle", 1), ("lamp", 1)))  # acme kettle 39.00, globex lamp 54.90
    data = shop.gql.execute(
        "query($id: ID!) { order(id: $id) { taxTotal { amount } total { amount } "
        "lines { vendorId taxRate taxInclusive tax { amount } } } }",
        {"id": order["id"]},
        token=shop.customer,
    )["order"]
    lines = {line["vendorId"]: line for line in data["lines"]}
    assert lines["acme"]["tax"]["amount"] == "3.90" and lines["acme"]["taxInclusive"] is False
    assert lines["globex"]["tax"]["amount"] == "9.15" and lines["globex"]["taxInclusive"] is True
    assert data["taxTotal"]["amount"] == "13.05"
    assert data["total"]["amount"] == "110.30"  # 93.90 goods + 12.50 shipping + 3.90 acme tax
    assert (
        send(sender, "tax_option.upserted", vendor_id="acme", country="US", rate="50", inclusive=False, version=2)
        == 204
    )
    # Placement does not take a tax the customer was not shown (issue 22): PRICE_CHANGED on the line.
    refused = shop.call("placeOrder", shop.customer, orderId=order["id"])
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("PRICE_CHANGED", "lines[0].tax")]
    assert "19.50 USD" in refused["errors"][0]["message"] and "3.90 USD" in refused["errors"][0]["message"]
    # The frozen tax stays on the draft until it is re-priced.
    assert shop.order(order["id"], shop.customer)["total"]["amount"] == "110.30"
    assert send(sender, "tax_option.deleted", vendor_id="acme", country="US", version=3) == 204
    assert not TaxOptionSnapshot.objects.filter(vendor_id="acme").exists()


def test_a_bad_tax_option_writes_nothing(shop, sender):
    response = sender.post(
        {
            "type": "tax_option.upserted",
            "data": {"vendor_id": "acme", "country": "US", "rate": "150", "inclusive": False, "version": 1},
        }
    )
    assert (response.status_code, response.json()["field"]) == (400, "rate")
    assert not TaxOptionSnapshot.objects.exists()


def test_a_checkout_must_choose_a_payment_option_its_vendors_accept(shop, sender):
    assert send(sender, "payment_option.upserted", option_id="card", method="card", name="Card", active=True) == 204
    assert (
        send(
            sender,
            "payment_option.upserted",
            option_id="acme-invoice",
            vendor_id="acme",
            method="invoice",
            name="Invoice",
            active=True,
        )
        == 204
    )
    missing = shop.checkout()
    assert codes(missing) == ["PAYMENT_OPTION_UNAVAILABLE"] and missing["errors"][0]["field"] == "paymentOptionId"
    assert codes(shop.checkout(paymentOptionId="acme-invoice")) == ["PAYMENT_OPTION_UNAVAILABLE"]  # not globex
    assert codes(shop.checkout(paymentOptionId="nope")) == ["PAYMENT_OPTION_UNAVAILABLE"]
    invoice = shop.draft(items=(("mug", 1),), paymentOptionId="acme-invoice")
    order = shop.ok("placeOrder", shop.customer, orderId=invoice["id"])
    assert order["paymentOption"] == {"id": "acme-invoice", "method": "invoice"}
    wrong = shop.call(
        "confirmOrder",
        shop.staff,
        orderId=order["id"],
        payment={"method": "card", "reference": "r", "amount": order["total"]["amount"]},
    )
    assert codes(wrong) == ["PAYMENT_MISMATCH"] and wrong["errors"][0]["field"] == "payment.method"
    confirmed = shop.ok(
        "confirmOrder",
        shop.staff,
        orderId=order["id"],
        payment={"method": "invoice", "reference": "INV-1", "amount": order["total"]["amount"]},
    )
    assert confirmed["status"] == "CONFIRMED"


def test_placing_rechecks_the_payment_option(shop, sender):
    draft = shop.draft()  # no payment options yet: none needed
    assert send(sender, "payment_option.upserted", option_id="card", method="card", name="Card", active=True) == 204
    assert codes(shop.call("placeOrder", shop.customer, orderId=draft["id"])) == ["PAYMENT_OPTION_UNAVAILABLE"]
    assert (
        shop.ok("placeOrder", shop.customer, orderId=draft["id"], paymentOptionId="card")["paymentOption"]["method"]
        == "card"
    )
    other = shop.draft(paymentOptionId="card")
    assert (
        send(sender, "payment_option.upserted", option_id="card", method="card", name="Card", active=False, version=2)
        == 204
    )
    assert (
        send(sender, "payment_option.upserted", option_id="wire", method="bank_transfer", name="Wire", active=True)
        == 204
    )
    assert codes(shop.call("placeOrder", shop.customer, orderId=other["id"])) == ["PAYMENT_OPTION_UNAVAILABLE"]
    assert PaymentOptionSnapshot.objects.count() == 2


def test_only_checkout_and_placement_read_the_payment_options(shop):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def reads_payment_options(call) -> bool:
        with CaptureQueriesContext(connection) as queries:
            call()
        return any("snapshots_payment_option" in q["sql"] for q in queries.captured_queries)

    holder = {}
    assert reads_payment_options(lambda: holder.update(order=shop.draft()))
    order_id = holder["order"]["id"]
    assert not reads_payment_options(lambda: shop.ok("applyCoupon", shop.customer, orderId=order_id, code="WELCOME5"))
    assert not reads_payment_options(
        lambda: shop.ok(
            "updateCheckoutItems", shop.customer, orderId=order_id, items=[{"productId": "kettle", "quantity": 1}]
        )
    )
    assert reads_payment_options(lambda: shop.ok("placeOrder", shop.customer, orderId=order_id))
