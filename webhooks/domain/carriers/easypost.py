"""EasyPost's tracker webhooks (https://docs.easypost.com/docs/webhooks, "HMAC Validation", and
https://docs.easypost.com/docs/trackers): an `Event` whose `description` is `tracker.updated`
(or `tracker.created`) and whose `result` is the `Tracker`. Signed in `X-Hmac-Signature` as
`hmac-sha256-hex=` + the hex HMAC-SHA256 of the raw body, keyed with the webhook secret in
Unicode NFKD form (as EasyPost's client libraries' `validate_webhook` do). The scheme signs no
timestamp: the event `id` is recorded once, and an update older than the shipment's last is stale.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from webhooks.domain.events import EventMalformed

from . import (
    DELIVERED,
    FAILED,
    IN_TRANSIT,
    NO_CHANGE,
    CarrierUpdate,
    check_signature,
    json_object,
    last_entry,
    moment,
    text_at,
)

name = "easypost"
HEADER = "x-hmac-signature"
PREFIX = "hmac-sha256-hex="
# Tracker.status -> ours (docs/integrations.md has the table).
STATUSES = {
    "pre_transit": NO_CHANGE,
    "unknown": NO_CHANGE,
    "error": NO_CHANGE,
    "in_transit": IN_TRANSIT,
    "out_for_delivery": IN_TRANSIT,
    "available_for_pickup": IN_TRANSIT,
    "delivered": DELIVERED,
    "return_to_sender": FAILED,
    "failure": FAILED,
    "cancelled": FAILED,
}
EVENTS = ("tracker.updated", "tracker.created")


def signature(secret: str, body: bytes) -> str:
    key = unicodedata.normalize("NFKD", secret).encode("utf-8")
    return PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify(secret: str, headers: dict[str, str], body: bytes) -> None:
    check_signature(headers, HEADER, signature(secret, body), lower=True)


def parse(body: bytes) -> CarrierUpdate:
    event = json_object(body)
    description = text_at(event, "description")
    if description not in EVENTS:
        raise EventMalformed("UNKNOWN_TYPE", f"EasyPost event {description!r} is not a tracker update")
    tracker = event.get("result")
    if not isinstance(tracker, dict):
        raise EventMalformed("INVALID", "result must be the Tracker", field="result")
    status = text_at(event, "result", "status", max_length=60)
    latest = last_entry(tracker.get("tracking_details"))
    when = [latest.get("datetime"), tracker.get("updated_at")]
    return CarrierUpdate(
        event_id=text_at(event, "id", max_length=200),
        tracking_number=text_at(event, "result", "tracking_code", max_length=100),
        provider_status=status,
        status=STATUSES.get(status),
        occurred_at=moment(when, "result.updated_at"),
        detail=str(latest.get("message") or tracker.get("status_detail") or "")[:500],
    )
