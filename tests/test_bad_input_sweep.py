"""The bad-input sweep (docs/errors.md): control characters, unpaired surrogates, 2^63 and 10^30,
negative zero and very long strings in every string and number argument of every mutation (read
from the schema, so a new mutation is swept too) and in every field of each webhook snapshot
type. Each answer is a coded refusal or a clean success: never a 500, never an error without
`extensions.code`, never `INTERNAL`, and nothing written when refused. Runs on SQLite and
PostgreSQL (CI runs the suite on both).

The exhaustive part sends every listed bad value to every argument path; the Hypothesis part
draws further strings and numbers for random paths.
"""

from __future__ import annotations

import copy
import json
import uuid

import pytest
from django.apps import apps
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oms_project.schema import schema
from tests.ordering.conftest import Shop, seed_catalog
from tests.test_bad_input import post_signed

BAD_STRINGS = ["a\u0000b", "\u0007", "\ud800", "x" * 5000, "-0", "1e30", "NaN", "\u202e\u0301", ""]
BAD_NUMBERS = [2**63, 10**30, 2**31, -(2**31) - 1, -1, 0, -0.0, 1.5]
CUSTOMER_MUTATIONS = {
    "checkoutItems",
    "updateCheckoutItems",
    "changeDestination",
    "selectShippingOption",
    "applyCoupon",
    "removeCoupon",
    "placeOrder",
    "requestReturn",
    "syncUser",
}
KNOWN = {
    "productId": "mug",
    "vendorId": "acme",
    "shippingOptionId": "acme-std",
    "code": "WELCOME5",
    "carrier": "UPS",
    "trackingNumber": "1Z",
    "email": "ada@example.com",
    "firstName": "Ada",
    "lastName": "Lovelace",
    "country": "US",
    "line1": "1 Main St",
    "city": "Springfield",
    "postalCode": "12345",
    "amount": "1.00",
    "method": "card",
    "reference": "ch_1",
    "reason": "because",
    "reviewerId": "staff-2",
    "quantity": 1,
}


def unwrap(type_):
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return type_


def base_value(name: str, type_, context: dict):
    """A plausible value for an argument or input field, so the bad one is what gets judged."""
    inner = unwrap(type_)
    if isinstance(inner, GraphQLList):
        return [base_value(name[:-1] if name.endswith("s") else name, inner.of_type, context)]
    if isinstance(inner, GraphQLInputObjectType):
        return {field_name: base_value(field_name, field.type, context) for field_name, field in inner.fields.items()}
    if isinstance(inner, GraphQLEnumType):
        return next(iter(inner.values))
    if name in context:
        return context[name]
    if name in KNOWN:
        return KNOWN[name]
    if inner.name in ("Int", "Float"):
        return 1
    if inner.name == "Boolean":
        return False
    return "x"


def leaf_paths(type_, path=()):
    """(path, scalar type name) of every string and number leaf below `type_`."""
    inner = unwrap(type_)
    if isinstance(inner, GraphQLList):
        yield from leaf_paths(inner.of_type, (*path, 0))
    elif isinstance(inner, GraphQLInputObjectType):
        for name, field in inner.fields.items():
            yield from leaf_paths(field.type, (*path, name))
    elif isinstance(inner, GraphQLScalarType) and inner.name in ("String", "ID", "Int", "Float"):
        yield path, inner.name


def sweep_targets():
    targets = []
    for name, field in schema.graphql_schema.mutation_type.fields.items():
        for arg_name, arg in field.args.items():
            for path, kind in leaf_paths(arg.type, (arg_name,)):
                targets.append((name, path, kind))
    return targets


TARGETS = sweep_targets()


def operation(name: str) -> str:
    field = schema.graphql_schema.mutation_type.fields[name]
    variables = ", ".join(f"${a}: {arg.type}" for a, arg in field.args.items())
    arguments = ", ".join(f"{a}: ${a}" for a in field.args)
    payload = unwrap(field.type)
    selection = "errors { code field }" if "errors" in payload.fields else "__typename"
    return f"mutation({variables}) {{ {name}({arguments}) {{ {selection} }} }}"


