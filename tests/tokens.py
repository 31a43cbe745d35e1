"""Real tokens for tests, minted with PyJWT and keys made by `cryptography`."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


def claims_for(tenant, sub: str = "user-1", roles=("customer",), **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "tenant_id": tenant.id,
        "roles": list(roles),
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "iss": tenant.jwt_issuer or None,
        "aud": tenant.jwt_audience or None,
    }
    claims.update(extra)
    return {k: v for k, v in claims.items() if v is not None}


def hs_token(tenant, **claims: Any) -> str:
    """A token signed with the tenant's HS secret; `claims` override or add (None removes)."""
    payload = claims_for(tenant)
    for key, value in claims.items():
        if value is None:
            payload.pop(key, None)
        else:
            payload[key] = value
    return jwt.encode(payload, tenant.jwt_hs256_secret, algorithm="HS256")


_KEY_POOL: list[rsa.RSAPrivateKey] = []
_KEY_POOL_SIZE = 6
_keys_handed_out = 0


def _next_private_key() -> rsa.RSAPrivateKey:
    """A 2048-bit key from a small pool made once per process: generating one costs about 50 ms,
    and a test never holds more than a few; consecutive keys always differ."""
    global _keys_handed_out
    index = _keys_handed_out % _KEY_POOL_SIZE
    _keys_handed_out += 1
    if index == len(_KEY_POOL):
        _KEY_POOL.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _KEY_POOL[index]


@dataclass
class RsaKey:
    kid: str
    private_key: rsa.RSAPrivateKey = field(default_factory=lambda: _next_private_key())

    @property
    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwk(self) -> dict[str, Any]:
        data = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        data.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return data

    def sign(self, payload: dict[str, Any], kid: str | None = None) -> str:
        return jwt.encode(payload, self.private_key, algorithm="RS256", headers={"kid": kid or self.kid})


class JwksServer:
    """A JWKS endpoint on 127.0.0.1 that counts how often it is fetched."""

    def __init__(self) -> None:
        self.keys: list[RsaKey] = []
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                body = json.dumps({"keys": [k.jwk() for k in server.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/.well-known/jwks.json"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> JwksServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
