"""eraseCustomer through the GraphQL endpoint with real tokens (docs/privacy.md): the customer's
personal data leaves every table, the books stay whole, subscribers are told, open orders refuse
it, and a refusal writes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from identity.infrastructure.models import Tenant
from ordering.infrastructure.models import CustomerErasureRecord, Order, OrderHistoryEntry, OutboxEvent
from snapshots.domain.customers import CustomerAddress, CustomerDetails, UserAuthorization
from snapshots.infrastructure.customer_store import OrmCustomerStore
from tests.factories import TenantFactory
from webhooks.infrastructure.models import DeliveryAttempt, WebhookDelivery, WebhookSubscription

from .conftest import ORDER_FIELDS

EMAIL = "adelheid.erase@example.com"
PERSON = {"email": EMAIL, "firstName": "Adelheid", "lastName": "Quuxbottom", "phone": "+1 555 0199 377"}
ADDRESS = {
    "line1": "77 Quuxbottom Lane",
    "line2": "Flat 9b",
    "city": "Zyxville",
    "postalCode": "12345",
    "country": "US",
}
CANCEL_REASON = "Adelheid Quuxbottom found it cheaper elsewhere"
ERASED = {EMAIL, "Adelheid", "Quuxbottom", "+1 555 0199 377", "77 Quuxbottom Lane", "Flat 9b", "Zyxville"}
ERASED |= {CANCEL_REASON}

ERASE = """mutation($id: ID!, $reason: String!, $force: Boolean) {
  eraseCustomer(customerUserId: $id, reason: $reason, force: $force) {
    erasure { customerUserId orderIds cancelledOrderIds erasedAt heldPersonalData }
    errors { code field message }
  }
}"""
SEARCH = "query($s: String) { orders(first: 10, search: $s) { edges { node { id } } } }"
ORDER = f"query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}"


def erase(shop, token=None, *, user="cust-1", reason="GDPR request 42", force=None) -> dict:
    variables = {"id": user, "reason": reason, **({"force": force} if force is not None else {})}
    return shop.gql.execute(ERASE, variables, token=token or shop.staff)["eraseCustomer"]


def order_of_the_customer(shop, **extra) -> dict:
    return shop.draft(customer=PERSON, shippingAddress=ADDRESS, **extra)


def delivered(shop) -> dict:
    order = order_of_the_customer(shop)
    shop.ok("placeOrder", shop.customer, orderId=order["id"])
    payment = {"method": "card", "reference": "ch_9", "amount": order["total"]["amount"]}
    shop.ok("confirmOrder", shop.staff, orderId=order["id"], payment=payment)
    shop.ok("shipOrder", shop.acme, orderId=order["id"], carrier="UPS", trackingNumber="1Z1")
    shop.ok("shipOrder", shop.globex, orderId=order["id"], carrier="FedEx", trackingNumber="FX1")
    return shop.ok("deliverOrder", shop.staff, orderId=order["id"])


def snapshots_of_the_customer(tenant_id: str) -> None:
    store = OrmCustomerStore()
    store.save_customer(tenant_id, CustomerDetails("cust-1", EMAIL, "Adelheid", "Quuxbottom", "+1 555 0199 377", 1))
    store.replace_addresses(
        tenant_id,
        "cust-1",
        [CustomerAddress("home", "cust-1", "77 Quuxbottom Lane", "Zyxville", "12345", "US", "Flat 9b", "", True, 1)],
    )
    store.save_authorization(tenant_id, UserAuthorization("cust-1", ("customer",), version=1))


def everything_the_customer_leaves(shop) -> tuple[dict, dict]:
    """A delivered order, one the customer cancelled with a reason of their own, and their
    snapshots (details, an address, an authorization)."""
    first = delivered(shop)
    second = order_of_the_customer(shop)
    shop.ok("placeOrder", shop.customer, orderId=second["id"])
    shop.ok("cancelOrder", shop.customer, orderId=second["id"], reason=CANCEL_REASON)
    snapshots_of_the_customer(shop.tenant.id)
    return first, second


def rows_holding(values: set[str]) -> dict[str, int]:
    """Every table of the database, read whole: how many rows hold any of `values` (any case)."""
    wanted = [v.lower() for v in values]
    found: dict[str, int] = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            hits = sum(1 for row in cursor.fetchall() if any(v in str(cell).lower() for cell in row for v in wanted))
            if hits:
                found[table] = hits
    return found


@pytest.mark.django_db
def test_an_erasure_removes_the_customer_from_every_table_and_keeps_the_books(shop):
    first, second = everything_the_customer_leaves(shop)
    subscription = WebhookSubscription.objects.create(tenant_id=shop.tenant.id, url="https://hooks.example/x")
    delivery = WebhookDelivery.objects.create(
        tenant_id=shop.tenant.id,
        subscription=subscription,
        event=OutboxEvent.objects.filter(aggregate_id=first["id"]).first(),
        aggregate_id=first["id"],
        sequence=1,
        next_attempt_at=datetime.now(UTC),
        last_error=f"HTTP 422: unknown customer {EMAIL}",
    )
    DeliveryAttempt.objects.create(
        tenant_id=shop.tenant.id,
        delivery=delivery,
        number=1,
        attempted_at=datetime.now(UTC),
        latency_ms=12,
        error=f"HTTP 422: unknown customer {EMAIL}",
    )
    before = {o["id"]: shop.order(o["id"], shop.staff) for o in (first, second)}
    assert set(rows_holding(ERASED)) >= {"ordering_order", "ordering_outbox_event", "snapshots_customer"}

    outcome = erase(shop)

    assert outcome["errors"] == []
    erasure = outcome["erasure"]
    assert erasure["orderIds"] == [first["id"], second["id"]]
    assert erasure["cancelledOrderIds"] == [] and erasure["heldPersonalData"] is True
    assert rows_holding(ERASED) == {}
    for order_id, was in before.items():
        now = shop.order(order_id, shop.staff)
        assert now["customer"] == {
            "userId": "cust-1",
            "email": "[erased]",
            "firstName": "[erased]",
            "lastName": "[erased]",
            "phone": "[erased]",
        }
        assert now["shippingAddress"] == {
            "line1": "[erased]",
            "line2": "[erased]",
            "city": "[erased]",
            "state": None,
            "postalCode": "12345",  # kept for accounting: the default rule
            "country": "US",
        }
        for kept in ("number", "status", "paymentStatus", "total", "subtotal", "taxTotal", "lines", "shipments"):
            assert now[kept] == was[kept]
        assert now["version"] == was["version"] + 1
    for search in (EMAIL, "quuxbottom", "adelheid"):
        assert shop.gql.execute(SEARCH, {"s": search}, token=shop.staff)["orders"]["edges"] == []
    assert shop.gql.execute(SEARCH, {"s": "1001"}, token=shop.staff)["orders"]["edges"]  # the number still finds it
    announced = OutboxEvent.objects.get(tenant_id=shop.tenant.id, type="customer.erased")
    assert announced.data == {
        "customer_user_id": "cust-1",
        "order_ids": [first["id"], second["id"]],
        "erased_at": announced.data["erased_at"],
    }
    log = CustomerErasureRecord.objects.get(tenant_id=shop.tenant.id)
    assert (log.customer_user_id, log.requested_by, log.reason, log.order_ids) == (
        "cust-1",
        "staff-1",
        "GDPR request 42",
        [first["id"], second["id"]],
    )
    assert OrmCustomerStore().customer(shop.tenant.id, "cust-1") is None
    assert OrmCustomerStore().authorization(shop.tenant.id, "cust-1") is None


@pytest.mark.django_db
def test_erasing_again_finds_nothing_and_announces_nothing(shop):
    delivered(shop)
    assert erase(shop)["erasure"]["heldPersonalData"] is True
    again = erase(shop, reason="asked twice")
    assert again["errors"] == [] and again["erasure"]["heldPersonalData"] is False
    assert OutboxEvent.objects.filter(type="customer.erased").count() == 1
    assert CustomerErasureRecord.objects.filter(tenant_id=shop.tenant.id).count() == 2


@pytest.mark.django_db
def test_open_orders_refuse_the_erasure_and_nothing_is_written(shop):
    done = delivered(shop)
    pending = order_of_the_customer(shop)
    shop.ok("placeOrder", shop.customer, orderId=pending["id"])
    snapshots_of_the_customer(shop.tenant.id)
    events = OutboxEvent.objects.count()

    outcome = erase(shop)

    assert outcome["erasure"] is None
    assert [(e["code"], e["field"]) for e in outcome["errors"]] == [("CUSTOMER_HAS_OPEN_ORDERS", "customerUserId")]
    assert pending["id"] in outcome["errors"][0]["message"] and done["id"] not in outcome["errors"][0]["message"]
    assert Order.objects.filter(customer_email=EMAIL).count() == 2
    assert OutboxEvent.objects.count() == events
    assert not CustomerErasureRecord.objects.exists()
    assert OrmCustomerStore().customer(shop.tenant.id, "cust-1") is not None


@pytest.mark.django_db
def test_force_cancels_the_open_orders_first_but_goods_on_their_way_still_refuse(shop):
    draft = order_of_the_customer(shop)
    confirmed = order_of_the_customer(shop)
    shop.ok("placeOrder", shop.customer, orderId=confirmed["id"])
    payment = {"method": "card", "reference": "ch_2", "amount": confirmed["total"]["amount"]}
    shop.ok("confirmOrder", shop.staff, orderId=confirmed["id"], payment=payment)
    shipping = order_of_the_customer(shop)
    shop.ok("placeOrder", shop.customer, orderId=shipping["id"])
    payment = {"method": "card", "reference": "ch_3", "amount": shipping["total"]["amount"]}
    shop.ok("confirmOrder", shop.staff, orderId=shipping["id"], payment=payment)
    shop.ok("shipOrder", shop.acme, orderId=shipping["id"], carrier="UPS", trackingNumber="1Z2")

    refused = erase(shop, force=True)
    assert [e["code"] for e in refused["errors"]] == ["CUSTOMER_HAS_OPEN_ORDERS"]
    assert shipping["id"] in refused["errors"][0]["message"] and "delivered" in refused["errors"][0]["message"]
    assert Order.objects.get(id=confirmed["id"]).status == "CONFIRMED"  # nothing was cancelled

    shop.ok("shipOrder", shop.globex, orderId=shipping["id"], carrier="FedEx", trackingNumber="FX2")
    shop.ok("deliverOrder", shop.staff, orderId=shipping["id"])
    outcome = erase(shop, force=True)

    assert outcome["errors"] == []
    assert sorted(outcome["erasure"]["cancelledOrderIds"]) == sorted([draft["id"], confirmed["id"]])
    cancelled = shop.order(confirmed["id"], shop.staff)
    assert cancelled["status"] == "CANCELLED" and cancelled["paymentStatus"] == "REFUND_PENDING"
    assert cancelled["customer"]["email"] == "[erased]"
    assert rows_holding(ERASED - {CANCEL_REASON}) == {}


@pytest.mark.django_db
def test_only_staff_may_erase(shop):
    delivered(shop)
    for token in (shop.customer, shop.acme):
        body = shop.gql.post(ERASE, {"id": "cust-1", "reason": "mine"}, token=token).json()
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert Order.objects.filter(customer_email=EMAIL).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("user", "reason", "field"), [("cust-1", "  ", "reason"), ("", "why", "customerUserId")])
def test_a_blank_customer_or_reason_is_invalid_and_writes_nothing(shop, user, reason, field):
    delivered(shop)
    outcome = erase(shop, user=user, reason=reason)
    assert [(e["code"], e["field"]) for e in outcome["errors"]] == [("INVALID", field)]
    assert Order.objects.filter(customer_email=EMAIL).count() == 1
    assert not CustomerErasureRecord.objects.exists()


@pytest.mark.django_db
def test_a_tenant_may_keep_nothing_of_the_address(shop):
    Tenant.objects.filter(pk=shop.tenant.id).update(erasure_keeps="-")
    order = delivered(shop)
    erase(shop)
    address = shop.order(order["id"], shop.staff)["shippingAddress"]
    assert (address["postalCode"], address["country"]) == ("[erased]", "ZZ")


@pytest.mark.django_db
def test_another_tenants_customer_of_the_same_id_is_untouched(shop):
    order = delivered(shop)
    other = TenantFactory(id="tenant-z")
    snapshots_of_the_customer(other.id)
    erase(shop)
    assert OrmCustomerStore().customer(other.id, "cust-1") is not None
    assert shop.order(order["id"], shop.staff)["customer"]["email"] == "[erased]"


@pytest.mark.django_db
def test_create_tenant_sets_the_retention_rule_and_refuses_an_unknown_field():
    out = StringIO()
    secret = "x" * 40
    call_command("create_tenant", "--id", "shop-r", "--hs256-secret", secret, "--erasure-keeps", "country", stdout=out)
    assert Tenant.objects.get(pk="shop-r").erasure_keeps == "country"
    with pytest.raises(Exception, match="keeps only"):
        call_command("create_tenant", "--id", "shop-r", "--erasure-keeps", "country,city", stdout=out)
    assert Tenant.objects.get(pk="shop-r").erasure_keeps == "country"


def erasure_requested(user: str = "cust-1", reason: str | None = "upstream request 9") -> dict:
    data = {"customer_user_id": user, **({"reason": reason} if reason is not None else {})}
    return {"type": "customer.erasure_requested", "data": data}


@pytest.mark.django_db
def test_the_identity_system_asks_for_an_erasure_by_signed_webhook(shop, sender):
    order = delivered(shop)
    answer = sender.post(erasure_requested())
    assert answer.status_code == 204 and answer["X-Webhook-Outcome"] == "applied"
    assert shop.order(order["id"], shop.staff)["customer"]["email"] == "[erased]"
    log = CustomerErasureRecord.objects.get(tenant_id=shop.tenant.id)
    assert (log.requested_by, log.reason) == ("upstream:identity", "upstream request 9")


@pytest.mark.django_db
def test_an_erasure_request_with_open_orders_is_refused_until_they_close_and_then_applied(shop, sender):
    draft = order_of_the_customer(shop)
    refused = sender.post(erasure_requested(), msg_id="msg_erase_1")
    assert refused.status_code == 409 and refused.json()["code"] == "CUSTOMER_HAS_OPEN_ORDERS"
    assert Order.objects.get(id=draft["id"]).customer_email == EMAIL
    assert not CustomerErasureRecord.objects.exists()
    shop.ok("cancelOrder", shop.customer, orderId=draft["id"], reason="changed my mind")
    again = sender.post(erasure_requested(), msg_id="msg_erase_1")  # the sender's retry, same id
    assert again.status_code == 204 and again["X-Webhook-Outcome"] == "applied"
    assert Order.objects.get(id=draft["id"]).customer_email == "[erased]"


@pytest.mark.django_db
def test_a_malformed_erasure_request_is_refused_and_writes_nothing(shop, sender):
    delivered(shop)
    answer = sender.post(erasure_requested(reason=None))
    assert answer.status_code == 400 and answer.json()["code"] == "INVALID" and answer.json()["field"] == "reason"
    assert Order.objects.filter(customer_email=EMAIL).count() == 1


EXPORT = "query($id: ID!) { customerDataExport(customerUserId: $id) }"


@pytest.mark.django_db
def test_the_export_holds_every_value_the_erasure_then_removes(shop):
    first, second = everything_the_customer_leaves(shop)

    exported = json.loads(shop.gql.execute(EXPORT, {"id": "cust-1"}, token=shop.staff)["customerDataExport"])

    assert exported["customer"]["email"] == EMAIL and exported["addresses"][0]["line1"] == "77 Quuxbottom Lane"
    assert exported["authorization"] == {"roles": ["customer"], "vendor_id": None}
    assert [o["id"] for o in exported["orders"]] == [first["id"], second["id"]]
    assert any(entry["note"] == CANCEL_REASON for entry in exported["orders"][1]["history"])
    text = json.dumps(exported).lower()
    assert all(value.lower() in text for value in ERASED)
    assert exported["erasures"] == []

    erase(shop)
    after = json.loads(shop.gql.execute(EXPORT, {"id": "cust-1"}, token=shop.staff)["customerDataExport"])
    assert after["customer"] is None and after["addresses"] == [] and after["authorization"] is None
    assert not any(value.lower() in json.dumps(after).lower() for value in ERASED)
    assert [e["requested_by"] for e in after["erasures"]] == ["staff-1"]
    assert [o["number"] for o in after["orders"]] == [o["number"] for o in exported["orders"]]


@pytest.mark.django_db
def test_the_export_lists_each_orders_invoices_as_issued_before_and_after_the_erasure(shop):
    """Invoices are kept through an erasure (a legal duty, docs/privacy.md), so the customer's
    export shows them: the buyer's name and address as they were printed."""
    order = delivered(shop)
    invoice = "query($id: ID!) { invoice(orderId: $id) { number } }"
    assert shop.gql.execute(invoice, {"id": order["id"]}, token=shop.staff)["invoice"]["number"] == "INV-000001"

    for moment in ("before", "after"):
        exported = json.loads(shop.gql.execute(EXPORT, {"id": "cust-1"}, token=shop.customer)["customerDataExport"])
        [issued] = exported["orders"][0]["invoices"]
        assert (issued["kind"], issued["number"]) == ("INVOICE", "INV-000001")
        assert Decimal(issued["total"]) == Decimal(order["total"]["amount"])
        assert issued["buyer"]["name"] == "Adelheid Quuxbottom", moment
        assert "77 Quuxbottom Lane" in issued["buyer"]["lines"], moment
        if moment == "before":
            erase(shop)
    assert exported["orders"][0]["customer"]["email"] == "[erased]"  # the order itself is erased


