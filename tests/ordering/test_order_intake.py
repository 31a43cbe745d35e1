"""Orders taken in from sales channels (issue 18; docs/integrations.md): GraphQL importOrder for
integration tokens and the channel's signed webhook, one use case behind both. Every refusal
writes nothing; imported orders follow the normal lifecycle; channels are isolated.
"""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from standardwebhooks.webhooks import Webhook

from ordering.domain.errors import Invalid, TotalMismatch
from ordering.domain.intake import check_channel_order
from ordering.infrastructure.models import (
    IdempotencyKey,
    Order,
    OrderNumberCounter,
    OrderStatusCount,
    OutboxEvent,
    SalesChannel,
)
from snapshots.infrastructure.models import ProductSnapshot, StockReservation
from webhooks.infrastructure.models import InboundWebhookReceipt

from ..tokens import hs_token
from .conftest import Shop, seed_catalog

IMPORT = """
mutation Import($externalReference: String!, $currency: String!, $customer: CustomerInput!,
                $shippingAddress: AddressInput!, $lines: [ImportLineInput!]!, $shipping: [ImportShippingInput!],
                $total: String, $paidAmount: String, $paymentReference: String) {
  importOrder(externalReference: $externalReference, currency: $currency, customer: $customer,
              shippingAddress: $shippingAddress, lines: $lines, shipping: $shipping, total: $total,
              paidAmount: $paidAmount, paymentReference: $paymentReference) {
    order { id number status paymentStatus channel externalReference
            subtotal { amount } discountTotal { amount } shippingTotal { amount } taxTotal { amount }
            total { amount currency } payment { method reference amount { amount } }
            lines { id sku productId vendorId quantity unitPrice { amount } discount { amount } tax { amount } weight }
            shippingOptions { vendorId carrier name cost { amount } } }
    errors { field code message }
  }
}"""
ORDER = "query($id: ID!) { order(id: $id) { id status channel externalReference } }"
ORDERS = (
    "query($filter: OrderFilter, $search: String) { orders(first: 50, filter: $filter, search: $search) "
    "{ totalCount edges { node { id channel externalReference } } } }"
)


