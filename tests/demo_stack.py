"""Calling a server seeded with `seed_demo` (tests that run the app in processes of its own)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import jwt

# The demo's lamp has no stock count: a load of checkouts never runs out (the mug's 500 units would).
LAMP_CHECKOUT = (
    'mutation($key: String!) { checkoutItems(items: [{productId: "prod-lamp", quantity: 1}], '
    'shippingAddress: {line1: "1 Main St", city: "Springfield", postalCode: "12345", country: "US"}, '
    'customer: {email: "c@example.com", firstName: "C", lastName: "D"}, '
    'shippingOptions: [{vendorId: "vendor-globex", shippingOptionId: "ship-globex-std"}], '
    "idempotencyKey: $key) { order { id status } errors { code message } } }"
)


def demo_token(secret: str, sub: str, roles: list[str]) -> str:
    """An HS256 token of the demo tenant, signed with the server's OMS_DEMO_HS256_SECRET."""
    now = int(time.time())
    return jwt.encode(
        {
            "sub": sub,
            "tenant_id": "demo",
            "roles": roles,
            "iat": now,
            "exp": now + 3600,
            "iss": "oms-demo",
            "aud": "oms",
        },
        secret,
        algorithm="HS256",
    )


def stop_process(process: subprocess.Popen, *, group: bool = False) -> None:
    """SIGTERM (to its whole process group with `group`: gunicorn's master and workers), then
    kill it if it has not ended within 30 s."""
    if process.poll() is not None:
        return
    if group:
        os.killpg(process.pid, signal.SIGTERM)
    else:
        process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
