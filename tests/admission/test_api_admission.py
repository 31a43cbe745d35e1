"""Fair share through the real doors: the GraphQL endpoint with real JWTs, the webhook doors and
the admin; the headers, codes and extensions of api.md; per-tenant settings; metrics."""

from __future__ import annotations

import logging

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from identity.infrastructure.models import Tenant
from oms_project.kernel import admission
from oms_project.kernel.metrics import ADMISSION_REFUSED, ADMISSION_STORE_ERRORS
from ordering.infrastructure.models import Order
from tests.ordering.conftest import US_ADDRESS, catalog, shop  # noqa: F401 (fixtures)
from tests.tokens import hs_token
from webhooks.infrastructure.models import InboundWebhookReceipt

ME = "{ me { userId } }"
ORDERS = "query($n: Int) { orders(first: $n) { edges { node { id } } } }"


def configure(tenant, **limits) -> Tenant:
    for name, value in limits.items():
        setattr(tenant, name, value)
    tenant.save()
    return tenant


def hold(tenant_id: str, slots: int = 1, *, others_served: bool = True) -> None:
    """Requests of `tenant_id` in progress elsewhere (another worker, as the store sees it), while
    another tenant is being served too (so the tenant's share applies)."""
    lane = admission.lane()
    if others_served:
        assert lane.store.admit("someone-else", "x", "theirs", lane.limits_of("someone-else"), 10_000).admitted
    limits = lane.limits_of(tenant_id)
    for i in range(slots):
        assert lane.store.admit(tenant_id, "elsewhere", f"held-{i}", limits, 10_000).admitted


def refused(tenant_id: str, reason: str) -> float:
    return ADMISSION_REFUSED.labels(tenant_id, reason)._value.get()


@pytest.mark.django_db
def test_an_answer_carries_the_budget_and_the_cost_of_its_document(gql, tenant):
    token = hs_token(tenant, sub="alice", roles=["customer"])
    response = gql.post(ME, token=token)
    assert response.status_code == 200
    assert response.headers["RateLimit-Policy"] == (
        '"tenant";q=40000;w=2, "caller";q=20000;w=2, "share";q=3;qu="concurrent-requests"'
    )
    configure(tenant, rate_limit=0.5, rate_burst=100, token_rate_limit=0.25, token_burst=50)  # slow to refill
    response = gql.post(ME, token=token)
    assert response.headers["RateLimit-Policy"] == (
        '"tenant";q=100;w=200, "caller";q=50;w=200, "share";q=3;qu="concurrent-requests"'
    )
    assert response.headers["RateLimit"] == '"tenant";r=99;t=2, "caller";r=49;t=4'
    assert response.json()["extensions"]["cost"] == {
        "requestedQueryCost": 1,
        "actualQueryCost": 1,
        "throttleStatus": {"maximumAvailable": 100, "currentlyAvailable": 99, "restoreRate": 0.5},
    }


@pytest.mark.django_db
def test_a_connection_costs_its_page_and_what_the_answer_did_not_hold_is_given_back(gql, tenant):
    configure(tenant, rate_limit=0.001, rate_burst=1000)
    staff = hs_token(tenant, sub="staff-1", roles=["staff"])
    cost = gql.post(ORDERS, {"n": 50}, token=staff).json()["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (102, 1)  # 2 + 50 x (edge + node); none held
    assert cost["throttleStatus"]["currentlyAvailable"] == 999  # 102 spent, 101 given back
    assert gql.post(ORDERS, {"n": 5}, token=staff).json()["extensions"]["cost"]["requestedQueryCost"] == 12


@pytest.mark.django_db
def test_a_tenant_over_its_share_is_told_429_over_share_and_the_others_are_served(gql, tenant, other_tenant, caplog):
    configure(tenant, admission_share=0.25)  # 2 of the 8 slots
    hold(tenant.id, 2)
    before = refused(tenant.id, "OVER_SHARE")
    with caplog.at_level(logging.WARNING, logger="oms.admission"):
        answer = gql.post(ME, token=hs_token(tenant, sub="alice", roles=["customer"]))
        again = gql.post(ME, token=hs_token(tenant, sub="bob", roles=["customer"]))
    assert answer.status_code == again.status_code == 429
    wait = int(answer.headers["Retry-After"])
    assert 1 <= wait <= 3  # OMS_ADMISSION_RETRY_SPREAD_SECONDS
    assert '"share";q=2;qu="concurrent-requests"' in answer.headers["RateLimit-Policy"]
    assert f'"share";r=0;t={wait}' in answer.headers["RateLimit"]
    body = answer.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "OVER_SHARE", "retryAfter": wait}
    assert refused(tenant.id, "OVER_SHARE") == before + 2
    lines = [r for r in caplog.records if "is being refused" in r.getMessage()]
    assert len(lines) == 1 and tenant.id in lines[0].getMessage()  # one line, not one per refusal
    assert gql.post(ME, token=hs_token(other_tenant, sub="carol", roles=["customer"])).status_code == 200


