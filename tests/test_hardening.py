"""Guards on the endpoints: GraphQL depth, alias and size limits, introspection, body limits,
CSRF where cookies are used, and security headers. Each refusal has a stable code and nothing
executes or is written."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ordering.infrastructure.models import Order

from .ordering.conftest import seed_catalog
from .tokens import hs_token

DEEP = "{ orders { edges { node { lines { unitPrice { amount } } } } } }"  # 6 levels


def post(client, query: str, token: str, **extra):
    return client.post(
        "/graphql/",
        data=json.dumps({"query": query}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **extra,
    )


def codes(response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json()["errors"]]


@pytest.fixture
def staff(tenant) -> str:
    return hs_token(tenant, sub="staff-1", roles=["staff"])


def order_queries(context) -> list[str]:
    return [q["sql"] for q in context.captured_queries if "ordering_" in q["sql"]]


def test_a_query_deeper_than_the_limit_is_refused_before_it_runs(client, staff, settings):
    settings.OMS_GRAPHQL_MAX_DEPTH = 6
    with CaptureQueriesContext(connection) as allowed:
        assert post(client, DEEP, staff).status_code == 200
    assert order_queries(allowed)
    settings.OMS_GRAPHQL_MAX_DEPTH = 5
    with CaptureQueriesContext(connection) as refused:
        response = post(client, DEEP, staff)
    assert order_queries(refused) == []  # no resolver ran
    assert response.status_code == 400 and codes(response) == ["QUERY_TOO_DEEP"]
    assert "limit is 5" in response.json()["errors"][0]["message"]


def test_depth_counts_through_fragments(client, staff, settings):
    settings.OMS_GRAPHQL_MAX_DEPTH = 5
    query = """
      query Deep { orders { ...Page } }
      fragment Page on OrderConnection { edges { node { ...Lines } } }
      fragment Lines on Order { lines { unitPrice { amount } } }
    """
    response = post(client, query, staff)
    assert response.status_code == 400 and codes(response) == ["QUERY_TOO_DEEP"]


def checkouts(count: int) -> str:
    address = '{line1: "1 Main St", city: "Springfield", postalCode: "12345", country: "US"}'
    fields = " ".join(
        f'c{i}: checkoutItems(items: [{{productId: "mug", quantity: 1}}], '
        f"shippingAddress: {address}) {{ order {{ id }} errors {{ code }} }}"
        for i in range(count)
    )
    return f"mutation {{ {fields} }}"


def test_too_many_aliases_are_refused_and_nothing_is_written(client, tenant, settings):
    seed_catalog(tenant.id)
    settings.OMS_GRAPHQL_MAX_ALIASES = 3
    customer = hs_token(tenant, sub="cust-1", roles=["customer"])
    response = post(client, checkouts(4), customer)
    assert response.status_code == 400 and codes(response) == ["TOO_MANY_ALIASES"]
    assert Order.objects.count() == 0
    allowed = post(client, checkouts(3), customer)
    assert allowed.status_code == 200 and "errors" not in allowed.json()
    assert Order.objects.count() == 3


def test_invalid_documents_have_codes_too(client, staff):
    syntax = post(client, "{ me { userId ", staff)
    assert syntax.status_code == 400 and codes(syntax) == ["GRAPHQL_PARSE_FAILED"]
    unknown = post(client, "{ me { nope } }", staff)
    assert unknown.status_code == 400 and codes(unknown) == ["GRAPHQL_VALIDATION_FAILED"]


def test_a_query_document_over_the_size_limit_is_refused(client, staff, settings):
    settings.OMS_GRAPHQL_MAX_QUERY_BYTES = 100
    padded = "{ me { userId } }" + " " * 100
    response = post(client, padded, staff)
    assert response.status_code == 400 and codes(response) == ["QUERY_TOO_LARGE"]
    assert post(client, "{ me { userId } }", staff).status_code == 200


def test_a_body_over_the_limit_is_refused_unread(client, staff, settings):
    settings.OMS_GRAPHQL_MAX_BODY_BYTES = 1000
    body = json.dumps({"query": "{ me { userId } }", "variables": {"pad": "x" * 1000}})
    response = client.post(
        "/graphql/", data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {staff}"
    )
    assert response.status_code == 413 and codes(response) == ["PAYLOAD_TOO_LARGE"]


def test_introspection_can_be_switched_off(client, staff, settings):
    query = "{ __schema { queryType { name } } }"
    settings.OMS_GRAPHQL_INTROSPECTION = True
    assert post(client, query, staff).json()["data"]["__schema"]["queryType"]["name"] == "Query"
    settings.OMS_GRAPHQL_INTROSPECTION = False
    response = post(client, query, staff)
    assert response.status_code == 400 and codes(response) == ["INTROSPECTION_DISABLED"]
    type_query = '{ __type(name: "Order") { name } }'
    assert codes(post(client, type_query, staff)) == ["INTROSPECTION_DISABLED"]
    # `__typename` is not introspection of the schema: clients rely on it.
    assert post(client, "{ me { __typename } }", staff).json()["data"]["me"]["__typename"] == "Me"


def test_introspection_is_off_by_default_in_production():
    from oms_project import settings as production

    assert production.OMS_GRAPHQL_INTROSPECTION == production.DEBUG


def test_the_bearer_endpoint_needs_no_csrf_token_but_the_admin_does(db, staff, django_user_model):
    browser = Client(enforce_csrf_checks=True)
    assert post(browser, "{ me { userId } }", staff).status_code == 200
    django_user_model.objects.create_superuser("admin", "admin@example.com", "pw-123-long-enough")
    refused = browser.post("/admin/login/", {"username": "admin", "password": "pw-123-long-enough"})
    assert refused.status_code == 403
    page = browser.get("/admin/login/")
    token = page.cookies["csrftoken"].value
    accepted = browser.post(
        "/admin/login/", {"username": "admin", "password": "pw-123-long-enough", "csrfmiddlewaretoken": token}
    )
    assert accepted.status_code == 302


def test_security_headers(client, staff):
    api = post(client, "{ me { userId } }", staff)
    assert api["Content-Security-Policy"].startswith("default-src 'none'")
    assert api["Cache-Control"] == "no-store"
    assert api["X-Content-Type-Options"] == "nosniff"
    assert api["X-Frame-Options"] == "DENY"
    assert api["Referrer-Policy"] == "same-origin"
    assert "camera=()" in api["Permissions-Policy"]
    admin = client.get("/admin/login/")
    assert admin["Content-Security-Policy"].startswith("default-src 'self'")
    assert "frame-ancestors 'none'" in admin["Content-Security-Policy"]
    assert client.get("/healthz")["Content-Security-Policy"].startswith("default-src 'none'")


def test_a_document_is_parsed_and_validated_once_and_limits_still_apply(client, staff, settings):
    from oms_project.graphql_view import _checked_document

    query = "{ me { userId roles } }"
    before = _checked_document.cache_info()
    assert post(client, query, staff).status_code == 200
    assert post(client, query, staff).status_code == 200
    after = _checked_document.cache_info()
    assert after.hits >= before.hits + 1
    settings.OMS_GRAPHQL_MAX_DEPTH = 1  # another rule set: checked afresh, not served from the cache
    assert codes(post(client, query, staff)) == ["QUERY_TOO_DEEP"]


def test_a_mutation_over_get_is_refused(client, staff):
    response = client.get(
        "/graphql/",
        {"query": 'mutation { placeOrder(orderId: "x") { errors { code } } }'},
        HTTP_AUTHORIZATION=f"Bearer {staff}",
    )
    assert response.status_code == 405
