"""Why a caller could not be authenticated. Messages are safe to show to the caller."""

from __future__ import annotations


class AuthenticationFailed(Exception):
    """The token is missing, malformed, unverifiable, or names no usable tenant (HTTP 401)."""

    code = "UNAUTHENTICATED"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AccessRevoked(Exception):
    """A valid token for a user whose authorization snapshot is inactive."""

    code = "FORBIDDEN"

    def __init__(self, message: str = "this user's access has been revoked") -> None:
        super().__init__(message)
        self.message = message


class KeySourceUnavailable(Exception):
    """The tenant's signing keys could not be fetched (its JWKS endpoint is down)."""

    code = "AUTH_PROVIDER_UNAVAILABLE"

    def __init__(self, message: str = "the identity provider's signing keys are unavailable") -> None:
        super().__init__(message)
        self.message = message


class InvalidTenantSettings(ValueError):
    """A tenant's JWT settings are inconsistent; carries the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