@pytest.mark.django_db
def test_clients_refused_over_share_together_are_told_different_waits(gql, tenant, settings):
    """Told the same second, a flood's refused clients come back as one herd; the waits are spread
    over 1 to OMS_ADMISSION_RETRY_SPREAD_SECONDS whole seconds (1: always one second)."""
    configure(tenant, admission_share=0.25)
    hold(tenant.id, 2)
    token = hs_token(tenant, sub="alice", roles=["customer"])
    waits = {gql.post(ME, token=token).headers["Retry-After"] for _ in range(40)}
    assert waits == {"1", "2", "3"}  # 40 draws of three: all three, but for a chance of 3e-7
    settings.OMS_ADMISSION_RETRY_SPREAD_SECONDS = 1
    hold(tenant.id, 2)  # the lane was built again: its memory store is new
    answers = [gql.post(ME, token=token) for _ in range(5)]
    assert {(a.status_code, a.headers["Retry-After"]) for a in answers} == {(429, "1")}


@pytest.mark.django_db
def test_a_tenant_alone_may_use_the_whole_capacity_and_its_share_once_another_is_served(gql, tenant, other_tenant):
    """Work-conserving: the share holds only while other tenants are being served."""
    configure(tenant, admission_share=0.25)  # 2 of the 8 slots
    hold(tenant.id, 7, others_served=False)
    alice = hs_token(tenant, sub="alice", roles=["customer"])
    assert gql.post(ME, token=alice).status_code == 200  # the 8th of 8
    assert gql.post(ME, token=hs_token(other_tenant, sub="carol", roles=["customer"])).status_code == 200
    refused = gql.post(ME, token=alice)  # another tenant was served just now: 7 held, the share is 2
    assert refused.status_code == 429 and refused.json()["errors"][0]["extensions"]["code"] == "OVER_SHARE"


@pytest.mark.django_db
def test_each_token_has_its_own_bucket_inside_the_tenants(gql, tenant):
    configure(tenant, rate_limit=0.001, rate_burst=20, token_rate_limit=0.001, token_burst=15)
    alice = hs_token(tenant, sub="alice", roles=["customer"])
    assert [gql.post(ME, token=alice).status_code for _ in range(15)] == [200] * 15
    spent = gql.post(ME, token=alice)
    assert spent.status_code == 429 and spent.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert int(spent.headers["Retry-After"]) > 60  # a point every 1,000 s
    assert '"caller";r=0' in spent.headers["RateLimit"]
    bob = hs_token(tenant, sub="bob", roles=["customer"])
    assert [gql.post(ME, token=bob).status_code for _ in range(5)] == [200] * 5  # the tenant's 20 are spent now
    carol = gql.post(ME, token=hs_token(tenant, sub="carol", roles=["customer"]))
    assert carol.status_code == 429 and '"tenant";r=0' in carol.headers["RateLimit"]