def _counted_models():
    return [m for m in apps.get_models() if m._meta.app_label in ("ordering", "snapshots", "webhooks")]


def fingerprint() -> dict:
    """What a refused request must leave as it was: every row count and every order's version
    (one statement for the counts: the sweep takes it twice for each of its thousands of cases)."""
    from django.db import connection

    from ordering.infrastructure.models import Order

    models = _counted_models()
    quote = connection.ops.quote_name
    union = " UNION ALL ".join(f"SELECT {i}, count(*) FROM {quote(m._meta.db_table)}" for i, m in enumerate(models))
    with connection.cursor() as cursor:
        cursor.execute(union)
        counts = {models[i]._meta.label: n for i, n in cursor.fetchall()}
    counts["versions"] = sorted(Order.objects.values_list("id", "version", "status"))
    return counts


def is_refusal(body: dict, name: str) -> bool:
    if body.get("errors"):
        return True
    payload = (body.get("data") or {}).get(name) or {}
    return bool(payload.get("errors"))


def assert_coded(response, what) -> dict:
    assert response.status_code in (200, 400), (what, response.status_code, response.content[:300])
    body = response.json()
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code and code != "INTERNAL", (what, error)
    return body


@pytest.fixture
def world(gql, tenant):
    """A catalog, and a confirmed order whose ids the sweep's other arguments use."""
    seed_catalog(tenant.id)
    shop = Shop(gql, tenant)
    order = shop.confirmed()
    context = {
        "orderId": order["id"],
        "lineId": order["lines"][0]["id"],
        "lineIds": order["lines"][0]["id"],
        "shipmentId": str(uuid.uuid4()),
        "returnId": str(uuid.uuid4()),
    }
    return shop, context


class Known:
    """The database's fingerprint as of the last answer, for a sweep that sends thousands of
    requests: only an applied request can change it (a refusal that changed anything fails the
    sweep), so it is taken again after each success instead of before every request."""

    def __init__(self) -> None:
        self.fingerprint = fingerprint()

    def before(self) -> dict:
        return self.fingerprint

    def after(self, refused: bool) -> dict:
        now = fingerprint()
        if not refused:
            self.fingerprint = now
        return now


def send(gql, shop, context, name, path, value, known: Known | None = None):
    field = schema.graphql_schema.mutation_type.fields[name]
    variables = {a: base_value(a, arg.type, context) for a, arg in field.args.items()}
    target = variables
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    token = shop.customer if name in CUSTOMER_MUTATIONS else shop.staff
    before = known.before() if known else fingerprint()
    response = gql.post(operation(name), copy.deepcopy(variables), token=token)
    body = assert_coded(response, (name, path, repr(value)[:40]))
    refused = is_refusal(body, name)
    if refused:
        after = known.after(refused) if known else fingerprint()
        assert after == before, (name, path, repr(value)[:40], body)
    elif known:
        known.after(refused)


def test_the_sweep_covers_every_mutation():
    assert {name for name, _, _ in TARGETS} == set(schema.graphql_schema.mutation_type.fields)
    assert len(TARGETS) > 100


def test_every_bad_value_in_every_mutation_argument_gets_a_coded_answer(gql, world):
    shop, context = world
    known = Known()
    for name, path, kind in TARGETS:
        values = BAD_STRINGS if kind in ("String", "ID") else BAD_NUMBERS
        for value in values:
            send(gql, shop, context, name, path, value, known)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    target=st.sampled_from(TARGETS),
    text=st.text(alphabet=st.characters(exclude_categories=()), max_size=300),
    number=st.one_of(st.integers(min_value=-(10**40), max_value=10**40), st.floats(allow_nan=False)),
)
def test_generated_values_in_mutation_arguments_get_a_coded_answer(gql, world, target, text, number):
    shop, context = world
    name, path, kind = target
    send(gql, shop, context, name, path, text if kind in ("String", "ID") else number)


