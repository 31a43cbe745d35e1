"""Bad input gets a coded refusal (docs/errors.md): never a 500, never the database's words, the
same answer on SQLite and PostgreSQL. The five findings of the attacker's catalog, each as a
regression test through the HTTP endpoints, plus masking of unexpected faults."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from ordering.infrastructure.models import Order, OutboxEvent
from snapshots.infrastructure.models import CustomerDetailsSnapshot, ProductSnapshot
from tests.ordering.conftest import CUSTOMER, US_ADDRESS, Shop, mutation, seed_catalog
from tests.tokens import hs_token
from webhooks.infrastructure.models import InboundWebhookReceipt

PRODUCT = {
    "product_id": "p-1",
    "vendor_id": "v-1",
    "sku": "SKU-1",
    "name": "Mug",
    "price": {"amount": "12.50", "currency": "USD"},
    "active": True,
    "version": 1,
}


def top_error(response) -> dict:
    body = response.json()
    assert response.status_code in (200, 400), body
    assert body.get("data") in (None, {}) or all(v is None for v in body["data"].values()), body
    (error,) = body["errors"]
    return error


# -- 1. snapshot versions beyond what a column holds ----------------------------------------------


@pytest.mark.parametrize("version", [2**63, 10**30, -5, "abc", 1.5])
def test_a_signed_webhook_with_an_out_of_range_version_is_refused_and_writes_nothing(sender, version):
    response = sender.post({"type": "product.upserted", "data": {**PRODUCT, "version": version}})
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "INVALID" and response.json()["field"] == "version"
    assert ProductSnapshot.objects.count() == 0 and InboundWebhookReceipt.objects.count() == 0


def test_the_largest_version_a_column_holds_is_accepted(sender):
    assert sender.post({"type": "product.upserted", "data": {**PRODUCT, "version": 2**63 - 1}}).status_code == 204
    assert ProductSnapshot.objects.get().version == 2**63 - 1


@pytest.mark.parametrize(
    "field, value", [("available_quantity", 2**31), ("max_quantity", 10**30), ("min_quantity", 2**63)]
)
def test_quantities_beyond_their_column_are_refused(sender, field, value):
    response = sender.post({"type": "product.upserted", "data": {**PRODUCT, field: value}})
    assert response.status_code == 400 and response.json()["field"] == field
    assert ProductSnapshot.objects.count() == 0


# -- 2. a NUL byte in a token's tenant id -----------------------------------------------------------


@pytest.mark.parametrize("tenant_id", ["tenant-a\u0000", "tenant a", "t" * 64, "tenant-a/../b", "ténant"])
def test_a_token_whose_tenant_id_has_no_tenant_shape_is_401(gql, tenant, tenant_id):
    token = hs_token(tenant, tenant_id=tenant_id, sub="u1", roles=["customer"])
    response = gql.post("{ me { userId } }", token=token)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert response.json()["errors"][0]["message"] in (
        "unknown or inactive tenant",
        "token claim tenant_id contains a control character (U+0000)",
    )


@pytest.mark.parametrize("claim", ["sub", "email", "vendor_id"])
def test_a_control_character_in_any_claim_is_401(gql, tenant, claim):
    token = hs_token(tenant, **{"sub": "u1", "roles": ["customer"], claim: "a\u0000b"})
    response = gql.post("{ me { userId } }", token=token)
    assert response.status_code == 401 and "control character" in response.json()["errors"][0]["message"]


def test_a_webhook_url_whose_tenant_id_has_no_tenant_shape_is_404(client, tenant):
    response = client.post(f"/webhooks/{'t' * 64}/", data="{}", content_type="application/json")
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"


# -- 3. NUL and other control characters in GraphQL strings ---------------------------------------


@pytest.fixture
def shop(gql, tenant) -> Shop:
    seed_catalog(tenant.id)
    return Shop(gql, tenant)


def checkout_vars(**address):
    return {
        "items": [{"productId": "mug", "quantity": 1}],
        "shippingAddress": {**US_ADDRESS, **address},
        "customer": CUSTOMER,
        "shippingOptions": [{"vendorId": "acme", "shippingOptionId": "acme-std"}],
    }


@pytest.mark.parametrize("line1", ["1 Main\u0000 St", "1 Main\u001f St", "1 Main\nSt", "1 Main\u007f", "\ud800"])
def test_a_control_character_in_a_variable_is_invalid_with_its_path_and_nothing_is_stored(gql, shop, line1):
    response = gql.post(mutation("checkoutItems"), checkout_vars(line1=line1), token=shop.customer)
    error = top_error(response)
    assert error["extensions"] == {"code": "INVALID", "field": "shippingAddress.line1"}
    assert "PostgreSQL" not in error["message"] and "NUL" not in error["message"]
    assert Order.objects.count() == 0 and OutboxEvent.objects.count() == 0


def test_a_control_character_in_an_inline_literal_is_invalid_too(gql, shop):
    query = (
        'mutation { checkoutItems(items: [{productId: "mug", quantity: 1}], '
        'shippingAddress: {line1: "1 Main\\u0000St", city: "X", postalCode: "1", country: "US"}) '
        "{ order { id } errors { code } } }"
    )
    error = top_error(gql.post(query, token=shop.customer))
    assert error["extensions"] == {"code": "INVALID", "field": "shippingAddress.line1"}
    assert Order.objects.count() == 0


def test_sync_user_refuses_a_nul_in_a_name(gql, tenant):
    query = (
        'mutation($first: String!) { syncUser(email: "a@b.co", firstName: $first, lastName: "L") { errors { code } } }'
    )
    token = hs_token(tenant, sub="cust-9", roles=["customer"])
    error = top_error(gql.post(query, {"first": "A\u0000"}, token=token))
    assert error["extensions"] == {"code": "INVALID", "field": "first"}
    assert CustomerDetailsSnapshot.objects.count() == 0


def test_orders_search_with_a_nul_is_invalid_on_every_database(gql, shop):
    error = top_error(
        gql.post(
            "query($q: String) { orders(first: 5, search: $q) { totalCount } }", {"q": "a\u0000b"}, token=shop.staff
        )
    )
    assert error["extensions"]["code"] == "INVALID"


def test_free_text_keeps_its_newlines_and_tabs(gql, shop):
    order = shop.placed(items=(("mug", 1),))
    cancelled = shop.ok("cancelOrder", shop.customer, orderId=order["id"], reason="changed my mind\n\tsorry")
    assert cancelled["cancellation"]["reason"] == "changed my mind\n\tsorry"


def test_a_variable_of_the_wrong_type_is_invalid_naming_it(gql, shop):
    negative_zero = shop.checkout((("mug", 1),), items=[{"productId": "mug", "quantity": -0.0}])
    assert negative_zero["errors"][0]["code"] == "INVALID"  # -0.0 is the Int 0: not a quantity
    for value in (2**31, 10**30, 1.5, "1"):
        response = gql.post(
            mutation("checkoutItems"),
            {**checkout_vars(), "items": [{"productId": "mug", "quantity": value}]},
            token=shop.customer,
        )
        error = top_error(response)
        assert error["extensions"] == {"code": "INVALID", "field": "items"}, value


# -- 4. unexpected exceptions are masked ----------------------------------------------------------


def test_an_unexpected_exception_in_a_resolver_is_masked_logged_and_counted(gql, shop, monkeypatch, caplog):
    from oms_project.kernel.metrics import INTERNAL_ERRORS
    from ordering.api.mutations import CheckoutItems

    def explode(*args, **kwargs):
        raise RuntimeError("secret detail: password=hunter2")

    monkeypatch.setattr(CheckoutItems, "handler", staticmethod(explode))
    before = INTERNAL_ERRORS.labels("graphql")._value.get()
    with caplog.at_level(logging.ERROR, logger="oms.internal"):
        response = gql.post(mutation("checkoutItems"), checkout_vars(), token=shop.customer)
    body = response.json()
    assert response.status_code == 200
    (error,) = body["errors"]
    request_id = response["X-Request-ID"]
    assert error["extensions"] == {"code": "INTERNAL", "request_id": request_id}
    assert "secret" not in json.dumps(body) and "RuntimeError" not in json.dumps(body)
    (record,) = [r for r in caplog.records if r.name == "oms.internal"]
    assert record.request_id == request_id and record.exc_info[0] is RuntimeError
    assert INTERNAL_ERRORS.labels("graphql")._value.get() == before + 1


def test_a_fault_in_a_webhook_view_answers_a_json_500_without_the_exception(tenant, secret, monkeypatch, settings):
    from tests.conftest import Sender
    from webhooks.api import views

    def explode(*args, **kwargs):
        raise RuntimeError("secret detail")

    settings.DEBUG = False
    monkeypatch.setattr(views, "receive_snapshot_webhook", explode)
    client = Client(raise_request_exception=False)
    response = Sender(client, tenant.id, secret).post({"type": "product.upserted", "data": PRODUCT})
    assert response.status_code == 500
    assert response.json() == {
        "code": "INTERNAL",
        "message": response.json()["message"],
        "request_id": response["X-Request-ID"],
    }
    assert b"secret" not in response.content


# -- 5. a body that is not UTF-8 ----------------------------------------------------------------------


def test_a_graphql_body_that_is_not_utf8_gets_a_plain_coded_400(client, tenant):
    token = hs_token(tenant, sub="u1", roles=["customer"])
    response = client.post(
        "/graphql/",
        data=b'{"query": "\xff\xfe"}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [{"message": "body is not valid UTF-8", "extensions": {"code": "BAD_REQUEST"}}]


def post_signed(client, tenant_id: str, secret: str, body: bytes):
    import time
    import uuid

    from webhooks.domain.signatures import sign

    msg_id, at = f"msg_{uuid.uuid4().hex}", int(time.time())
    return client.post(
        f"/webhooks/{tenant_id}/",
        data=body,
        content_type="application/json",
        HTTP_WEBHOOK_ID=msg_id,
        HTTP_WEBHOOK_TIMESTAMP=str(at),
        HTTP_WEBHOOK_SIGNATURE=sign(secret, msg_id, at, body),
    )


def test_a_webhook_body_that_is_not_utf8_gets_a_plain_400(client, tenant, secret):
    response = post_signed(client, tenant.id, secret, b'{"type": "\xff"}')
    assert response.status_code == 400
    assert response.json() == {"code": "MALFORMED_JSON", "message": "body is not valid UTF-8"}


def test_deeply_nested_bodies_are_refused_not_500(client, tenant, secret):
    token = hs_token(tenant, sub="u1", roles=["customer"])
    deep = "[" * 50_000 + "]" * 50_000
    response = client.post(
        "/graphql/", data=deep, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 400 and response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    nested = {"query": "{ me { userId } }", "variables": {"a": json.loads("[" * 40 + "]" * 40)}}
    response = client.post(
        "/graphql/", data=json.dumps(nested), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID"
    assert post_signed(client, tenant.id, secret, deep.encode()).json()["code"] == "MALFORMED_JSON"


def test_a_control_character_in_webhook_data_is_invalid_with_its_path(sender):
    response = sender.post({"type": "product.upserted", "data": {**PRODUCT, "attributes": {"colour": "bl\u0000ue"}}})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID" and response.json()["field"] == "data.attributes.colour"
    assert ProductSnapshot.objects.count() == 0 and InboundWebhookReceipt.objects.count() == 0
