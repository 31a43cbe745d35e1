"""Every way a request can fail authentication answers 401 UNAUTHENTICATED and writes nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest

from snapshots.infrastructure.models import (
    CustomerAddressSnapshot,
    CustomerDetailsSnapshot,
    UserAuthorizationSnapshot,
)
from tests.factories import TenantFactory
from tests.tokens import JwksServer, RsaKey, claims_for, hs_token

SYNC_USER = """
mutation Sync($email: String!) {
  syncUser(email: $email, firstName: "Eve", lastName: "Intruder",
           addresses: [{line1: "1 Main St", city: "Springfield", postalCode: "12345", country: "US"}]) {
    customer { userId email }
    errors { field code message }
  }
}
"""
ME = "{ me { userId tenantId roles vendorId } }"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge_hs256(payload: dict, secret: bytes, kid: str | None = None) -> str:
    """HS256 by hand: PyJWT itself refuses to use a PEM public key as an HMAC secret."""
    header = {"alg": "HS256", "typ": "JWT"}
    if kid:
        header["kid"] = kid
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


@pytest.fixture
def jwks():
    with JwksServer() as server:
        server.keys = [RsaKey(kid="key-1")]
        yield server


@pytest.fixture
def jwks_tenant(db, jwks):
    return TenantFactory(id="tenant-rsa", jwt_algorithms=["RS256"], jwt_hs256_secret="", jwt_jwks_url=jwks.url)


def now() -> int:
    return int(time.time())


def no_header(t, o, r, k):
    return None


def not_bearer(t, o, r, k):
    return f"Basic {hs_token(t)}"


def bearer_without_token(t, o, r, k):
    return "Bearer "


def bearer_garbage(t, o, r, k):
    return "Bearer not-a-jwt-at-all"


def alg_none(t, o, r, k):
    return "Bearer " + jwt.encode(claims_for(t), key="", algorithm="none")


def hs256_with_rsa_public_key(t, o, r, k):
    # The tenant verifies RS256 through JWKS; the attacker signs HS256 with its public key.
    return "Bearer " + forge_hs256(claims_for(r), k.keys[0].public_pem, kid="key-1")


def wrong_key(t, o, r, k):
    return "Bearer " + jwt.encode(claims_for(t), "another-secret-".ljust(48, "y"), algorithm="HS256")


def expired(t, o, r, k):
    return "Bearer " + hs_token(t, iat=now() - 7200, nbf=now() - 7200, exp=now() - 3600)


def not_yet_valid(t, o, r, k):
    return "Bearer " + hs_token(t, nbf=now() + 3600)


def issued_in_future(t, o, r, k):
    return "Bearer " + hs_token(t, iat=now() + 3600)


def no_exp(t, o, r, k):
    return "Bearer " + hs_token(t, exp=None)


def wrong_issuer(t, o, r, k):
    return "Bearer " + hs_token(t, iss="https://evil.test/")


def wrong_audience(t, o, r, k):
    return "Bearer " + hs_token(t, aud="someone-else")


def missing_sub(t, o, r, k):
    return "Bearer " + hs_token(t, sub=None)


def blank_sub(t, o, r, k):
    return "Bearer " + hs_token(t, sub="  ")


def missing_tenant_id(t, o, r, k):
    return "Bearer " + hs_token(t, tenant_id=None)


def unknown_tenant(t, o, r, k):
    return "Bearer " + hs_token(t, tenant_id="no-such-tenant")


def inactive_tenant(t, o, r, k):
    t.active = False
    t.save()
    return "Bearer " + hs_token(t)


def tenant_b_claim_signed_with_a_key(t, o, r, k):
    return "Bearer " + hs_token(t, tenant_id=o.id)


def rs256_signed_by_unlisted_key(t, o, r, k):
    return "Bearer " + RsaKey(kid="key-1").sign(claims_for(r))


CASES = [
    no_header,
    not_bearer,
    bearer_without_token,
    bearer_garbage,
    alg_none,
    hs256_with_rsa_public_key,
    wrong_key,
    expired,
    not_yet_valid,
    issued_in_future,
    no_exp,
    wrong_issuer,
    wrong_audience,
    missing_sub,
    blank_sub,
    missing_tenant_id,
    unknown_tenant,
    inactive_tenant,
    tenant_b_claim_signed_with_a_key,
    rs256_signed_by_unlisted_key,
]


@pytest.mark.parametrize("make_header", CASES, ids=[case.__name__ for case in CASES])
def test_refused_with_401_and_nothing_written(gql, tenant, other_tenant, jwks_tenant, jwks, make_header):
    authorization = make_header(tenant, other_tenant, jwks_tenant, jwks)

    response = gql.post(SYNC_USER, {"email": "eve@example.com"}, authorization=authorization)

    assert response.status_code == 401
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert CustomerDetailsSnapshot.objects.count() == 0
    assert CustomerAddressSnapshot.objects.count() == 0
    assert UserAuthorizationSnapshot.objects.count() == 0


def test_valid_hs256_token_is_accepted(gql, tenant):
    data = gql.execute(ME, token=hs_token(tenant, sub="u-42", roles=["customer", "staff"]))
    assert data["me"] == {
        "userId": "u-42",
        "tenantId": "tenant-a",
        "roles": ["CUSTOMER", "STAFF"],
        "vendorId": None,
    }


def test_small_clock_skew_is_tolerated(gql, tenant):
    token = hs_token(tenant, nbf=now() + 10, iat=now() + 10)
    assert gql.execute(ME, token=token)["me"]["userId"] == "user-1"


def test_unknown_role_names_are_ignored(gql, tenant):
    token = hs_token(tenant, roles=["customer", "superuser"])
    assert gql.execute(ME, token=token)["me"]["roles"] == ["CUSTOMER"]


def test_rs256_token_verified_through_jwks(gql, jwks_tenant, jwks):
    token = jwks.keys[0].sign(claims_for(jwks_tenant, sub="rsa-user"))
    assert gql.execute(ME, token=token)["me"]["userId"] == "rsa-user"
    assert jwks.fetches == 1
    gql.execute(ME, token=token)
    assert jwks.fetches == 1, "the key set is cached between requests"


def test_key_rotation_accepts_the_new_kid(gql, jwks_tenant, jwks, settings):
    settings.OMS_JWKS_REFRESH_COOLDOWN_SECONDS = 0.3
    old_key, new_key = jwks.keys[0], RsaKey(kid="key-2")
    assert gql.post(ME, token=old_key.sign(claims_for(jwks_tenant))).status_code == 200

    jwks.keys = [old_key, new_key]  # the provider publishes the new key and starts using it
    time.sleep(0.35)  # past the refresh cooldown that follows the first fetch
    response = gql.post(ME, token=new_key.sign(claims_for(jwks_tenant, sub="after-rotation")))

    assert response.status_code == 200, response.json()
    assert response.json()["data"]["me"]["userId"] == "after-rotation"
    assert jwks.fetches == 2
    jwks.keys = [new_key]  # the old key is retired; the new one keeps working from cache
    assert gql.post(ME, token=new_key.sign(claims_for(jwks_tenant))).status_code == 200


def test_unknown_kid_does_not_refetch_jwks_on_every_request(gql, jwks_tenant, jwks):
    assert gql.post(ME, token=jwks.keys[0].sign(claims_for(jwks_tenant))).status_code == 200
    assert jwks.fetches == 1

    stranger = RsaKey(kid="unknown-kid")
    for _ in range(5):
        response = gql.post(ME, token=stranger.sign(claims_for(jwks_tenant)))
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    assert jwks.fetches == 1


def test_jwks_endpoint_down_answers_503(gql, db):
    tenant = TenantFactory(
        id="tenant-down",
        jwt_algorithms=["RS256"],
        jwt_hs256_secret="",
        jwt_jwks_url="http://127.0.0.1:9/jwks.json",  # discard port: connection refused
    )
    response = gql.post(ME, token=RsaKey(kid="k").sign(claims_for(tenant)))
    assert response.status_code == 503
    assert response.json()["errors"][0]["extensions"]["code"] == "AUTH_PROVIDER_UNAVAILABLE"


def test_keycloak_style_nested_roles_claim(gql, db):
    tenant = TenantFactory(id="tenant-kc", roles_claim="realm_access.roles")
    token = hs_token(tenant, roles=None, realm_access={"roles": ["staff", "offline_access"]})
    assert gql.execute(ME, token=token)["me"]["roles"] == ["STAFF"]


def test_auth0_style_namespaced_roles_claim(gql, db):
    tenant = TenantFactory(id="tenant-auth0", roles_claim="https://shop.example.com/roles")
    token = hs_token(tenant, roles=None, **{"https://shop.example.com/roles": ["vendor"]})
    assert gql.execute(ME, token=token)["me"]["roles"] == ["VENDOR"]


def test_vendor_id_from_claim(gql, tenant):
    token = hs_token(tenant, roles=["vendor"], vendor_id="v-1")
    assert gql.execute(ME, token=token)["me"]["vendorId"] == "v-1"


def test_vendor_id_falls_back_to_authorization_snapshot(gql, tenant):
    UserAuthorizationSnapshot.objects.create(tenant=tenant, user_id="user-1", roles=["vendor"], vendor_id="v-snap")
    token = hs_token(tenant, roles=["vendor"])
    assert gql.execute(ME, token=token)["me"]["vendorId"] == "v-snap"


def test_revoked_authorization_is_forbidden(gql, tenant):
    UserAuthorizationSnapshot.objects.create(tenant=tenant, user_id="user-1", roles=[], active=False)
    response = gql.post(ME, token=hs_token(tenant))
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


class TestSingleTenantMode:
    @pytest.fixture(autouse=True)
    def single_tenant(self, settings, tenant):
        settings.OMS_SINGLE_TENANT_ID = tenant.id

    def test_token_without_tenant_id_is_scoped_to_the_single_tenant(self, gql, tenant):
        me = gql.execute(ME, token=hs_token(tenant, tenant_id=None))["me"]
        assert me["tenantId"] == tenant.id

    def test_token_naming_its_tenant_is_accepted(self, gql, tenant):
        assert gql.execute(ME, token=hs_token(tenant))["me"]["tenantId"] == tenant.id

    def test_token_naming_another_tenant_is_refused(self, gql, tenant, other_tenant):
        response = gql.post(ME, token=hs_token(tenant, tenant_id=other_tenant.id))
        assert response.status_code == 401
