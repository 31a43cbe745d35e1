"""Tracking aggregators' own webhooks (issue 18, part 3; docs/integrations.md): EasyPost and
AfterShip payloads, signed each provider's way, move shipments through the same code as
`shipment.tracking_updated`.

The fixtures follow the shapes of the providers' public documentation:
- EasyPost: the `Event` object (https://docs.easypost.com/docs/events) with a `Tracker` as its
  `result` (https://docs.easypost.com/docs/trackers: tracking_code, status, status_detail,
  carrier, tracking_details[] with datetime/message/status); signature as EasyPost's client
  libraries' `validate_webhook` checks it (X-Hmac-Signature: hmac-sha256-hex=<hex>).
- AfterShip: the tracking webhook body of "Webhook Specifications"
  (https://www.aftership.com/docs/tracking/webhook/webhook-specifications: ts, event, event_id,
  is_tracking_first_tag, msg = the tracking with tag, subtag, checkpoints[]), signed as
  "Webhook Signature" says (aftership-hmac-sha256: base64 HMAC-SHA256 of the body).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.core.management import CommandError, call_command

from ordering.infrastructure.models import OutboxEvent, Shipment
from webhooks.infrastructure.models import CarrierWebhookSecret, InboundWebhookReceipt

from ..ordering.conftest import Shop, seed_catalog

EASYPOST_SECRET = "sécret-easypost-1"  # not ASCII: EasyPost keys with the NFKD form
AFTERSHIP_SECRET = "aftership-secret-2"
T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)  # after the test ships


def easypost_event(tracking_code: str, status: str, at: datetime, event_id: str | None = None) -> bytes:
    return json.dumps(
        {
            "object": "Event",
            "id": event_id or f"evt_{uuid.uuid4().hex}",
            "mode": "test",
            "description": "tracker.updated",
            "previous_attributes": {"status": "pre_transit"},
            "created_at": at.isoformat().replace("+00:00", "Z"),
            "updated_at": at.isoformat().replace("+00:00", "Z"),
            "result": {
                "id": "trk_c8e0edb5bb284caa934a0d3db23a148z",
                "object": "Tracker",
                "mode": "test",
                "tracking_code": tracking_code,
                "status": status,
                "status_detail": "arrived_at_facility",
                "carrier": "UPS",
                "signed_by": None,
                "weight": None,
                "est_delivery_date": None,
                "created_at": T0.isoformat().replace("+00:00", "Z"),
                "updated_at": at.isoformat().replace("+00:00", "Z"),
                "tracking_details": [
                    {
                        "object": "TrackingDetail",
                        "message": "Pre-Shipment information received",
                        "status": "pre_transit",
                        "datetime": T0.isoformat().replace("+00:00", "Z"),
                        "source": "UPS",
                    },
                    {
                        "object": "TrackingDetail",
                        "message": "Arrived at facility",
                        "status": status,
                        "datetime": at.isoformat().replace("+00:00", "Z"),
                        "source": "UPS",
                    },
                ],
            },
        }
    ).encode()


def aftership_event(tracking_number: str, tag: str, at: datetime, event_id: str | None = None) -> bytes:
    local = at.astimezone(timezone(timedelta(hours=-5)))
    return json.dumps(
        {
            "ts": int(at.timestamp()),
            "event": "tracking_update",
            "event_id": event_id or str(uuid.uuid4()),
            "is_tracking_first_tag": True,
            "msg": {
                "id": "bpbn1q2kycx0ylt4ewq8j01b",
                "tracking_number": tracking_number,
                "slug": "ups",
                "tag": tag,
                "subtag": f"{tag}_001",
                "subtag_message": tag,
                "title": "Order 1001",
                "updated_at": at.isoformat(),
                "created_at": T0.isoformat(),
                "checkpoints": [
                    {
                        "slug": "ups",
                        "city": "Louisville",
                        "country_iso3": "USA",
                        "tag": "InfoReceived",
                        "subtag": "InfoReceived_001",
                        "message": "Order Processed: Ready for UPS",
                        "checkpoint_time": T0.astimezone(timezone(timedelta(hours=-5))).isoformat(),
                    },
                    {
                        "slug": "ups",
                        "city": "Louisville",
                        "country_iso3": "USA",
                        "tag": tag,
                        "subtag": f"{tag}_001",
                        "message": "Out for delivery",
                        "checkpoint_time": local.isoformat(),
                    },
                ],
            },
        }
    ).encode()


def easypost_signature(body: bytes, secret: str = EASYPOST_SECRET) -> str:
    import unicodedata

    key = unicodedata.normalize("NFKD", secret).encode()
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def aftership_signature(body: bytes, secret: str = AFTERSHIP_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def set_secret(tenant_id: str, provider: str, secret: str, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(secret + "\n"))
    call_command("carrier_secret", tenant_id, provider, "set", stdout=io.StringIO())


@pytest.fixture
def shipped(gql, tenant, monkeypatch):
    """A confirmed order shipped with UPS tracking number 1ZTRACK, and both providers' secrets."""
    seed_catalog(tenant.id)
    shop = Shop(gql, tenant)
    order = shop.confirmed(items=(("kettle", 1),))
    shop.ok("shipOrder", shop.staff, orderId=order["id"], carrier="UPS", trackingNumber="1ZTRACK")
    set_secret(tenant.id, "easypost", EASYPOST_SECRET, monkeypatch)
    set_secret(tenant.id, "aftership", AFTERSHIP_SECRET, monkeypatch)
    return shop, order