@pytest.mark.django_db
def test_a_mutation_weighs_more_and_one_the_budget_cannot_pay_for_writes_nothing(gql, shop):
    configure(shop.tenant, token_rate_limit=0.001, token_burst=12)
    assert gql.post(ME, token=shop.customer).status_code == 200
    answer = gql.post(
        "mutation($items: [CheckoutItemInput!]!, $address: AddressInput!) { checkoutItems("
        "items: $items, shippingAddress: $address) { order { id lines { id } total { amount } } "
        "errors { code } } }",
        {"items": [{"productId": "mug", "quantity": 1}], "address": US_ADDRESS},
        token=shop.customer,
    )
    assert answer.status_code == 429
    body = answer.json()
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    # 10 for the mutation, then one per object: the payload, the order, its lines, total and errors.
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10 + 5
    assert answer.headers["Retry-After"]
    assert Order.objects.count() == 0
    assert gql.post(ME, token=shop.customer).status_code == 200  # the refusal spent nothing


@pytest.mark.django_db
def test_admission_off_admits_everything_and_says_nothing(gql, tenant, settings):
    configure(tenant, admission_share=0.1)
    hold(tenant.id, 1)
    settings.OMS_ADMISSION = False
    response = gql.post(ME, token=hs_token(tenant, sub="alice", roles=["customer"]))
    assert response.status_code == 200
    assert "RateLimit" not in response.headers and "extensions" not in response.json()


@pytest.mark.django_db
def test_the_webhook_doors_are_admitted_by_the_tenant_in_their_url(client, tenant, sender):
    configure(tenant, admission_share=0.1)
    hold(tenant.id, 1)
    before = InboundWebhookReceipt.objects.count()
    event = {
        "type": "vendor.upserted",
        "data": {"vendor_id": "v1", "name": "V", "active": True, "country": "US", "currency": "USD", "version": 1},
    }
    answer = sender.post(event)
    assert answer.status_code == 429 and answer.headers["Retry-After"] in {"1", "2", "3"}
    assert answer.json() == {"code": "OVER_SHARE", "message": admission.MESSAGES["OVER_SHARE"]}
    assert "RateLimit-Policy" in answer.headers
    channel = client.post(f"/webhooks/{tenant.id}/channels/shop/orders/", data="{}", content_type="application/json")
    carrier = client.post(f"/webhooks/{tenant.id}/carriers/easypost/", data="{}", content_type="application/json")
    assert channel.status_code == carrier.status_code == 429
    assert InboundWebhookReceipt.objects.count() == before
    admission.reset()
    assert sender.post(event).status_code == 204


@pytest.mark.django_db
def test_a_tenants_staff_in_the_admin_are_admitted_as_their_tenant(client, tenant, other_tenant, admin_user):
    from tests.test_admin_tenancy import staff_of

    configure(tenant, admission_share=0.1)
    hold(tenant.id, 1)
    client.force_login(staff_of(tenant))
    page = client.get(reverse("admin:ordering_order_changelist"))
    assert page.status_code == 429 and page.json()["code"] == "OVER_SHARE"
    client.force_login(admin_user)  # a platform operator is not the tenant
    assert client.get(reverse("admin:ordering_order_changelist")).status_code == 200
    assert client.get(reverse("admin:login")).status_code in (200, 302)


@pytest.mark.django_db
def test_operators_set_a_tenants_limits_in_the_admin_and_staff_only_see_them(client, tenant, admin_user):
    from tests.test_admin_tenancy import staff_of

    client.force_login(admin_user)
    url = reverse("admin:identity_tenant_change", args=[tenant.pk])
    page = client.get(url).content.decode()
    assert (
        "Fair share" in page
        and "0 requests in progress; while other tenants are served at most 3" in page
        and "[default]" in page
    )
    form = {
        "name": tenant.name,
        "active": "on",
        "jwt_algorithms": '["HS256"]',
        "jwt_hs256_secret": "",
        "jwt_jwks_url": "",
        "jwt_issuer": "",
        "jwt_audience": "",
        "roles_claim": "roles",
        "vendor_id_claim": "vendor_id",
        "channel_id_claim": "channel_id",
        "admission_share": "0.5",
        "rate_limit": "200",
        "rate_burst": "400",
        "token_rate_limit": "",
        "token_burst": "",
    }
    assert client.post(url, {**form, "admission_share": "1.5"}).status_code == 200  # refused: over 1
    assert Tenant.objects.get(pk=tenant.pk).admission_share is None
    assert client.post(url, form).status_code == 302
    saved = Tenant.objects.get(pk=tenant.pk)
    assert saved.admission_overrides() == (0.5, 200, 400, None, None)
    assert admission.lane().limits_of(tenant.id).max_in_flight(8) == 4  # in force at once
    client.force_login(staff_of(tenant))
    staff_page = client.get(url)
    assert staff_page.status_code == 200 and b"400 points left" in staff_page.content
    assert client.post(url, {**form, "rate_limit": "100000"}).status_code == 403
    assert Tenant.objects.get(pk=tenant.pk).rate_limit == 200


