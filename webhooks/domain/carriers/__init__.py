"""Tracking aggregators' own webhooks (docs/integrations.md, "Carrier aggregators"): each
provider is one adapter module that verifies the provider's signature and reads its tracker
payload into a `CarrierUpdate`; `registry.PROVIDERS` names them. Plain Python: no Django."""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from webhooks.domain.events import EventMalformed
from webhooks.domain.signatures import SignatureRejected

# Our shipment statuses a carrier update can move a shipment to (ordering.domain.fulfilment).
IN_TRANSIT, DELIVERED, FAILED = "IN_TRANSIT", "DELIVERED", "FAILED"
NO_CHANGE = ""  # a provider status we know that moves nothing (label created, tracker error)


@dataclass(frozen=True)
class CarrierUpdate:
    event_id: str  # the provider's id of this webhook: recorded once, so a redelivery changes nothing
    tracking_number: str
    provider_status: str  # as the provider said it, recorded whatever it is
    status: str | None  # ours; NO_CHANGE for a known status that moves nothing; None when unknown
    occurred_at: datetime
    detail: str = ""


class CarrierAdapter(Protocol):
    name: str

    def verify(self, secret: str, headers: dict[str, str], body: bytes) -> None:
        """Raise SignatureRejected unless `body` was signed with `secret` the provider's way."""

    def parse(self, body: bytes) -> CarrierUpdate:
        """Read a verified body (raise EventMalformed when it is not the provider's tracker update)."""


def check_signature(headers: dict[str, str], header: str, expected: str, *, lower: bool = False) -> None:
    """The provider's signature header equals `expected`, compared in constant time."""
    sent = headers.get(header, "").strip()
    if not sent:
        raise SignatureRejected(f"missing {header}")
    if not hmac.compare_digest((sent.lower() if lower else sent).encode(), expected.encode()):
        raise SignatureRejected(f"{header} does not match the body")


def last_entry(entries: Any) -> dict[str, Any]:
    """The newest of a provider's list of tracking events (they come oldest first), or {}."""
    return entries[-1] if isinstance(entries, list) and entries and isinstance(entries[-1], dict) else {}


def json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise EventMalformed("MALFORMED_JSON", "body is not valid JSON") from None
    if not isinstance(document, dict):
        raise EventMalformed("INVALID", "body must be a JSON object")
    return document


def text_at(document: dict[str, Any], *path: str, required: bool = True, max_length: int = 200) -> str:
    node: Any = document
    for name in path:
        node = node.get(name) if isinstance(node, dict) else None
    if node is None and not required:
        return ""
    if not isinstance(node, str) or not node.strip() or len(node) > max_length:
        raise EventMalformed(
            "INVALID", f"{'.'.join(path)} must be a string of 1 to {max_length} characters", field=".".join(path)
        )
    return node.strip()


def _moment(value: Any) -> datetime | None:
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=UTC)
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            return parsed if parsed.tzinfo is not None else None
    except (ValueError, OverflowError, OSError):
        return None
    return None


def moment(candidates: list[Any], field: str) -> datetime:
    """The first of `candidates` that is an ISO 8601 time with its offset, or Unix seconds (a
    checkpoint's local time without an offset gives way to the next candidate)."""
    for value in candidates:
        found = _moment(value)
        if found is not None:
            return found
    raise EventMalformed("INVALID", f"{field} must be an ISO 8601 date-time with its offset", field=field)
