"""Token verification with PyJWT: HS secrets for development, JWKS for OIDC providers."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

import jwt
from jwt import PyJWKClient
from jwt.exceptions import PyJWKClientConnectionError, PyJWKClientError, PyJWKSetError

from identity.domain.errors import AuthenticationFailed, KeySourceUnavailable
from identity.domain.tenant import TenantTokenPolicy
from oms_project.kernel.input_gate import TextRefused, check_tree
from oms_project.kernel.local_cache import TtlCache

logger = logging.getLogger(__name__)


class JwksClients:
    """One PyJWKClient per JWKS URL for the life of the process.

    Each client caches the key set for `lifespan` seconds, and a token with an unknown `kid`
    forces a refetch at most once per `cooldown` seconds, so garbage kids cannot turn every
    request into a call to the identity provider.
    """

    def __init__(self) -> None:
        self._clients: dict[tuple[str, float, float, float], PyJWKClient] = {}
        self._lock = threading.Lock()

    def client(self, url: str, *, lifespan: float, cooldown: float, timeout: float) -> PyJWKClient:
        key = (url, lifespan, cooldown, timeout)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = PyJWKClient(
                    url,
                    cache_jwk_set=True,
                    lifespan=lifespan,
                    cooldown_duration=cooldown,
                    timeout=timeout,
                )
                self._clients[key] = client
            return client

    def clear(self) -> None:
        with self._lock:
            self._clients.clear()


jwks_clients = JwksClients()

# Per process, for OMS_AUTH_CACHE_SECONDS (oms_project/kernel/local_cache.py): a token as parsed, and a
# token as verified under one tenant policy. Failures are never kept.
PARSED_TOKENS = TtlCache("parsed tokens")
VERIFIED_TOKENS = TtlCache("verified tokens")

_FAILURE_MESSAGES: list[tuple[type[Exception], str]] = [
    (jwt.ExpiredSignatureError, "token has expired"),
    (jwt.ImmatureSignatureError, "token is not yet valid"),
    (jwt.InvalidIssuerError, "token issuer is not accepted"),
    (jwt.InvalidAudienceError, "token audience is not accepted"),
    (jwt.MissingRequiredClaimError, "token is missing a required claim"),
    (jwt.InvalidSignatureError, "token signature is invalid"),
    (jwt.InvalidAlgorithmError, "token algorithm is not accepted"),
]


class PyJwtVerifier:
    def __init__(
        self,
        *,
        leeway: float,
        jwks_lifespan: float,
        jwks_cooldown: float,
        jwks_timeout: float,
        clients: JwksClients = jwks_clients,
    ) -> None:
        self._leeway = leeway
        self._jwks_lifespan = jwks_lifespan
        self._jwks_cooldown = jwks_cooldown
        self._jwks_timeout = jwks_timeout
        self._clients = clients

    def unverified_claims(self, token: str) -> Mapping[str, Any]:
        return PARSED_TOKENS.get_or_load(token, lambda: self._parse(token))[1]

    @staticmethod
    def _parse(token: str) -> tuple[dict, dict]:
        """(header, claims) of a well-formed token whose claims pass the text gate; not verified."""
        try:
            decoded = jwt.api_jwt.decode_complete(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise AuthenticationFailed("token is not a well-formed JWT") from exc
        claims = decoded["payload"]
        if not isinstance(claims, dict) or not isinstance(decoded["header"], dict):
            raise AuthenticationFailed("token is not a well-formed JWT")
        try:
            check_tree(claims)  # the text gate: no claim value reaches a query with a control character
        except TextRefused as refused:
            raise AuthenticationFailed(f"token claim {refused.field} {refused.message}") from None
        return decoded["header"], claims

    def verify(self, token: str, policy: TenantTokenPolicy) -> Mapping[str, Any]:
        """The token's claims, verified with the tenant's keys. A token verified under the same
        policy in the last `OMS_AUTH_CACHE_SECONDS` is not verified again (a changed policy is
        another key); its expiry is checked on every use."""
        claims = VERIFIED_TOKENS.get_or_load((token, policy), lambda: self._verify(token, policy))
        exp = claims.get("exp")
        if isinstance(exp, (int, float)) and not isinstance(exp, bool) and exp <= time.time() - self._leeway:
            raise AuthenticationFailed("token has expired")
        return claims

    def _verify(self, token: str, policy: TenantTokenPolicy) -> Mapping[str, Any]:
        header = PARSED_TOKENS.get_or_load(token, lambda: self._parse(token))[0]
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in policy.algorithms:
            raise AuthenticationFailed("token algorithm is not accepted")

        key = self._signing_key(header, policy) if policy.uses_jwks else policy.hs_secret
        options: dict[str, Any] = {"require": ["exp", "sub"], "verify_aud": bool(policy.audience)}
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                leeway=self._leeway,
                issuer=policy.issuer or None,
                audience=policy.audience or None,
                options=options,
            )
        except jwt.PyJWTError as exc:
            for kind, message in _FAILURE_MESSAGES:
                if isinstance(exc, kind):
                    raise AuthenticationFailed(message) from exc
            raise AuthenticationFailed("token could not be verified") from exc

    def _signing_key(self, header: Mapping[str, Any], policy: TenantTokenPolicy) -> Any:
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthenticationFailed("token has no key id (kid)")
        client = self._clients.client(
            policy.jwks_url,
            lifespan=self._jwks_lifespan,
            cooldown=self._jwks_cooldown,
            timeout=self._jwks_timeout,
        )
        try:
            return client.get_signing_key(kid).key
        except PyJWKClientConnectionError as exc:
            logger.warning("JWKS fetch failed for tenant %s: %s", policy.tenant_id, exc)
            raise KeySourceUnavailable() from exc
        except (PyJWKClientError, PyJWKSetError) as exc:
            raise AuthenticationFailed("token signing key is not known") from exc
