"""Reading the principal out of verified claims: claim paths and role parsing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import AuthenticationFailed
from .principal import Principal, Role

_MISSING = object()


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at a claim path, or None.

    A path is a literal claim name first (Auth0's namespaced claims such as
    `https://example.com/roles` contain dots), then a dotted path into nested objects
    (Keycloak's `realm_access.roles`).
    """
    if not path:
        return None
    if path in claims:
        return claims[path]
    node: Any = claims
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part, _MISSING)
        if node is _MISSING:
            return None
    return node


def parse_roles(raw: Any) -> frozenset[Role]:
    """Known roles from a list (or a space/comma separated string); unknown names are ignored."""
    if raw is None:
        return frozenset()
    if isinstance(raw, str):
        names = raw.replace(",", " ").split()
    elif isinstance(raw, (list, tuple)):
        names = [name for name in raw if isinstance(name, str)]
    else:
        return frozenset()
    known = {role.value: role for role in Role}
    return frozenset(known[name.strip().lower()] for name in names if name.strip().lower() in known)


def principal_from_claims(
    claims: Mapping[str, Any],
    *,
    tenant_id: str,
    roles_claim: str,
    vendor_id_claim: str,
    channel_id_claim: str = "channel_id",
) -> Principal:
    """Build the principal from verified claims of a token issued for `tenant_id`."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise AuthenticationFailed("token has no subject (sub)")
    vendor_id = claim_at(claims, vendor_id_claim)
    if vendor_id is not None and not isinstance(vendor_id, (str, int)):
        raise AuthenticationFailed("vendor id claim must be a string")
    channel_id = claim_at(claims, channel_id_claim)
    if channel_id is not None and not isinstance(channel_id, str):
        raise AuthenticationFailed("channel id claim must be a string")
    return Principal(
        user_id=subject.strip(),
        tenant_id=tenant_id,
        roles=parse_roles(claim_at(claims, roles_claim)),
        vendor_id=str(vendor_id) if vendor_id not in (None, "") else None,
        channel_id=channel_id.strip() or None if channel_id is not None else None,
    )
