"""The Standard Webhooks signature scheme, in plain Python.

`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, several space-separated
signatures allowed; secrets are written `whsec_<base64 key>`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as random

from oms_project.kernel.errors import CodedError

SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 5 * 60
MAX_ID_LENGTH = 255


class SignatureRejected(CodedError):
    """The delivery is not provably from a holder of one of the tenant's secrets (HTTP 401)."""

    code = "INVALID_SIGNATURE"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(random.token_bytes(24)).decode()


def secret_key(secret: str) -> bytes:
    encoded = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a webhook secret must be whsec_ followed by base64") from exc


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(
    *,
    secrets: list[str],
    msg_id: str | None,
    timestamp: str | None,
    signature_header: str | None,
    body: bytes,
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Raise SignatureRejected unless one v1 signature matches one secret within the tolerance."""
    if not msg_id or not timestamp or not signature_header:
        raise SignatureRejected("missing webhook-id, webhook-timestamp or webhook-signature")
    if len(msg_id) > MAX_ID_LENGTH:
        raise SignatureRejected("webhook-id is too long")
    try:
        sent_at = int(timestamp)
    except ValueError as exc:
        raise SignatureRejected("webhook-timestamp must be an integer") from exc
    if abs(now - sent_at) > tolerance:
        raise SignatureRejected("webhook-timestamp is outside the tolerance")
    offered = [part.split(",", 1)[1] for part in signature_header.split() if part.startswith("v1,") and len(part) > 3]
    if not offered or not secrets:
        raise SignatureRejected("no usable signature")
    for secret in secrets:
        expected = sign(secret, msg_id, sent_at, body).split(",", 1)[1]
        # Compare every offered signature in constant time; stop only after a match.
        if any(hmac.compare_digest(expected.encode(), candidate.encode()) for candidate in offered):
            return
    raise SignatureRejected("signature does not match")
