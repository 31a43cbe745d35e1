"""Tenant token policies and authorization snapshots are cached per process for a few seconds
(docs/authentication.md); a change made in this process takes effect at once, one made elsewhere
within OMS_AUTH_CACHE_SECONDS."""

from __future__ import annotations

import pytest

from oms_project.kernel import local_cache
from snapshots.infrastructure.models import UserAuthorizationSnapshot
from tests.conftest import requires_postgres
from tests.tokens import hs_token

ME = "{ me { userId vendorId } }"


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(local_cache.time, "monotonic", lambda: now[0])
    return now


def status(gql, token) -> int:
    return gql.post(ME, token=token).status_code


def test_a_revocation_elsewhere_takes_effect_within_the_cache_lifetime(gql, tenant, settings, clock, sender):
    settings.OMS_AUTH_CACHE_SECONDS = 5
    token = hs_token(tenant, sub="u1", roles=["customer"])
    sender.post(
        {
            "type": "user_authorization.upserted",
            "data": {"user_id": "u1", "roles": ["customer"], "active": True, "version": 1},
        }
    )
    assert status(gql, token) == 200
    # Another process revokes (this one's cache is not told): still served until the entry expires.
    UserAuthorizationSnapshot.objects.filter(user_id="u1").update(active=False)
    clock[0] += 4.9
    assert status(gql, token) == 200
    clock[0] += 0.2
    assert status(gql, token) == 403


def test_a_revocation_received_here_takes_effect_at_once(gql, tenant, settings, clock, sender):
    settings.OMS_AUTH_CACHE_SECONDS = 60
    token = hs_token(tenant, sub="u2", roles=["customer"])
    assert status(gql, token) == 200
    response = sender.post(
        {
            "type": "user_authorization.upserted",
            "data": {"user_id": "u2", "roles": ["customer"], "active": False, "version": 1},
        }
    )
    assert response.status_code == 204
    assert status(gql, token) == 403


def test_a_tenant_saved_here_takes_effect_at_once(gql, tenant, settings, clock):
    settings.OMS_AUTH_CACHE_SECONDS = 60
    token = hs_token(tenant, sub="u3", roles=["customer"])
    assert status(gql, token) == 200
    tenant.active = False
    tenant.save()
    assert status(gql, token) == 401


def test_no_cache_when_the_lifetime_is_zero(gql, tenant, settings, sender):
    settings.OMS_AUTH_CACHE_SECONDS = 0
    token = hs_token(tenant, sub="u4", roles=["customer"])
    assert status(gql, token) == 200
    sender.post(
        {
            "type": "user_authorization.upserted",
            "data": {"user_id": "u4", "roles": ["customer"], "active": True, "version": 1},
        }
    )
    UserAuthorizationSnapshot.objects.filter(user_id="u4").update(active=False)
    assert status(gql, token) == 403


@requires_postgres
@pytest.mark.django_db(transaction=True)  # real BEGIN and COMMIT, as in production
def test_me_costs_three_statements(gql, tenant, django_assert_num_queries):
    """BEGIN, the tenant scope and COMMIT: the tenant and the authorization come from the cache."""
    token = hs_token(tenant, sub="u5", roles=["customer"])
    assert status(gql, token) == 200
    with django_assert_num_queries(3):
        assert status(gql, token) == 200


def test_a_bearer_token_request_gets_no_cookie(gql, tenant):
    """No CSRF token is made for an API call that reads no cookie (graphene-django's
    `ensure_csrf_cookie` is for its GraphiQL page only)."""
    response = gql.post(ME, token=hs_token(tenant, sub="u6", roles=["customer"]))
    assert response.status_code == 200 and not response.cookies


def test_a_token_is_verified_once_per_cache_lifetime_and_its_expiry_checked_on_every_use(
    gql, tenant, settings, clock, monkeypatch
):
    import time as real_time

    import jwt as pyjwt

    from identity.infrastructure import jwt_verifier

    settings.OMS_AUTH_CACHE_SECONDS = 60
    decodes = []
    original = pyjwt.decode
    monkeypatch.setattr(jwt_verifier.jwt, "decode", lambda *a, **k: decodes.append(1) or original(*a, **k))
    expires = int(real_time.time()) + 30
    token = hs_token(tenant, sub="u6", roles=["customer"], exp=expires)
    assert [status(gql, token) for _ in range(3)] == [200, 200, 200]
    assert len(decodes) == 1
    # Past its `exp` (and the verifier's leeway) the cached token is refused like any other.
    monkeypatch.setattr(jwt_verifier.time, "time", lambda: expires + settings.OMS_JWT_LEEWAY_SECONDS + 1)
    response = gql.post(ME, token=token)
    assert response.status_code == 401 and "token has expired" in response.content.decode()


def test_a_changed_tenant_secret_takes_effect_for_tokens_verified_before(gql, tenant, settings, clock):
    settings.OMS_AUTH_CACHE_SECONDS = 60
    token = hs_token(tenant, sub="u7", roles=["customer"])
    assert status(gql, token) == 200
    tenant.jwt_hs256_secret = "another-secret-" + "y" * 40
    tenant.save()  # the policy changes, so the token is verified again, with the new secret
    assert status(gql, token) == 401
    assert status(gql, hs_token(tenant, sub="u7", roles=["customer"])) == 200
