"""What authentication needs from the outside world."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from identity.domain.tenant import TenantTokenPolicy


class TenantDirectory(Protocol):
    def token_policy(self, tenant_id: str) -> TenantTokenPolicy | None:
        """The tenant's policy, or None when no such tenant exists."""


class TokenVerifier(Protocol):
    def unverified_claims(self, token: str) -> Mapping[str, Any]:
        """Claims read without verification, only to route the token to its tenant.

        Raises AuthenticationFailed when the token is not a well-formed JWT.
        """

    def verify(self, token: str, policy: TenantTokenPolicy) -> Mapping[str, Any]:
        """Verified claims (signature, algorithm, exp, nbf, iat, iss, aud).

        Raises AuthenticationFailed, or KeySourceUnavailable when the keys cannot be fetched.
        """


class AuthorizationLookup(Protocol):
    def authorization(self, tenant_id: str, user_id: str) -> tuple[bool, str | None] | None:
        """(active, vendor_id) from the user's authorization snapshot, or None if none is stored."""