def payload(reference: str = "shop-1001", **changes) -> dict:
    """The channel's order in snake_case (the webhook's `data`)."""
    data = {
        "external_reference": reference,
        "currency": "USD",
        "customer": {"email": "grace@example.com", "first_name": "Grace", "last_name": "Hopper"},
        "shipping_address": {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"},
        "lines": [
            {
                "sku": "ACME-MUG",
                "product_name": "Blue mug",
                "vendor_id": "acme",
                "quantity": 2,
                "unit_price": "11.00",
                "discount": "2.00",
                "tax_amount": "1.60",
                "weight": "0.350",
            },
            {
                "sku": "GLX-SHADE",
                "product_name": "Lamp shade",
                "vendor_id": "globex",
                "quantity": 1,
                "unit_price": "20.00",
            },
        ],
        "shipping": [{"vendor_id": "acme", "carrier": "UPS", "service": "Ground", "price": "4.99"}],
        "total": "46.59",
    }
    data.update(changes)
    return data


def camel(value):
    if isinstance(value, dict):
        return {
            "".join(p if i == 0 else p.capitalize() for i, p in enumerate(k.split("_"))): camel(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


class Channel:
    """A tenant's sales channel: its integration token (GraphQL door) and its secret (webhook door)."""

    def __init__(self, client, gql, tenant, name: str = "shop", *extra: str) -> None:
        out = io.StringIO()
        call_command("channels", tenant.id, "add", name, *extra, stdout=out)
        self.secret = out.getvalue().strip().splitlines()[-1]
        self.client, self.gql, self.tenant, self.name = client, gql, tenant, name
        self.token = hs_token(tenant, sub=f"{name}-app", roles=["integration"], channel_id=name)

    def import_(self, data: dict, token: str | None = None) -> dict:
        response = self.gql.post(IMPORT, camel(data), token=token or self.token)
        body = response.json()
        assert "errors" not in body, body
        return body["data"]["importOrder"]

    def push(
        self,
        event_type: str,
        data: dict,
        *,
        msg_id: str | None = None,
        secret: str | None = None,
        tenant_id: str | None = None,
        channel: str | None = None,
    ):
        body = json.dumps({"type": event_type, "data": data})
        msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
        at = datetime.now(tz=UTC)
        signature = Webhook(secret or self.secret).sign(msg_id, at, body)
        return self.client.post(
            f"/webhooks/{tenant_id or self.tenant.id}/channels/{channel or self.name}/orders/",
            data=body,
            content_type="application/json",
            HTTP_WEBHOOK_ID=msg_id,
            HTTP_WEBHOOK_TIMESTAMP=str(int(at.timestamp())),
            HTTP_WEBHOOK_SIGNATURE=signature,
        )


@pytest.fixture
def channel(client, gql, tenant):
    seed_catalog(tenant.id)
    return Channel(client, gql, tenant)


def written() -> tuple[int, ...]:
    """Everything an import writes: orders, events, idempotency records, reservations, webhook
    receipts, reserved units, the status counters and the order-number counter."""
    return (
        Order.objects.count(),
        OutboxEvent.objects.count(),
        IdempotencyKey.objects.count(),
        StockReservation.objects.count(),
        InboundWebhookReceipt.objects.count(),
        sum(ProductSnapshot.objects.values_list("reserved_quantity", flat=True)),
        sum(OrderStatusCount.objects.values_list("count", flat=True)),
        sum(OrderNumberCounter.objects.values_list("last_number", flat=True)),
    )


class TestTakingIn:
    def test_an_order_is_taken_in_at_the_channels_prices(self, channel, tenant):
        result = channel.import_(payload())
        assert result["errors"] == []
        order = result["order"]
        assert (order["status"], order["paymentStatus"], order["channel"], order["externalReference"]) == (
            "PENDING",
            "UNPAID",
            "shop",
            "shop-1001",
        )
        assert order["number"]
        assert [order[k]["amount"] for k in ("subtotal", "discountTotal", "shippingTotal", "taxTotal", "total")] == [
            "42.00",
            "2.00",
            "4.99",
            "1.60",
            "46.59",
        ]
        mug, shade = order["lines"]
        assert (mug["productId"], mug["unitPrice"]["amount"], mug["tax"]["amount"], mug["weight"]) == (
            "mug",
            "11.00",
            "1.60",
            "0.350",
        )  # the channel's price, not the snapshot's 12.50
        assert (shade["productId"], shade["tax"]["amount"], shade["weight"]) == ("", "0.00", None)
        assert {s["vendorId"]: (s["carrier"], s["name"], s["cost"]["amount"]) for s in order["shippingOptions"]} == {
            "acme": ("UPS", "Ground", "4.99"),
            "globex": (None, None, "0.00"),
        }
        # The known product holds stock like any placed order; the unknown SKU holds nothing.
        assert ProductSnapshot.objects.get(tenant_id=tenant.id, product_id="mug").reserved_quantity == 2
        assert StockReservation.objects.get().product_id == "mug"

    def test_paid_by_the_channel_it_is_confirmed(self, channel):
        order = channel.import_(payload(paid_amount="46.59", payment_reference="ch_998"))["order"]
        assert (order["status"], order["paymentStatus"]) == ("CONFIRMED", "PAID")
        assert order["payment"] == {"method": "shop", "reference": "ch_998", "amount": {"amount": "46.59"}}
        events = list(OutboxEvent.objects.order_by("sequence").values_list("type", flat=True))
        assert events == [
            "order.created",
            "order.placed",
            "order.status_changed",
            "order.confirmed",
            "order.status_changed",
        ]
        data = OutboxEvent.objects.get(type="order.created").data["order"]
        assert (data["channel"], data["external_reference"], data["lines"][0]["weight"]) == (
            "shop",
            "shop-1001",
            "0.350",
        )

    def test_both_doors_with_the_same_payload_make_the_same_order(self, channel):
        first = channel.import_(payload())["order"]
        before = written()
        response = channel.push("order.import", payload())
        assert response.status_code == 200, response.content
        assert response.json()["order"]["id"] == first["id"]
        assert Order.objects.count() == 1 and written()[:4] == before[:4]
        # The other way round, with amounts written differently ("20" for "20.00").
        other = payload("shop-1002", total="46.590")
        pushed = channel.push("order.import", other).json()
        assert pushed["outcome"] == "applied" and pushed["order"]["status"] == "PENDING"
        again = channel.import_({**other, "total": "46.59"})
        assert again["order"]["id"] == pushed["order"]["id"]

    def test_the_same_reference_with_another_order_is_refused(self, channel):
        channel.import_(payload())
        before = written()
        refused = channel.import_(payload(lines=payload()["lines"][:1], total=None))
        assert refused["order"] is None
        assert refused["errors"] == [
            {
                "field": "externalReference",
                "code": "IDEMPOTENCY_KEY_REUSED",
                "message": "this external reference was taken in with a different order",
            }
        ]
        assert written() == before
        pushed = channel.push("order.import", payload(lines=payload()["lines"][:1], total=None))
        assert pushed.status_code == 409 and pushed.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
        assert written() == before

    @pytest.mark.parametrize(
        "changes, field, code",
        [
            ({"total": "46.60"}, "total", "TOTAL_MISMATCH"),
            ({"paid_amount": "40.00"}, "paidAmount", "PAYMENT_MISMATCH"),
            (
                {"lines": [{**payload()["lines"][0], "vendor_id": "initech"}], "shipping": [], "total": None},
                "lines[0].vendorId",
                "VENDOR_UNAVAILABLE",
            ),
            ({"currency": "JPY", "total": None}, "lines[0].taxAmount", "INVALID"),  # 1.60 yen
            ({"currency": "US"}, "currency", "INVALID"),
            ({"lines": []}, "lines", "INVALID"),
            (
                {"lines": [{**payload()["lines"][0], "discount": "22.01"}], "total": None},
                "lines[0].discount",
                "INVALID",
            ),
            ({"lines": [{**payload()["lines"][0], "quantity": 0}]}, "lines[0].quantity", "INVALID"),
            ({"lines": [{**payload()["lines"][0], "weight": "-1"}]}, "lines[0].weight", "INVALID"),
            (
                {"lines": [{**payload()["lines"][0], "unit_price": "-1"}], "total": None},
                "lines[0].unitPrice",
                "INVALID",
            ),
            (
                {"shipping": [{"vendor_id": "initech", "carrier": "UPS", "service": "G", "price": "1.00"}]},
                "shipping[0].vendorId",
                "INVALID",
            ),
            ({"external_reference": " "}, "externalReference", "INVALID"),
            ({"customer": {"email": "not-an-email", "first_name": "G", "last_name": "H"}}, "customer.email", "INVALID"),
        ],
    )
    def test_a_refusal_writes_nothing_through_either_door(self, channel, changes, field, code):
        before = written()
        refused = channel.import_(payload(**changes))
        assert refused["order"] is None and [(e["field"], e["code"]) for e in refused["errors"]] == [(field, code)]
        pushed = channel.push("order.import", payload(**changes))
        assert pushed.status_code == 400 and pushed.json()["code"] == code, pushed.content
        assert written() == before

    def test_a_channel_may_accept_any_vendor(self, client, gql, tenant):
        seed_catalog(tenant.id)
        marketplace = Channel(client, gql, tenant, "market", "--accept-any-vendor", "--kind", "shopify")
        lines = [{**payload()["lines"][1], "vendor_id": "initech"}]
        result = marketplace.import_(payload(lines=lines, shipping=[], total="20.00"))
        assert result["errors"] == [] and result["order"]["lines"][0]["vendorId"] == "initech"

    def test_a_short_known_product_is_out_of_stock(self, channel, tenant):
        ProductSnapshot.objects.filter(tenant_id=tenant.id, product_id="mug").update(available_quantity=1)
        before = written()
        refused = channel.import_(payload())
        assert [(e["field"], e["code"]) for e in refused["errors"]] == [("lines[0].quantity", "OUT_OF_STOCK")]
        assert written() == before


class TestWhoMayImport:
    def test_only_an_integration_token_of_an_active_channel(self, channel, tenant):
        before = written()
        for token in (
            Shop(channel.gql, tenant).customer,
            hs_token(tenant, sub="x", roles=["staff"]),
            hs_token(tenant, sub="x", roles=["integration"]),
            hs_token(tenant, sub="x", roles=["integration"], channel_id="nope"),
        ):
            body = channel.gql.post(IMPORT, camel(payload()), token=token).json()
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
        call_command("channels", tenant.id, "revoke", "shop", stdout=io.StringIO())
        assert (
            channel.gql.post(IMPORT, camel(payload()), token=channel.token).json()["errors"][0]["extensions"]["code"]
            == "FORBIDDEN"
        )
        assert channel.push("order.import", payload()).status_code == 404
        assert written() == before

    def test_the_channel_claim_path_is_the_tenants(self, channel, tenant):
        call_command(
            "create_tenant", "--id", tenant.id, "--channel-id-claim", "app_metadata.channel", stdout=io.StringIO()
        )
        nested = hs_token(tenant, sub="shop-app", roles=["integration"], app_metadata={"channel": "shop"})
        assert channel.import_(payload(), token=nested)["order"]["channel"] == "shop"
        flat = hs_token(tenant, sub="shop-app", roles=["integration"], channel_id="shop")  # the old path: no channel
        body = channel.gql.post(IMPORT, camel(payload("shop-2")), token=flat).json()
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        not_text = hs_token(tenant, sub="shop-app", roles=["integration"], app_metadata={"channel": 7})
        assert channel.gql.post(IMPORT, camel(payload("shop-3")), token=not_text).status_code == 401

    def test_a_channel_of_one_tenant_cannot_import_into_another(self, channel, other_tenant, client, gql):
        seed_catalog(other_tenant.id)
        Channel(client, gql, other_tenant, "pos")
        token = hs_token(other_tenant, sub="shop-app", roles=["integration"], channel_id="shop")
        assert gql.post(IMPORT, camel(payload()), token=token).json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert channel.push("order.import", payload(), tenant_id=other_tenant.id).status_code == 404
        assert channel.push("order.import", payload(), tenant_id=other_tenant.id, channel="pos").status_code == 401
        assert not Order.objects.filter(tenant_id=other_tenant.id).exists()

    def test_the_webhook_door_checks_the_channels_own_signature(self, channel, tenant):
        out = io.StringIO()
        call_command("webhook_secret", tenant.id, "generate", stdout=out)
        tenant_secret = out.getvalue().strip().splitlines()[-1]
        assert channel.push("order.import", payload(), secret=tenant_secret).status_code == 401
        assert channel.push("order.import", payload(), secret="whsec_" + "A" * 32).status_code == 401
        assert channel.push("order.refund", payload()).json()["code"] == "UNKNOWN_TYPE"
        assert not Order.objects.exists()

    def test_an_integration_reads_its_own_channels_orders_only(self, channel, client, gql, tenant):
        ours = channel.import_(payload())["order"]
        pos = Channel(client, gql, tenant, "pos")
        theirs = pos.import_(payload("pos-1"))["order"]
        checkout = Shop(gql, tenant).placed()
        assert gql.execute(ORDER, {"id": ours["id"]}, token=channel.token)["order"]["channel"] == "shop"
        assert gql.execute(ORDER, {"id": theirs["id"]}, token=channel.token)["order"] is None
        assert gql.execute(ORDER, {"id": checkout["id"]}, token=channel.token)["order"] is None
        listed = gql.execute(ORDERS, {}, token=channel.token)["orders"]
        assert [edge["node"]["id"] for edge in listed["edges"]] == [ours["id"]] and listed["totalCount"] == 1
        also_staff = hs_token(tenant, sub="shop-app", roles=["integration", "staff"], channel_id="shop")
        assert gql.execute(ORDERS, {}, token=also_staff)["orders"]["totalCount"] == 3


class TestLifecycle:
    def test_filtered_and_searched_by_channel_and_reference(self, channel, client, gql, tenant):
        ours = channel.import_(payload())["order"]
        Channel(client, gql, tenant, "pos").import_(payload("pos-1"))
        Shop(gql, tenant).placed()
        staff = hs_token(tenant, sub="staff-1", roles=["staff"])
        by_channel = gql.execute(ORDERS, {"filter": {"channel": "shop"}}, token=staff)["orders"]
        assert [e["node"]["id"] for e in by_channel["edges"]] == [ours["id"]] and by_channel["totalCount"] == 1
        found = gql.execute(ORDERS, {"search": "shop-1001"}, token=staff)["orders"]
        assert [e["node"]["externalReference"] for e in found["edges"]] == ["shop-1001"]

    def test_the_admin_filters_by_channel_and_finds_a_reference(self, admin_client, channel, gql, tenant):
        from django.urls import reverse

        ours = channel.import_(payload())["order"]
        checkout = Shop(gql, tenant).placed()
        orders = reverse("admin:ordering_order_changelist")
        by_channel = admin_client.get(orders, {"channel": "shop"}).content.decode()
        assert ours["id"] in by_channel and checkout["id"] not in by_channel
        found = admin_client.get(orders, {"q": "shop-1001"}).content.decode()
        assert ours["id"] in found and checkout["id"] not in found
        page = admin_client.get(reverse("admin:ordering_order_change", args=[ours["id"]])).content.decode()
        assert "shop-1001" in page

    def test_an_imported_order_ships_delivers_and_completes(self, channel, gql, tenant):
        one_vendor = payload(lines=payload()["lines"][:1], total=None, paid_amount="26.59")
        order = channel.import_(one_vendor)["order"]
        shop = Shop(gql, tenant)
        shipped = shop.ok("shipOrder", shop.staff, orderId=order["id"], carrier="UPS", trackingNumber="1Z999")
        assert shipped["status"] == "SHIPPED"
        assert shop.ok("deliverOrder", shop.staff, orderId=order["id"])["status"] == "DELIVERED"
        assert shop.ok("completeOrder", shop.staff, orderId=order["id"])["status"] == "COMPLETED"

    def test_an_amendment_scales_the_channels_tax(self, channel, gql, tenant):
        order = channel.import_(payload())["order"]
        shop = Shop(gql, tenant)
        line = order["lines"][0]["id"]
        changed = shop.gql.execute(
            "mutation($o: ID!, $l: ID!) { changeOrderQuantity(orderId: $o, lineId: $l, quantity: 1) "
            "{ order { total { amount } taxTotal { amount } } errors { code field } } }",
            {"o": order["id"], "l": line},
            token=shop.staff,
        )["changeOrderQuantity"]
        assert changed["errors"] == []
        # 11.00 - 1.00 discount + 0.80 tax for the mug, 20.00 shade, 4.99 shipping
        assert (changed["order"]["taxTotal"]["amount"], changed["order"]["total"]["amount"]) == ("0.80", "35.79")

    def test_the_channel_cancels_through_its_door_once(self, channel):
        order = channel.import_(payload(paid_amount="46.59"))["order"]
        cancelled = channel.push(
            "order.cancelled", {"external_reference": "shop-1001", "reason": "customer asked"}, msg_id="msg_cancel_1"
        )
        assert cancelled.status_code == 200 and cancelled.json()["order"]["status"] == "CANCELLED"
        events = OutboxEvent.objects.count()
        again = channel.push(
            "order.cancelled", {"external_reference": "shop-1001", "reason": "customer asked"}, msg_id="msg_cancel_1"
        )
        assert again.json() == {
            "outcome": "duplicate",
            "order": {
                "id": order["id"],
                "number": order["number"],
                "status": "CANCELLED",
                "external_reference": "shop-1001",
            },
        }
        assert OutboxEvent.objects.count() == events
        refused = channel.push("order.cancelled", {"external_reference": "shop-1001", "reason": "again"})
        assert (refused.status_code, refused.json()["code"]) == (409, "INVALID_TRANSITION")
        cancelled_event = OutboxEvent.objects.get(type="order.cancelled")
        assert cancelled_event.data["order"]["payment_status"] == "REFUND_PENDING"
        assert cancelled_event.data["cancelled_by"] == "channel:shop"

    def test_the_channel_moves_an_order_until_it_ships(self, channel, gql, tenant):
        order = channel.import_(payload(lines=payload()["lines"][:1], total=None, paid_amount="26.59"))["order"]
        moved = {"line1": "9 Elm St", "city": "Shelbyville", "postal_code": "54321", "country": "US"}
        response = channel.push("order.address_changed", {"external_reference": "shop-1001", "shipping_address": moved})
        assert response.status_code == 200, response.content
        assert OutboxEvent.objects.filter(type="order.amended").count() == 1
        shop = Shop(gql, tenant)
        shop.ok("shipOrder", shop.staff, orderId=order["id"], carrier="UPS", trackingNumber="1Z1")
        late = channel.push(
            "order.address_changed",
            {"external_reference": "shop-1001", "shipping_address": {**moved, "line1": "10 Elm St"}},
        )
        assert (late.status_code, late.json()["code"]) == (409, "INVALID_TRANSITION")

    def test_a_channel_update_for_an_unknown_reference(self, channel, client, gql, tenant):
        Channel(client, gql, tenant, "pos").import_(payload("pos-1"))
        for reference in ("nope", "pos-1"):  # another channel's order is not this channel's
            response = channel.push("order.cancelled", {"external_reference": reference, "reason": "x"})
            assert (response.status_code, response.json()["code"]) == (404, "NOT_FOUND")
        assert not Order.objects.filter(status="CANCELLED").exists()


class TestChannelsCommand:
    def test_add_list_rotate_revoke(self, tenant):
        out = io.StringIO()
        call_command("channels", tenant.id, "add", "web-store", "--kind", "woocommerce", stdout=out)
        first = out.getvalue().strip().splitlines()[-1]
        assert first.startswith("whsec_")
        out = io.StringIO()
        call_command("channels", tenant.id, "rotate", "web-store", "--grace-hours", "0", stdout=out)
        assert out.getvalue().strip().splitlines()[-1].startswith("whsec_")
        listing = io.StringIO()
        call_command("channels", tenant.id, "list", stdout=listing)
        assert listing.getvalue().split() == ["web-store", "woocommerce", "active", "1", "active", "secret(s)"]
        call_command("channels", tenant.id, "revoke", "web-store", stdout=io.StringIO())
        assert not SalesChannel.objects.get().active

    @pytest.mark.parametrize(
        "args, says",
        [
            (["add", "no spaces"], "slug"),
            (["add"], "needs the channel's name"),
            (["rotate", "ghost"], "no active channel"),
            (["revoke", "ghost"], "no active channel"),
        ],
    )
    def test_bad_commands(self, tenant, args, says):
        with pytest.raises(CommandError, match=says):
            call_command("channels", tenant.id, *args, stdout=io.StringIO())

    def test_the_admin_lists_channels_and_rotates_a_channels_secret(self, admin_client, channel, tenant):
        from django.urls import reverse

        from webhooks.infrastructure.models import InboundWebhookSecret

        assert b"shop" in admin_client.get(reverse("admin:ordering_saleschannel_changelist")).content
        old = InboundWebhookSecret.objects.get(channel="shop")
        shown = admin_client.post(
            reverse("admin:webhooks_inboundwebhooksecret_changelist"),
            {"action": "rotate", "_selected_action": [old.pk]},
        )
        new = InboundWebhookSecret.objects.latest("pk")
        assert (new.channel, new.tenant_id) == ("shop", tenant.id) and new.secret.encode() in shown.content
        assert not InboundWebhookSecret.objects.filter(channel="").exists()  # no tenant secret made
        assert channel.push("order.import", payload(), secret=new.secret).status_code == 200

    def test_a_name_is_taken_once(self, tenant):
        call_command("channels", tenant.id, "add", "pos", stdout=io.StringIO())
        with pytest.raises(CommandError, match="already"):
            call_command("channels", tenant.id, "add", "pos", stdout=io.StringIO())


def test_the_rules_without_django():
    order = check_channel_order(channel="shop", **payload())
    assert (str(order.total.amount), order.vendor_ids) == ("46.59", {"acme", "globex"})
    with pytest.raises(TotalMismatch):
        check_channel_order(channel="shop", **payload(total="1.00"))
    with pytest.raises(Invalid) as refused:
        check_channel_order(channel="shop", **payload(shipping=[payload()["shipping"][0]] * 2))
    assert refused.value.field == "shipping[1].vendor_id"
