"""create_tenant and seed_demo, run as an operator would."""

from __future__ import annotations

from io import StringIO

import jwt
import pytest
from django.core.management import CommandError, call_command

from identity.infrastructure.models import Tenant
from snapshots.infrastructure.models import (
    CustomerDetailsSnapshot,
    ProductSnapshot,
    ShippingOptionSnapshot,
    UserAuthorizationSnapshot,
    VendorSnapshot,
)

SECRET = "z" * 40


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_tenant_then_update_it(db):
    output = run(
        "create_tenant",
        "--id",
        "acme",
        "--name",
        "Acme",
        "--hs256-secret",
        SECRET,
        "--issuer",
        "https://idp/",
        "--audience",
        "oms",
    )
    assert "created" in output
    tenant = Tenant.objects.get(pk="acme")
    assert (tenant.jwt_algorithms, tenant.jwt_issuer, tenant.active) == (["HS256"], "https://idp/", True)

    output = run(
        "create_tenant",
        "--id",
        "acme",
        "--jwks-url",
        "http://keycloak:8080/certs",
        "--roles-claim",
        "realm_access.roles",
        "--inactive",
    )
    assert "updated" in output
    tenant.refresh_from_db()
    assert (tenant.jwt_hs256_secret, tenant.jwt_jwks_url) == ("", "http://keycloak:8080/certs")
    assert (tenant.jwt_algorithms, tenant.roles_claim, tenant.name) == (["RS256"], "realm_access.roles", "Acme")
    assert tenant.active is False and tenant.jwt_issuer == "https://idp/"


@pytest.mark.parametrize(
    "args",
    [
        ["--id", "acme"],  # no key source
        ["--id", "acme", "--hs256-secret", "short"],
        ["--id", "acme", "--hs256-secret", SECRET, "--algorithms", "none"],
        ["--id", "acme", "--jwks-url", "https://idp/jwks", "--algorithms", "HS256"],
        ["--id", "not a slug!", "--hs256-secret", SECRET],
    ],
)
def test_create_tenant_refuses_bad_settings(db, args):
    with pytest.raises(CommandError):
        run("create_tenant", *args)
    assert not Tenant.objects.exists()


def test_seed_demo_is_idempotent_and_prints_working_tokens(db, gql, settings):
    first = run("seed_demo")
    secret = Tenant.objects.get(pk="demo").jwt_hs256_secret
    second = run("seed_demo")

    assert Tenant.objects.get(pk="demo").jwt_hs256_secret == secret
    assert CustomerDetailsSnapshot.objects.filter(tenant_id="demo").count() == 3
    assert UserAuthorizationSnapshot.objects.get(tenant_id="demo", user_id="demo-vendor").vendor_id == "vendor-acme"
    assert ProductSnapshot.objects.filter(tenant_id="demo").count() == 3
    assert VendorSnapshot.objects.filter(tenant_id="demo").count() == 2
    assert ShippingOptionSnapshot.objects.filter(tenant_id="demo").count() == 2
    tokens = [line.strip() for line in second.splitlines() if line.strip().startswith("eyJ")]
    assert len(tokens) == 3 and "created" in first and "already present" in second
    for token, role in zip(tokens, ["CUSTOMER", "VENDOR", "STAFF"], strict=True):
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == 24 * 3600
        me = gql.execute("{ me { roles customer { email } } }", token=token)["me"]
        assert me["roles"] == [role] and me["customer"]["email"]


def test_seed_demo_in_development_adds_an_operator_and_the_demo_tenants_staff(db, settings):
    from django.contrib.auth.models import User

    from identity.infrastructure.models import TenantStaffMember

    settings.DEBUG = True
    output = run("seed_demo")
    assert "admin / admin" in output and "demo-staff / admin" in output
    assert User.objects.get(username="admin").is_superuser
    staff = User.objects.get(username="demo-staff")
    assert staff.is_staff and not staff.is_superuser and staff.check_password("admin")
    assert TenantStaffMember.objects.get(user=staff).tenant_id == "demo"
    assert "password unchanged" in run("seed_demo")
