"""`syncUser` and `me` end to end, with the database as the witness."""

from __future__ import annotations

import pytest

from snapshots.infrastructure.models import (
    CustomerAddressSnapshot,
    CustomerDetailsSnapshot,
    UserAuthorizationSnapshot,
)
from tests.tokens import hs_token

SYNC = """
mutation Sync($email: String!, $first: String!, $last: String!, $phone: String,
              $addresses: [CustomerAddressInput!]) {
  syncUser(email: $email, firstName: $first, lastName: $last, phone: $phone, addresses: $addresses) {
    me { userId tenantId roles }
    customer { userId email firstName lastName phone
               addresses { id line1 line2 city state postalCode country isDefault } }
    errors { field code message }
  }
}
"""
ME = "{ me { userId customer { email firstName addresses { id country isDefault } } } }"

HOME = {"line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "us"}
WORK = {
    "id": "work",
    "line1": "2 Office Rd",
    "line2": "Floor 3",
    "city": "Shelbyville",
    "state": "IL",
    "postalCode": "54321",
    "country": "US",
    "isDefault": True,
}


def sync_vars(**overrides):
    values = {
        "email": "Ada@Example.com",
        "first": "Ada",
        "last": "Lovelace",
        "phone": "+44 20 7946 0000",
        "addresses": [HOME, WORK],
    }
    values.update(overrides)
    return values


def test_sync_user_creates_customer_addresses_and_authorization(gql, tenant):
    token = hs_token(tenant, sub="cust-1", roles=["customer"])
    payload = gql.execute(SYNC, sync_vars(), token=token)["syncUser"]

    assert payload["errors"] == []
    assert payload["me"] == {"userId": "cust-1", "tenantId": tenant.id, "roles": ["CUSTOMER"]}
    customer = payload["customer"]
    assert customer["email"] == "ada@example.com"
    assert customer["phone"] == "+44 20 7946 0000"
    assert next(a["id"] for a in customer["addresses"]) == "work"  # the default comes first
    home = next(a for a in customer["addresses"] if a["id"] != "work")
    assert home["id"].startswith("addr_") and home["country"] == "US" and not home["isDefault"]

    row = CustomerDetailsSnapshot.objects.get(tenant=tenant, user_id="cust-1")
    assert (row.first_name, row.last_name, row.email) == ("Ada", "Lovelace", "ada@example.com")
    assert CustomerAddressSnapshot.objects.filter(tenant=tenant, user_id="cust-1").count() == 2
    assert CustomerAddressSnapshot.objects.get(tenant=tenant, address_id="work").is_default
    authorization = UserAuthorizationSnapshot.objects.get(tenant=tenant, user_id="cust-1")
    assert (authorization.roles, authorization.active) == (["customer"], True)


def test_sync_user_is_idempotent_and_replaces_the_address_book(gql, tenant):
    token = hs_token(tenant, sub="cust-1")
    gql.execute(SYNC, sync_vars(), token=token)
    gql.execute(SYNC, sync_vars(), token=token)
    assert CustomerAddressSnapshot.objects.count() == 2, "same addresses, same derived ids"

    payload = gql.execute(SYNC, sync_vars(first="Augusta", addresses=[WORK]), token=token)["syncUser"]

    assert payload["customer"]["firstName"] == "Augusta"
    assert list(CustomerAddressSnapshot.objects.values_list("address_id", flat=True)) == ["work"]
    assert CustomerDetailsSnapshot.objects.count() == 1


def test_omitting_addresses_leaves_them_unchanged(gql, tenant):
    token = hs_token(tenant, sub="cust-1")
    gql.execute(SYNC, sync_vars(), token=token)
    gql.execute(SYNC, sync_vars(addresses=None, phone=None), token=token)
    assert CustomerAddressSnapshot.objects.count() == 2
    assert CustomerDetailsSnapshot.objects.get().phone == ""


def test_the_first_address_is_default_when_none_is_marked(gql, tenant):
    token = hs_token(tenant, sub="cust-1")
    payload = gql.execute(SYNC, sync_vars(addresses=[HOME]), token=token)["syncUser"]
    assert payload["customer"]["addresses"][0]["isDefault"] is True


def test_me_shows_the_synced_customer(gql, tenant):
    token = hs_token(tenant, sub="cust-1")
    assert gql.execute(ME, token=token)["me"]["customer"] is None
    gql.execute(SYNC, sync_vars(), token=token)
    customer = gql.execute(ME, token=token)["me"]["customer"]
    assert customer["email"] == "ada@example.com"
    assert [a["isDefault"] for a in customer["addresses"]] == [True, False]


def test_vendor_sync_records_vendor_authorization(gql, tenant):
    token = hs_token(tenant, sub="vend-1", roles=["vendor"], vendor_id="v-9")
    gql.execute(SYNC, sync_vars(addresses=[]), token=token)
    authorization = UserAuthorizationSnapshot.objects.get(user_id="vend-1")
    assert (authorization.roles, authorization.vendor_id) == (["vendor"], "v-9")


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        (sync_vars(email="not-an-email"), "email"),
        (sync_vars(first="   "), "firstName"),
        (sync_vars(addresses=[HOME, {**WORK, "country": "XX"}]), "addresses[1].country"),
        (sync_vars(addresses=[{**HOME, "postalCode": ""}]), "addresses[0].postalCode"),
        (sync_vars(addresses=[HOME, HOME]), "addresses[1]"),
        (sync_vars(phone="9" * 41), "phone"),
    ],
    ids=["email", "first-name", "country", "postal-code", "duplicate-address", "long-phone"],
)
def test_invalid_input_is_refused_and_nothing_is_written(gql, tenant, variables, field):
    payload = gql.execute(SYNC, variables, token=hs_token(tenant))["syncUser"]

    assert payload["customer"] is None
    assert payload["errors"][0]["code"] == "INVALID"
    assert payload["errors"][0]["field"] == field
    assert CustomerDetailsSnapshot.objects.count() == 0
    assert CustomerAddressSnapshot.objects.count() == 0
    assert UserAuthorizationSnapshot.objects.count() == 0


