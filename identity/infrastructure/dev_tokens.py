"""Development tokens for tenants verified with an HS secret (demo data, local testing)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import jwt

from .models import Tenant


def issue_development_token(
    tenant: Tenant,
    *,
    user_id: str,
    roles: Sequence[str],
    vendor_id: str | None = None,
    ttl_seconds: int = 24 * 3600,
) -> str:
    if not tenant.jwt_hs256_secret:
        raise ValueError(f"tenant {tenant.id} verifies tokens with JWKS; it cannot issue tokens here")
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": user_id,
        "tenant_id": tenant.id,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
    }
    _set_claim(claims, tenant.roles_claim, list(roles))
    if vendor_id:
        _set_claim(claims, tenant.vendor_id_claim, vendor_id)
    if tenant.jwt_issuer:
        claims["iss"] = tenant.jwt_issuer
    if tenant.jwt_audience:
        claims["aud"] = tenant.jwt_audience
    return jwt.encode(claims, tenant.jwt_hs256_secret, algorithm=tenant.jwt_algorithms[0])


def _set_claim(claims: dict[str, object], path: str, value: object) -> None:
    """Place a value at a dotted claim path (`realm_access.roles`), mirroring how it is read."""
    if "://" in path:  # a namespaced claim such as https://example.com/roles is one name
        claims[path] = value
        return
    *parents, leaf = path.split(".")
    node = claims
    for part in parents:
        node = node.setdefault(part, {})  # type: ignore[assignment]
    node[leaf] = value