@pytest.mark.django_db
def test_create_tenant_sets_and_clears_the_limits(tenant, capsys):
    call_command("create_tenant", id=tenant.id, share="0.3", rate="50", burst="100", token_rate="5", token_burst="10")
    assert Tenant.objects.get(pk=tenant.pk).admission_overrides() == (0.3, 50, 100, 5, 10)
    assert "fair share share 0.3, rate 50, burst 100, token rate 5, token burst 10" in capsys.readouterr().out
    call_command("create_tenant", "--id", tenant.id, "--share", "", "--rate", "")
    assert Tenant.objects.get(pk=tenant.pk).admission_overrides() == (None, None, 100, 5, 10)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--share", "2"], "admission_share"),
        (["--share", "0"], "admission_share"),
        (["--rate", "-1"], "rate_limit"),
        (["--burst", "lots"], "not a number"),
    ],
)
def test_create_tenant_refuses_bad_limits_and_changes_nothing(tenant, args, message):
    with pytest.raises((CommandError, SystemExit)) as raised:
        call_command("create_tenant", "--id", tenant.id, *args)
    assert isinstance(raised.value, SystemExit) or message in str(raised.value)
    assert Tenant.objects.get(pk=tenant.pk).admission_overrides() == (None,) * 5


@pytest.mark.django_db
def test_metrics_show_refusals_use_and_budget_per_tenant(client, gql, tenant):
    configure(tenant, admission_share=0.1, rate_limit=0.01)
    hold(tenant.id, 1)
    gql.post(ME, token=hs_token(tenant, sub="alice", roles=["customer"]))
    text = client.get("/metrics").content.decode()
    assert f'oms_admission_refused_total{{reason="OVER_SHARE",tenant="{tenant.id}"}}' in text
    assert f'oms_admission_in_flight{{tenant="{tenant.id}"}} 1.0' in text
    assert f'oms_admission_budget_remaining{{tenant="{tenant.id}"}}' in text
    assert "oms_admission_store_errors_total" in text


@pytest.mark.django_db
def test_through_redis_the_same_rules_apply(gql, tenant, settings, redis_store_url):
    settings.OMS_RATE_LIMIT_REDIS_URL = redis_store_url
    configure(tenant, admission_share=0.1)
    token = hs_token(tenant, sub="alice", roles=["customer"])
    served = gql.post(ME, token=token)
    assert served.status_code == 200 and served.json()["extensions"]["cost"]["requestedQueryCost"] == 1
    hold(tenant.id, 1)
    assert gql.post(ME, token=token).status_code == 429


@pytest.mark.django_db
def test_with_redis_down_requests_are_admitted_and_the_failure_counted(gql, tenant, settings):
    settings.OMS_RATE_LIMIT_REDIS_URL = "redis://127.0.0.1:1/0"
    before = ADMISSION_STORE_ERRORS._value.get()
    response = gql.post(ME, token=hs_token(tenant, sub="alice", roles=["customer"]))
    assert response.status_code == 200 and response.json()["data"]["me"]["userId"] == "alice"
    assert "RateLimit" not in response.headers
    assert ADMISSION_STORE_ERRORS._value.get() >= before + 1