@pytest.mark.django_db
def test_a_customer_may_export_their_own_data_and_nobody_elses(shop):
    delivered(shop)
    mine = json.loads(shop.gql.execute(EXPORT, {"id": "cust-1"}, token=shop.customer)["customerDataExport"])
    assert len(mine["orders"]) == 1
    for token, user in ((shop.other_customer, "cust-1"), (shop.acme, "cust-1")):
        body = shop.gql.post(EXPORT, {"id": user}, token=token).json()
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN" and body["data"] is None
    blank = shop.gql.post(EXPORT, {"id": " "}, token=shop.staff).json()
    assert blank["errors"][0]["extensions"]["code"] == "INVALID"


@pytest.mark.django_db
def test_the_command_exports_to_a_file_and_erases_as_an_operator(shop, tmp_path):
    order = delivered(shop)
    target = tmp_path / "cust-1.json"
    call_command("customer_data", shop.tenant.id, "export", "cust-1", "--out", str(target), stderr=StringIO())
    assert json.loads(target.read_text())["orders"][0]["customer"]["email"] == EMAIL
    out = StringIO()
    call_command("customer_data", shop.tenant.id, "export", "cust-1", stdout=out)
    assert json.loads(out.getvalue())["orders"][0]["id"] == order["id"]
    with pytest.raises(CommandError, match="needs --reason"):
        call_command("customer_data", shop.tenant.id, "erase", "cust-1")
    out = StringIO()
    call_command(
        "customer_data", shop.tenant.id, "erase", "cust-1", "--reason", "ticket 5", "--as", "ops-anna", stdout=out
    )
    assert "erased; 1 order(s), 0 cancelled first" in out.getvalue()
    assert CustomerErasureRecord.objects.get().requested_by == "operator:ops-anna"
    with pytest.raises(CommandError, match="unknown tenant"):
        call_command("customer_data", "nobody", "export", "cust-1")


