"""Bearer-token GraphQL calls skip the browser-only middleware (oms_project/kernel/api_lane.py) and
keep every header and metric; everything else still goes through all of it."""

from __future__ import annotations

import pytest
from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.csrf import CsrfViewMiddleware

from tests.tokens import hs_token

ME = "{ me { userId } }"


@pytest.fixture
def browser_middleware_calls(monkeypatch):
    calls = []
    for cls in (SessionMiddleware, CsrfViewMiddleware):
        original = cls.process_request

        def record(self, request, original=original, name=cls.__name__):
            calls.append((name, request.path))
            return original(self, request)

        monkeypatch.setattr(cls, "process_request", record)
    return calls


def test_a_bearer_graphql_call_skips_sessions_csrf_and_the_user(gql, tenant, browser_middleware_calls):
    response = gql.post(ME, token=hs_token(tenant, sub="u1", roles=["customer"]))
    assert response.status_code == 200 and response.json()["data"]["me"]["userId"] == "u1"
    assert browser_middleware_calls == []
    assert not hasattr(response.wsgi_request, "user") and not hasattr(response.wsgi_request, "session")
    assert "Set-Cookie" not in response.headers and not response.cookies
    # The headers every answer carries are still there.
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Request-ID"]


@pytest.mark.django_db
def test_calls_without_a_bearer_token_and_the_admin_go_through_all_of_it(client, gql, browser_middleware_calls):
    assert gql.post(ME).status_code == 401  # no token: the full chain, then the view refuses
    assert gql.post(ME, authorization="Basic dTpw").status_code == 401
    assert client.get("/admin/login/").status_code == 200
    assert ("SessionMiddleware", "/graphql/") in browser_middleware_calls
    assert ("SessionMiddleware", "/admin/login/") in browser_middleware_calls
    assert ("CsrfViewMiddleware", "/admin/login/") in browser_middleware_calls


@pytest.mark.django_db
def test_api_calls_are_counted_in_the_request_metrics(client, gql, tenant):
    from oms_project.kernel.metrics import REQUESTS, RESPONSES

    view = "oms_project.graphql_view.OmsGraphQLView"
    before = REQUESTS.labels(view, "http", "POST")._value.get(), RESPONSES.labels("200")._value.get()
    gql.post(ME, token=hs_token(tenant, sub="u1", roles=["customer"]))
    after = REQUESTS.labels(view, "http", "POST")._value.get(), RESPONSES.labels("200")._value.get()
    assert after == (before[0] + 1, before[1] + 1)


@pytest.mark.django_db
@pytest.mark.parametrize("authorization", ["bearer", "none"])
def test_a_host_outside_allowed_hosts_is_a_plain_400_on_the_api_lane_too(client, tenant, settings, authorization):
    """A bearer-token call skips CommonMiddleware's browser work, never its host check: with
    DEBUG off, `Host: evil.example` is refused with 400 and the header is not repeated."""
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["api.example.com"]
    headers = (
        {"HTTP_AUTHORIZATION": f"Bearer {hs_token(tenant, sub='u1', roles=['customer'])}"}
        if authorization == "bearer"
        else {}
    )
    body = '{"query": "{ me { userId } }"}'
    refused = client.post("/graphql/", data=body, content_type="application/json", HTTP_HOST="evil.example", **headers)
    assert refused.status_code == 400
    assert b"evil.example" not in refused.content and b"userId" not in refused.content
    assert all("evil.example" not in value for value in refused.headers.values())
    allowed = client.post(
        "/graphql/", data=body, content_type="application/json", HTTP_HOST="api.example.com", **headers
    )
    assert allowed.status_code == (200 if authorization == "bearer" else 401)


@pytest.mark.django_db
def test_the_webhook_doors_check_the_host_as_well(client, tenant, settings):
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["api.example.com"]
    refused = client.post(
        f"/webhooks/{tenant.id}/", data="{}", content_type="application/json", HTTP_HOST="evil.example"
    )
    assert refused.status_code == 400 and b"evil.example" not in refused.content