def post_easypost(client, tenant_id, body, signature=None):
    return client.post(
        f"/webhooks/{tenant_id}/carriers/easypost/",
        data=body,
        content_type="application/json",
        HTTP_X_HMAC_SIGNATURE=signature if signature is not None else easypost_signature(body),
    )


def post_aftership(client, tenant_id, body, signature=None):
    return client.post(
        f"/webhooks/{tenant_id}/carriers/aftership/",
        data=body,
        content_type="application/json",
        HTTP_AFTERSHIP_HMAC_SHA256=signature if signature is not None else aftership_signature(body),
    )


def shipment_status() -> str:
    return Shipment.objects.get().status


def test_easypost_moves_the_shipment_once_per_event(client, tenant, shipped):
    shop, order = shipped
    body = easypost_event("1ZTRACK", "in_transit", T0 + timedelta(hours=2), event_id="evt_1")
    response = post_easypost(client, tenant.id, body)
    assert (response.status_code, response["X-Webhook-Outcome"]) == (204, "applied")
    assert shipment_status() == "IN_TRANSIT"
    updated = OutboxEvent.objects.filter(type="order.shipment_updated").get()
    assert updated.data["detail"] == "Arrived at facility"
    assert post_easypost(client, tenant.id, body)["X-Webhook-Outcome"] == "duplicate"
    older = easypost_event("1ZTRACK", "in_transit", T0 + timedelta(hours=1))
    assert post_easypost(client, tenant.id, older)["X-Webhook-Outcome"] == "stale"
    delivered = easypost_event("1ZTRACK", "delivered", T0 + timedelta(hours=8))
    assert post_easypost(client, tenant.id, delivered)["X-Webhook-Outcome"] == "applied"
    assert shipment_status() == "DELIVERED"
    assert shop.order(order["id"], shop.staff)["status"] == "DELIVERED"
    history = shop.gql.execute(
        "query($id: ID!) { order(id: $id) { history { actor } } }", {"id": order["id"]}, token=shop.staff
    )["order"]["history"]
    assert history[-1]["actor"] == "carrier:easypost"


def test_aftership_moves_the_shipment(client, tenant, shipped):
    body = aftership_event("1ZTRACK", "OutForDelivery", T0 + timedelta(hours=3), event_id="5b0f0f0f-0000-4000-8000-1")
    response = post_aftership(client, tenant.id, body)
    assert (response.status_code, response["X-Webhook-Outcome"]) == (204, "applied")
    assert shipment_status() == "IN_TRANSIT"
    assert post_aftership(client, tenant.id, body)["X-Webhook-Outcome"] == "duplicate"
    delivered = aftership_event("1ZTRACK", "Delivered", T0 + timedelta(hours=6))
    assert post_aftership(client, tenant.id, delivered)["X-Webhook-Outcome"] == "applied"
    assert shipment_status() == "DELIVERED"


def test_statuses_we_do_not_map_are_recorded_and_move_nothing(client, tenant, shipped):
    weird = easypost_event("1ZTRACK", "teleported", T0 + timedelta(hours=2), event_id="evt_weird")
    assert post_easypost(client, tenant.id, weird)["X-Webhook-Outcome"] == "unmapped"
    label_only = aftership_event("1ZTRACK", "InfoReceived", T0 + timedelta(hours=2))
    assert post_aftership(client, tenant.id, label_only)["X-Webhook-Outcome"] == "ignored"
    assert shipment_status() == "SHIPPED"
    assert set(InboundWebhookReceipt.objects.values_list("event_type", flat=True)) == {
        "easypost:teleported",
        "aftership:InfoReceived",
    }


def test_an_impossible_update_is_refused(client, tenant, shipped):
    post_easypost(client, tenant.id, easypost_event("1ZTRACK", "delivered", T0 + timedelta(hours=2)))
    failed = easypost_event("1ZTRACK", "return_to_sender", T0 + timedelta(hours=3))
    response = post_easypost(client, tenant.id, failed)
    assert (response.status_code, response.json()["code"]) == (409, "INVALID_TRANSITION")
    assert shipment_status() == "DELIVERED"
    assert InboundWebhookReceipt.objects.count() == 1  # the refused one left nothing


