"""Use case: turn a bearer token into a principal, scoped to exactly one tenant."""

from __future__ import annotations

from dataclasses import replace

from identity.domain.claims import principal_from_claims
from identity.domain.errors import AccessRevoked, AuthenticationFailed
from identity.domain.principal import Principal
from oms_project.kernel.tenant_ids import is_tenant_id

from .ports import AuthorizationLookup, TenantDirectory, TokenVerifier


def parse_authorization_header(header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header."""
    if not header:
        raise AuthenticationFailed("missing Authorization header")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("Authorization header must be 'Bearer <token>'")
    return token.strip()


def authenticate(
    token: str,
    *,
    tenants: TenantDirectory,
    verifier: TokenVerifier,
    authorizations: AuthorizationLookup,
    single_tenant_id: str | None,
) -> Principal:
    """Verify `token` with its own tenant's keys and build the principal.

    The tenant is chosen from the unverified `tenant_id` claim (or the single tenant), and the
    signature is then checked with that tenant's keys only: a token claiming tenant B but signed
    with tenant A's key fails verification. An inactive authorization snapshot refuses the user.
    """
    claimed = verifier.unverified_claims(token).get("tenant_id")
    if claimed is not None and not isinstance(claimed, str):
        raise AuthenticationFailed("tenant_id claim must be a string")
    if claimed and not is_tenant_id(claimed):
        # Same answer as an unknown tenant, and no lookup for a shape no tenant can have.
        raise AuthenticationFailed("unknown or inactive tenant")
    if single_tenant_id:
        if claimed not in (None, "", single_tenant_id):
            raise AuthenticationFailed("token is for another tenant")
        tenant_id = single_tenant_id
    else:
        if not claimed:
            raise AuthenticationFailed("token has no tenant_id")
        tenant_id = claimed

    policy = tenants.token_policy(tenant_id)
    if policy is None or not policy.active:
        # Same answer for unknown and inactive tenants: no tenant-existence oracle.
        raise AuthenticationFailed("unknown or inactive tenant")

    claims = verifier.verify(token, policy)
    if not single_tenant_id and claims.get("tenant_id") != tenant_id:
        raise AuthenticationFailed("token is for another tenant")

    principal = principal_from_claims(
        claims,
        tenant_id=tenant_id,
        roles_claim=policy.roles_claim,
        vendor_id_claim=policy.vendor_id_claim,
        channel_id_claim=policy.channel_id_claim,
    )
    stored = authorizations.authorization(tenant_id, principal.user_id)
    if stored is not None:
        active, stored_vendor_id = stored
        if not active:
            raise AccessRevoked()
        if principal.vendor_id is None and stored_vendor_id:
            principal = replace(principal, vendor_id=stored_vendor_id)
    return principal
