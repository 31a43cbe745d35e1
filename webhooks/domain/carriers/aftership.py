"""AfterShip's tracking webhooks (https://www.aftership.com/docs/tracking/webhook/webhook-signature
and ".../webhook/webhook-specifications"): a JSON body with `event` (`tracking_update`),
`event_id`, `ts` and `msg`, the tracking with its `tracking_number`, `tag` (the delivery status)
and `checkpoints`. Signed in `aftership-hmac-sha256` as the base64 HMAC-SHA256 of the raw body
keyed with the webhook secret. The event id is recorded once; an update older than the
shipment's last is stale.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

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

name = "aftership"
HEADER = "aftership-hmac-sha256"
# msg.tag -> ours (docs/integrations.md has the table).
STATUSES = {
    "Pending": NO_CHANGE,
    "InfoReceived": NO_CHANGE,
    "Expired": NO_CHANGE,
    "InTransit": IN_TRANSIT,
    "OutForDelivery": IN_TRANSIT,
    "AvailableForPickup": IN_TRANSIT,
    "AttemptFail": IN_TRANSIT,
    "Delivered": DELIVERED,
    "Exception": FAILED,
}
EVENTS = ("tracking_update",)


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode()


def verify(secret: str, headers: dict[str, str], body: bytes) -> None:
    check_signature(headers, HEADER, signature(secret, body))


def parse(body: bytes) -> CarrierUpdate:
    event = json_object(body)
    kind = text_at(event, "event")
    if kind not in EVENTS:
        raise EventMalformed("UNKNOWN_TYPE", f"AfterShip event {kind!r} is not a tracking update")
    tracking = event.get("msg")
    if not isinstance(tracking, dict):
        raise EventMalformed("INVALID", "msg must be the tracking", field="msg")
    tag = text_at(event, "msg", "tag", max_length=60)
    latest = last_entry(tracking.get("checkpoints"))
    when = [latest.get("checkpoint_time"), tracking.get("updated_at"), event.get("ts")]
    return CarrierUpdate(
        event_id=text_at(event, "event_id", max_length=200),
        tracking_number=text_at(event, "msg", "tracking_number", max_length=100),
        provider_status=tag,
        status=STATUSES.get(tag),
        occurred_at=moment(when, "msg.updated_at"),
        detail=str(latest.get("message") or tracking.get("subtag_message") or "")[:500],
    )
