"""A tenant's token policy: which keys and algorithms its tokens may use."""

from __future__ import annotations

from dataclasses import dataclass

# The shape of a tenant id is the kernel's (every app and the admission lane check it).
from oms_project.kernel.tenant_ids import TENANT_ID_FORMAT, is_tenant_id  # noqa: F401 (re-exported)

from .errors import InvalidTenantSettings

SYMMETRIC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
MIN_HS_SECRET_LENGTH = 32


@dataclass(frozen=True)
class TenantTokenPolicy:
    """How the tokens of one tenant are verified.

    Exactly one key source: an HS secret (development) or a JWKS URL (any OIDC provider).
    The allowed algorithms must match that source, so a public key can never be used as an
    HMAC secret and `none` is never accepted.
    """

    tenant_id: str
    active: bool
    algorithms: tuple[str, ...]
    hs_secret: str = ""
    jwks_url: str = ""
    issuer: str = ""
    audience: str = ""
    roles_claim: str = "roles"
    vendor_id_claim: str = "vendor_id"
    channel_id_claim: str = "channel_id"

    def __post_init__(self) -> None:
        validate_token_policy(algorithms=self.algorithms, hs_secret=self.hs_secret, jwks_url=self.jwks_url)

    @property
    def uses_jwks(self) -> bool:
        return bool(self.jwks_url)


def validate_token_policy(*, algorithms: tuple[str, ...] | list[str], hs_secret: str, jwks_url: str) -> None:
    if bool(hs_secret) == bool(jwks_url):
        raise InvalidTenantSettings("set exactly one of an HS secret or a JWKS URL", field="jwt_hs256_secret")
    if not algorithms:
        raise InvalidTenantSettings("at least one algorithm is required", field="jwt_algorithms")
    allowed = SYMMETRIC_ALGORITHMS if hs_secret else ASYMMETRIC_ALGORITHMS
    for name in algorithms:
        if name not in allowed:
            source = "an HS secret" if hs_secret else "a JWKS URL"
            raise InvalidTenantSettings(
                f"{name!r} cannot be used with {source}; allowed: {', '.join(sorted(allowed))}",
                field="jwt_algorithms",
            )
    if hs_secret and len(hs_secret) < MIN_HS_SECRET_LENGTH:
        raise InvalidTenantSettings(
            f"an HS secret must be at least {MIN_HS_SECRET_LENGTH} characters", field="jwt_hs256_secret"
        )
    if jwks_url and not jwks_url.lower().startswith(("https://", "http://")):
        raise InvalidTenantSettings("the JWKS URL must be http(s)", field="jwt_jwks_url")
