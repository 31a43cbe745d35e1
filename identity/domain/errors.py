"""Why a caller could not be authenticated. Messages are safe to show to the caller."""

from __future__ import annotations

from oms_project.kernel.errors import CodedError


class AuthenticationFailed(CodedError):
    """The token is missing, malformed, unverifiable, or names no usable tenant (HTTP 401)."""

    code = "UNAUTHENTICATED"


class AccessRevoked(CodedError):
    """A valid token for a user whose authorization snapshot is inactive."""

    code = "FORBIDDEN"

    def __init__(self, message: str = "this user's access has been revoked") -> None:
        super().__init__(message)


class KeySourceUnavailable(CodedError):
    """The tenant's signing keys could not be fetched (its JWKS endpoint is down)."""

    code = "AUTH_PROVIDER_UNAVAILABLE"

    def __init__(self, message: str = "the identity provider's signing keys are unavailable") -> None:
        super().__init__(message)


class InvalidTenantSettings(CodedError, ValueError):
    """A tenant's JWT settings are inconsistent; carries the offending field. `str()` of it
    names the field first (the admin's and `create_tenant`'s messages)."""

    code = "INVALID"

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"