# -- the retention rule: manage.py purge_personal_data ------------------------------------------


def purge_personal_data(*args: str) -> str:
    out = StringIO()
    call_command("purge_personal_data", *args, stdout=out)
    return out.getvalue()


def closed_long_ago(order_id: str, years: int = 4) -> None:
    Order.objects.filter(id=order_id).update(updated_at=datetime.now(UTC).replace(year=datetime.now(UTC).year - years))


@pytest.mark.django_db
def test_orders_closed_longer_than_the_period_lose_their_personal_data_and_nothing_else_does(shop):
    old, older = delivered(shop), delivered(shop)
    recent = delivered(shop)
    pending = order_of_the_customer(shop)
    shop.ok("placeOrder", shop.customer, orderId=pending["id"])
    for order_id in (old["id"], older["id"], pending["id"]):
        closed_long_ago(order_id)

    assert f"{shop.tenant.id}: 2 order(s) closed before" in purge_personal_data("--older-than", "3y", "--batch", "1")

    for order_id in (old["id"], older["id"]):
        now = shop.order(order_id, shop.staff)
        assert now["customer"]["email"] == "[erased]" and now["shippingAddress"]["postalCode"] == "12345"
        assert now["total"] == old["total"] and now["status"] == "DELIVERED"
        events = OutboxEvent.objects.filter(aggregate_id=order_id)
        assert not any(EMAIL in json.dumps(e.data) for e in events)
    assert Order.objects.get(id=recent["id"]).customer_email == EMAIL
    assert Order.objects.get(id=pending["id"]).customer_email == EMAIL  # old, but not closed
    assert not OutboxEvent.objects.filter(type="customer.erased").exists()  # nobody asked: no event
    assert f"{shop.tenant.id}: 0 order(s)" in purge_personal_data("--older-than", "3y")


@pytest.mark.django_db
def test_each_tenant_has_its_own_period_and_none_means_retention_off(shop):
    order = delivered(shop)
    closed_long_ago(order["id"], years=1)
    other = TenantFactory(id="tenant-q")
    assert f"{shop.tenant.id}: retention off" in purge_personal_data()
    assert Order.objects.get(id=order["id"]).customer_email == EMAIL
    call_command("create_tenant", "--id", shop.tenant.id, "--retention-days", "180", stdout=StringIO())
    output = purge_personal_data()
    assert f"{shop.tenant.id}: 1 order(s)" in output and f"{other.id}: retention off" in output
    assert Order.objects.get(id=order["id"]).customer_email == "[erased]"
    assert OrderHistoryEntry.objects.filter(order_id=order["id"], actor="retention").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--older-than", "3 years"), "not an age"),
        (("--older-than", "0d"), "not an age"),
        (("--batch", "0"), "at least 1"),
        (("--tenant", "nobody"), "unknown tenant"),
    ],
)
def test_bad_options_are_refused(db, args, message):
    with pytest.raises(CommandError, match=message):
        purge_personal_data(*args)