@pytest.mark.parametrize(
    "post, sign, body",
    [
        (post_easypost, easypost_signature, easypost_event("1ZTRACK", "in_transit", T0)),
        (post_aftership, aftership_signature, aftership_event("1ZTRACK", "InTransit", T0)),
    ],
)
def test_a_bad_or_missing_signature_is_401(client, tenant, shipped, post, sign, body):
    assert post(client, tenant.id, body, signature="hmac-sha256-hex=00").status_code == 401
    assert post(client, tenant.id, body, signature="").status_code == 401
    tampered = body.replace(b"1ZTRACK", b"1ZOTHER")
    assert post(client, tenant.id, tampered, signature=sign(body)).status_code == 401  # signed before the change
    assert shipment_status() == "SHIPPED" and not InboundWebhookReceipt.objects.exists()


def test_without_a_secret_everything_is_refused(client, tenant, shipped):
    CarrierWebhookSecret.objects.filter(provider="aftership").delete()
    body = aftership_event("1ZTRACK", "Delivered", T0)
    response = post_aftership(client, tenant.id, body)
    assert response.status_code == 401 and "carrier_secret" in response.json()["message"]


@pytest.mark.parametrize(
    "body, status, code",
    [
        (easypost_event("NOPE", "in_transit", T0), 404, "SHIPMENT_NOT_FOUND"),
        (b"{not json", 400, "MALFORMED_JSON"),
        (json.dumps({"description": "batch.updated", "result": {}}).encode(), 400, "UNKNOWN_TYPE"),
        (
            json.dumps({"id": "evt_1", "description": "tracker.updated", "result": {"status": "delivered"}}).encode(),
            400,
            "INVALID",
        ),
        (
            json.dumps(
                {
                    "id": "evt_1",
                    "description": "tracker.updated",
                    "result": {"tracking_code": "1ZTRACK", "status": "delivered", "updated_at": "soon"},
                }
            ).encode(),
            400,
            "INVALID",
        ),
    ],
)
def test_bad_easypost_payloads(client, tenant, shipped, body, status, code):
    response = post_easypost(client, tenant.id, body)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert shipment_status() == "SHIPPED" and not InboundWebhookReceipt.objects.exists()


def test_unknown_provider_or_tenant(client, tenant, shipped):
    body = easypost_event("1ZTRACK", "in_transit", T0)
    assert (
        client.post(f"/webhooks/{tenant.id}/carriers/shippo/", data=body, content_type="application/json").status_code
        == 404
    )
    assert post_easypost(client, "no-such-tenant", body).status_code == 404


def test_a_tracking_number_of_another_tenant_is_not_found(client, tenant, other_tenant, shipped, monkeypatch):
    set_secret(other_tenant.id, "easypost", "other-tenant-secret", monkeypatch)
    body = easypost_event("1ZTRACK", "delivered", T0 + timedelta(hours=1))
    response = post_easypost(client, other_tenant.id, body, signature=easypost_signature(body, "other-tenant-secret"))
    assert (response.status_code, response.json()["code"]) == (404, "SHIPMENT_NOT_FOUND")
    assert shipment_status() == "SHIPPED"


def test_the_carrier_secret_command(tenant, monkeypatch):
    set_secret(tenant.id, "easypost", "first-secret", monkeypatch)
    set_secret(tenant.id, "easypost", "second-secret", monkeypatch)
    assert CarrierWebhookSecret.objects.get().secret == "second-secret"
    shown = io.StringIO()
    call_command("carrier_secret", tenant.id, "easypost", "show", stdout=shown)
    assert shown.getvalue().startswith("easypost: seco…") and "second-secret" not in shown.getvalue()
    call_command("carrier_secret", tenant.id, "easypost", "unset", stdout=io.StringIO())
    assert not CarrierWebhookSecret.objects.exists()
    with pytest.raises(CommandError, match="no easypost secret"):
        call_command("carrier_secret", tenant.id, "easypost", "unset", stdout=io.StringIO())
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    with pytest.raises(CommandError, match="8 to 500"):
        call_command("carrier_secret", tenant.id, "aftership", "set", stdout=io.StringIO())
    with pytest.raises(CommandError, match="unknown tenant"):
        call_command("carrier_secret", "ghost", "aftership", "show", stdout=io.StringIO())


def test_the_adapters_without_django():
    """EasyPost keys with the NFKD form of the secret (the ligature "ﬁ" signs as "fi"); an
    AfterShip checkpoint time without an offset gives way to `msg.updated_at`."""
    from webhooks.domain.carriers import aftership, easypost
    from webhooks.domain.signatures import SignatureRejected

    body = easypost_event("1Z", "out_for_delivery", T0)
    easypost.verify("ﬁle-secret", {"x-hmac-signature": easypost_signature(body, "file-secret").upper()}, body)
    with pytest.raises(SignatureRejected):
        easypost.verify("other-secret", {"x-hmac-signature": easypost_signature(body, "file-secret")}, body)
    update = easypost.parse(body)
    assert (update.status, update.provider_status, update.occurred_at) == ("IN_TRANSIT", "out_for_delivery", T0)
    document = json.loads(aftership_event("1Z", "Delivered", T0))
    document["msg"]["checkpoints"][-1]["checkpoint_time"] = "2026-11-30T10:00:00"  # local, no offset
    update = aftership.parse(json.dumps(document).encode())
    assert (update.status, update.occurred_at) == ("DELIVERED", T0)