# -- webhook snapshot types ---------------------------------------------------------------------------


def _money(amount):
    return {"amount": amount, "currency": "USD"}


SNAPSHOTS = {
    "vendor": {"vendor_id": "v-1", "name": "Acme", "active": True, "country": "US", "currency": "USD"},
    "product": {
        "product_id": "p-1",
        "vendor_id": "v-1",
        "sku": "SKU-1",
        "name": "Mug",
        "price": _money("12.50"),
        "active": True,
        "available_quantity": 5,
        "min_quantity": 1,
        "max_quantity": 9,
        "attributes": {"colour": "blue"},
    },
    "coupon": {
        "code": "SAVE10",
        "kind": "percent",
        "value": "10",
        "active": True,
        "usage_limit": 5,
        "min_subtotal": _money("30"),
        "valid_from": "2026-01-01T00:00:00Z",
    },
    "offer": {
        "offer_id": "o-1",
        "vendor_id": "v-1",
        "kind": "percent_off",
        "value": "15",
        "active": True,
        "product_ids": ["p-1"],
        "min_quantity": 2,
        "priority": 1,
    },
    "shipping_option": {
        "option_id": "s-1",
        "vendor_id": "v-1",
        "name": "Std",
        "carrier": "DHL",
        "base_cost": _money("4.99"),
        "per_item_cost": _money("1"),
        "free_over": _money("75"),
        "countries": ["US"],
        "delivery_days": 3,
        "active": True,
    },
    "customer": {"user_id": "u-1", "email": "a@b.co", "first_name": "A", "last_name": "B", "phone": "+1 555"},
    "customer_address": {
        "address_id": "a-1",
        "user_id": "u-1",
        "line1": "1 Main St",
        "city": "X",
        "postal_code": "1",
        "country": "US",
        "is_default": True,
    },
    "user_authorization": {"user_id": "u-1", "roles": ["vendor"], "vendor_id": "v-1", "active": True},
    "tenant_workflow": {"review_required": True, "review_min_total": "100", "return_window_days": 30},
    "tax_option": {"vendor_id": "v-1", "country": "US", "rate": "10", "inclusive": False, "active": True},
    "payment_option": {"option_id": "card", "vendor_id": "v-1", "method": "card", "name": "Card", "active": True},
}
WEBHOOK_TARGETS = [(kind, key) for kind, data in SNAPSHOTS.items() for key in [*data, "version"]]


def post_snapshot(client, tenant_id, secret, kind, data, known: Known | None = None):
    before = known.before() if known else fingerprint()
    body = json.dumps({"type": f"{kind}.upserted", "data": data}).encode()
    response = post_signed(client, tenant_id, secret, body)
    what = (kind, repr(data)[:80])
    assert response.status_code in (204, 400, 404, 409), (what, response.status_code, response.content[:300])
    refused = response.status_code != 204
    if refused:
        assert response.json().get("code") not in (None, "INTERNAL"), (what, response.content)
        assert (known.after(refused) if known else fingerprint()) == before, what
    elif known:
        known.after(refused)


def test_every_bad_value_in_every_snapshot_field_gets_a_coded_answer(client, tenant, secret):
    known = Known()
    for kind, key in WEBHOOK_TARGETS:
        for value in [*BAD_STRINGS, *BAD_NUMBERS, None, [], {}, True]:
            data = {**SNAPSHOTS[kind], "version": 1, key: value}
            post_snapshot(client, tenant.id, secret, kind, data, known)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    target=st.sampled_from(WEBHOOK_TARGETS),
    value=st.one_of(
        st.text(max_size=300),
        st.integers(min_value=-(10**40), max_value=10**40),
        st.floats(allow_nan=False),
        st.lists(st.text(max_size=20), max_size=3),
    ),
)
def test_generated_values_in_snapshot_fields_get_a_coded_answer(client, tenant, secret, target, value):
    kind, key = target
    post_snapshot(client, tenant.id, secret, kind, {**SNAPSHOTS[kind], "version": 2, key: value})
