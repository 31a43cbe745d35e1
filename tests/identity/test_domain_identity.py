"""Identity rules in plain Python: no database, no Django."""

from __future__ import annotations

import pytest

from identity.application.authenticate import authenticate, parse_authorization_header
from identity.domain.claims import claim_at, parse_roles, principal_from_claims
from identity.domain.errors import AccessRevoked, AuthenticationFailed, InvalidTenantSettings
from identity.domain.principal import Principal, Role
from identity.domain.tenant import TenantTokenPolicy, validate_token_policy

SECRET = "s" * 32


class TestClaimPaths:
    def test_plain_name(self):
        assert claim_at({"roles": ["staff"]}, "roles") == ["staff"]

    def test_dotted_path(self):
        assert claim_at({"realm_access": {"roles": ["vendor"]}}, "realm_access.roles") == ["vendor"]

    def test_literal_name_with_dots_wins(self):
        claims = {"https://shop.example.com/roles": ["customer"]}
        assert claim_at(claims, "https://shop.example.com/roles") == ["customer"]

    @pytest.mark.parametrize("claims", [{}, {"realm_access": "x"}, {"realm_access": {}}])
    def test_missing(self, claims):
        assert claim_at(claims, "realm_access.roles") is None


class TestRoles:
    def test_list(self):
        assert parse_roles(["Customer", "vendor", "admin"]) == {Role.CUSTOMER, Role.VENDOR}

    def test_space_or_comma_separated_string(self):
        assert parse_roles("staff, customer") == {Role.STAFF, Role.CUSTOMER}

    @pytest.mark.parametrize("raw", [None, 42, {"staff": True}, [1, 2]])
    def test_unusable_values_give_no_roles(self, raw):
        assert parse_roles(raw) == frozenset()


class TestPrincipalFromClaims:
    def test_builds_principal(self):
        principal = principal_from_claims(
            {"sub": "u1", "roles": ["vendor"], "vendor_id": 7},
            tenant_id="t",
            roles_claim="roles",
            vendor_id_claim="vendor_id",
        )
        assert principal == Principal("u1", "t", frozenset({Role.VENDOR}), "7")
        assert principal.is_vendor and not principal.is_staff and not principal.is_customer

    @pytest.mark.parametrize("sub", [None, "", "  ", 5])
    def test_subject_required(self, sub):
        with pytest.raises(AuthenticationFailed):
            principal_from_claims({"sub": sub}, tenant_id="t", roles_claim="roles", vendor_id_claim="v")

    def test_vendor_role_without_vendor_id_is_not_a_vendor(self):
        principal = principal_from_claims(
            {"sub": "u", "roles": ["vendor"]}, tenant_id="t", roles_claim="roles", vendor_id_claim="v"
        )
        assert principal.has_role(Role.VENDOR) and not principal.is_vendor


class TestTokenPolicy:
    def test_hs_secret_with_hs_algorithms(self):
        validate_token_policy(algorithms=["HS256", "HS512"], hs_secret=SECRET, jwks_url="")

    def test_jwks_with_asymmetric_algorithms(self):
        validate_token_policy(algorithms=["RS256", "ES256"], hs_secret="", jwks_url="https://idp/jwks")

    @pytest.mark.parametrize(
        ("algorithms", "secret", "url", "field"),
        [
            (["HS256"], "", "", "jwt_hs256_secret"),
            (["HS256"], SECRET, "https://idp/jwks", "jwt_hs256_secret"),
            ([], SECRET, "", "jwt_algorithms"),
            (["none"], SECRET, "", "jwt_algorithms"),
            (["RS256"], SECRET, "", "jwt_algorithms"),
            (["HS256"], "", "https://idp/jwks", "jwt_algorithms"),
            (["HS256"], "short", "", "jwt_hs256_secret"),
            (["RS256"], "", "file:///etc/passwd", "jwt_jwks_url"),
        ],
    )
    def test_inconsistent_settings_are_refused(self, algorithms, secret, url, field):
        with pytest.raises(InvalidTenantSettings) as error:
            validate_token_policy(algorithms=algorithms, hs_secret=secret, jwks_url=url)
        assert error.value.field == field


class TestParseAuthorizationHeader:
    def test_bearer(self):
        assert parse_authorization_header("Bearer abc.def.ghi") == "abc.def.ghi"
        assert parse_authorization_header("bearer  abc ") == "abc"

    @pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic abc", "abc"])
    def test_refused(self, header):
        with pytest.raises(AuthenticationFailed):
            parse_authorization_header(header)


class FakeTenants:
    def __init__(self, *policies: TenantTokenPolicy) -> None:
        self.policies = {p.tenant_id: p for p in policies}

    def token_policy(self, tenant_id):
        return self.policies.get(tenant_id)


class FakeVerifier:
    """Accepts a token that is literally the repr of its claims, if the tenant's secret matches."""

    def __init__(self, claims, signed_for):
        self.claims, self.signed_for = claims, signed_for

    def unverified_claims(self, token):
        return self.claims

    def verify(self, token, policy):
        if policy.tenant_id != self.signed_for:
            raise AuthenticationFailed("token signature is invalid")
        return self.claims


class FakeAuthorizations:
    def __init__(self, stored=None):
        self.stored = stored

    def authorization(self, tenant_id, user_id):
        return self.stored


def policy(tenant_id, active=True):
    return TenantTokenPolicy(tenant_id=tenant_id, active=active, algorithms=("HS256",), hs_secret=SECRET)


def run(claims, signed_for="a", stored=None, single=None, tenants=None):
    return authenticate(
        "token",
        tenants=tenants or FakeTenants(policy("a"), policy("b"), policy("off", active=False)),
        verifier=FakeVerifier(claims, signed_for),
        authorizations=FakeAuthorizations(stored),
        single_tenant_id=single,
    )


class TestAuthenticate:
    def test_principal_for_the_claimed_tenant(self):
        principal = run({"sub": "u", "tenant_id": "a", "roles": ["staff"]})
        assert (principal.tenant_id, principal.roles) == ("a", frozenset({Role.STAFF}))

    @pytest.mark.parametrize(
        "claims",
        [
            {"sub": "u"},
            {"sub": "u", "tenant_id": ""},
            {"sub": "u", "tenant_id": 3},
            {"sub": "u", "tenant_id": "nope"},
            {"sub": "u", "tenant_id": "off"},
        ],
    )
    def test_refused_tenants(self, claims):
        with pytest.raises(AuthenticationFailed):
            run(claims, signed_for=claims.get("tenant_id"))

    def test_claiming_another_tenant_fails_its_signature_check(self):
        with pytest.raises(AuthenticationFailed):
            run({"sub": "u", "tenant_id": "b"}, signed_for="a")

    def test_single_tenant_mode(self):
        assert run({"sub": "u"}, single="a").tenant_id == "a"
        with pytest.raises(AuthenticationFailed):
            run({"sub": "u", "tenant_id": "b"}, single="a", signed_for="a")

    def test_stored_vendor_id_completes_the_principal(self):
        claims = {"sub": "u", "tenant_id": "a", "roles": ["vendor"]}
        assert run(claims, stored=(True, "v-1")).vendor_id == "v-1"
        claims["vendor_id"] = "v-claim"
        assert run(claims, stored=(True, "v-1")).vendor_id == "v-claim"

    def test_revoked_user(self):
        with pytest.raises(AccessRevoked):
            run({"sub": "u", "tenant_id": "a"}, stored=(False, None))