def test_invalid_resync_keeps_the_previous_data(gql, tenant):
    token = hs_token(tenant, sub="cust-1")
    gql.execute(SYNC, sync_vars(), token=token)
    payload = gql.execute(SYNC, sync_vars(first="Changed", addresses=[{**HOME, "country": "ZZ"}]), token=token)
    assert payload["syncUser"]["errors"][0]["code"] == "INVALID"
    assert CustomerDetailsSnapshot.objects.get().first_name == "Ada"
    assert CustomerAddressSnapshot.objects.count() == 2


def test_missing_required_argument_is_a_graphql_validation_error(gql, tenant):
    response = gql.post(
        'mutation { syncUser(email: "a@b.co", firstName: "A") { errors { code } } }', token=hs_token(tenant)
    )
    assert response.status_code == 400
    assert CustomerDetailsSnapshot.objects.count() == 0


def test_an_address_id_of_another_customer_cannot_be_taken_over(gql, tenant):
    gql.execute(SYNC, sync_vars(), token=hs_token(tenant, sub="victim"))

    payload = gql.execute(
        SYNC, sync_vars(addresses=[{**WORK, "line1": "Attacker St"}]), token=hs_token(tenant, sub="attacker")
    )["syncUser"]

    assert payload["errors"][0] == {
        "field": "addresses[0].id",
        "code": "INVALID",
        "message": "this address id is not available",
    }
    work = CustomerAddressSnapshot.objects.get(tenant=tenant, address_id="work")
    assert (work.user_id, work.line1) == ("victim", "2 Office Rd")
    assert not CustomerDetailsSnapshot.objects.filter(user_id="attacker").exists()


def test_sync_in_tenant_a_never_touches_tenant_b(gql, tenant, other_tenant):
    # The same user id, address ids included, exists in both tenants.
    gql.execute(SYNC, sync_vars(email="b@example.com", first="Bea"), token=hs_token(other_tenant, sub="same-user"))
    before = {
        model: list(model.objects.filter(tenant=other_tenant).order_by("pk").values())
        for model in (CustomerDetailsSnapshot, CustomerAddressSnapshot, UserAuthorizationSnapshot)
    }

    gql.execute(
        SYNC,
        sync_vars(email="a@example.com", first="Ann", addresses=[WORK]),
        token=hs_token(tenant, sub="same-user", roles=["staff"]),
    )

    for model, rows in before.items():
        assert list(model.objects.filter(tenant=other_tenant).order_by("pk").values()) == rows
    assert CustomerDetailsSnapshot.objects.get(tenant=tenant).first_name == "Ann"
    assert CustomerAddressSnapshot.objects.filter(tenant=tenant).count() == 1
    assert CustomerAddressSnapshot.objects.filter(tenant=other_tenant).count() == 2
    me_b = gql.execute(ME, token=hs_token(other_tenant, sub="same-user"))["me"]["customer"]
    assert me_b["firstName"] == "Bea"


def test_the_customer_in_a_mutation_payload_is_read_in_the_tenants_scope(gql, tenant, monkeypatch):
    """A mutation runs no request-wide transaction (docs/decisions.md): the payload's `me.customer`
    opens its own tenant scope, so row-level security applies to that read too."""
    from identity.api import schema
    from oms_project.kernel.tenancy import current_tenant_scope

    scopes = []
    real = schema.customer_profile

    def spy(principal, store):
        scopes.append(current_tenant_scope())
        return real(principal, store)

    monkeypatch.setattr(schema, "customer_profile", spy)
    token = hs_token(tenant, sub="cust-1", roles=["customer"])
    query = (
        'mutation { syncUser(email: "ada@example.com", firstName: "Ada", lastName: "Lovelace") '
        "{ me { customer { email } } errors { code } } }"
    )
    payload = gql.execute(query, token=token)["syncUser"]
    assert payload["me"]["customer"]["email"] == "ada@example.com" and scopes == [tenant.id]
