"""POST /webhooks/<tenant>/ end to end, signed by the independent `standardwebhooks` package."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from standardwebhooks.webhooks import Webhook

from snapshots.infrastructure.models import (
    CustomerAddressSnapshot,
    CustomerDetailsSnapshot,
    UserAuthorizationSnapshot,
)
from tests.conftest import Sender, requires_postgres
from webhooks.domain.signatures import SignatureRejected, new_secret, sign, verify
from webhooks.infrastructure.models import InboundWebhookReceipt, InboundWebhookSecret


def customer_event(user_id="c-1", version=1, **data):
    payload = {
        "user_id": user_id,
        "email": f"{user_id}@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "version": version,
    }
    payload.update(data)
    return {"type": "customer.upserted", "data": payload}


def nothing_written():
    return (
        CustomerDetailsSnapshot.objects.count() == 0
        and CustomerAddressSnapshot.objects.count() == 0
        and UserAuthorizationSnapshot.objects.count() == 0
        and InboundWebhookReceipt.objects.count() == 0
    )


def test_signed_upsert_is_applied(sender, tenant):
    response = sender.post(customer_event(phone="+1 555"))
    assert response.status_code == 204
    assert response["X-Webhook-Outcome"] == "applied"
    row = CustomerDetailsSnapshot.objects.get(tenant=tenant, user_id="c-1")
    assert (row.email, row.phone, row.version) == ("c-1@example.com", "+1 555", 1)


def test_every_current_kind_upserts_and_deletes(sender, tenant):
    address = {
        "type": "customer_address.upserted",
        "data": {
            "address_id": "a-1",
            "user_id": "c-1",
            "line1": "1 Road",
            "city": "Paris",
            "postal_code": "75001",
            "country": "FR",
            "is_default": True,
            "version": 3,
        },
    }
    authorization = {
        "type": "user_authorization.upserted",
        "data": {"user_id": "v-user", "roles": ["vendor"], "vendor_id": "v-1", "active": True, "version": 1},
    }
    for event in (address, authorization):
        assert sender.post(event).status_code == 204
    assert CustomerAddressSnapshot.objects.get(tenant=tenant, address_id="a-1").country == "FR"
    assert UserAuthorizationSnapshot.objects.get(tenant=tenant, user_id="v-user").roles == ["vendor"]

    assert (
        sender.post({"type": "customer_address.deleted", "data": {"address_id": "a-1", "version": 2}})[
            "X-Webhook-Outcome"
        ]
        == "stale"
    )
    assert CustomerAddressSnapshot.objects.filter(address_id="a-1").exists()
    assert (
        sender.post({"type": "customer_address.deleted", "data": {"address_id": "a-1", "version": 4}}).status_code
        == 204
    )
    assert not CustomerAddressSnapshot.objects.filter(address_id="a-1").exists()


def test_stale_version_is_acknowledged_and_ignored(sender, tenant):
    sender.post(customer_event(version=5, first_name="New"))
    response = sender.post(customer_event(version=4, first_name="Old"))
    assert response.status_code == 204 and response["X-Webhook-Outcome"] == "stale"
    assert CustomerDetailsSnapshot.objects.get().first_name == "New"
    assert sender.post(customer_event(version=6, first_name="Newer")).status_code == 204
    assert CustomerDetailsSnapshot.objects.get().first_name == "Newer"


def test_deactivated_user_is_refused_by_the_api(sender, tenant, gql):
    from tests.tokens import hs_token

    sender.post(
        {
            "type": "user_authorization.upserted",
            "data": {"user_id": "c-1", "roles": ["customer"], "active": False, "version": 1},
        }
    )
    assert gql.post("{ me { userId } }", token=hs_token(tenant, sub="c-1")).status_code == 403


def five_minutes_and_a_minute(delta):
    return datetime.now(tz=UTC) + timedelta(minutes=delta)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(
            lambda s: s.post(None, body=json.dumps(customer_event()), headers={"HTTP_WEBHOOK_SIGNATURE": "v1,AAAA"}),
            id="bad-signature",
        ),
        pytest.param(lambda s: s.post(customer_event(), secret=new_secret()), id="wrong-secret"),
        pytest.param(lambda s: s.post(customer_event(), headers={"HTTP_WEBHOOK_SIGNATURE": None}), id="no-signature"),
        pytest.param(lambda s: s.post(customer_event(), headers={"HTTP_WEBHOOK_ID": None}), id="no-id"),
        pytest.param(lambda s: s.post(customer_event(), headers={"HTTP_WEBHOOK_TIMESTAMP": None}), id="no-timestamp"),
        pytest.param(
            lambda s: s.post(customer_event(), headers={"HTTP_WEBHOOK_TIMESTAMP": "soon"}), id="bad-timestamp"
        ),
        pytest.param(lambda s: s.post(customer_event(), at=five_minutes_and_a_minute(-6)), id="6-minutes-old"),
        pytest.param(lambda s: s.post(customer_event(), at=five_minutes_and_a_minute(6)), id="6-minutes-ahead"),
    ],
)
def test_unverifiable_deliveries_get_401_and_write_nothing(sender, tamper):
    response = tamper(sender)
    assert response.status_code == 401
    assert response.json()["code"] == "INVALID_SIGNATURE"
    assert nothing_written()


def test_tampered_body_is_refused(sender, client, tenant, secret):
    body = json.dumps(customer_event())
    at = datetime.now(tz=UTC)
    signature = Webhook(secret).sign("msg_1", at, body)
    response = client.post(
        f"/webhooks/{tenant.id}/",
        data=body.replace("Ada", "Eve"),
        content_type="application/json",
        HTTP_WEBHOOK_ID="msg_1",
        HTTP_WEBHOOK_TIMESTAMP=str(int(at.timestamp())),
        HTTP_WEBHOOK_SIGNATURE=signature,
    )
    assert response.status_code == 401 and nothing_written()


def test_replayed_webhook_id_is_applied_once(sender, tenant):
    assert (
        sender.post(customer_event(version=1, first_name="First"), msg_id="msg_same")["X-Webhook-Outcome"] == "applied"
    )
    replay = sender.post(customer_event(version=2, first_name="Replay"), msg_id="msg_same")
    assert replay.status_code == 204 and replay["X-Webhook-Outcome"] == "duplicate"
    assert CustomerDetailsSnapshot.objects.get().first_name == "First"
    assert InboundWebhookReceipt.objects.count() == 1


def test_rotation_accepts_both_secrets_then_revocation_refuses_the_old(sender, tenant, secret):
    out = StringIO()
    call_command("webhook_secret", tenant.id, "rotate", stdout=out)
    new = out.getvalue().strip().splitlines()[-1]
    assert new.startswith("whsec_") and new != secret

    assert sender.post(customer_event(version=1)).status_code == 204
    assert sender.post(customer_event(version=2), secret=new).status_code == 204

    old_id = InboundWebhookSecret.objects.get(secret=secret).pk
    call_command("webhook_secret", tenant.id, "revoke", str(old_id), stdout=StringIO())
    assert sender.post(customer_event(version=3)).status_code == 401
    assert CustomerDetailsSnapshot.objects.get().version == 2
    assert sender.post(customer_event(version=3), secret=new).status_code == 204


def test_rotated_secret_stops_working_after_its_grace_period(sender, tenant, secret):
    call_command("webhook_secret", tenant.id, "rotate", "--grace-hours", "0", stdout=StringIO())
    assert sender.post(customer_event()).status_code == 401


def test_list_masks_secrets(tenant, secret):
    out = StringIO()
    call_command("webhook_secret", tenant.id, "list", stdout=out)
    assert "active" in out.getvalue() and secret not in out.getvalue()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{not json", "MALFORMED_JSON"),
        ("[]", "INVALID"),
        (json.dumps({"type": "customer.upserted"}), "INVALID"),
        (json.dumps({"type": "spaceship.upserted", "data": {}}), "UNKNOWN_TYPE"),
        (json.dumps({"type": "customer.exploded", "data": {}}), "UNKNOWN_TYPE"),
        (json.dumps(customer_event(email="nope")), "INVALID"),
        (json.dumps(customer_event(version=None)), "INVALID"),
        (json.dumps(customer_event(version=-1)), "INVALID"),
        (
            json.dumps(
                {
                    "type": "customer_address.upserted",
                    "data": {
                        "address_id": "a",
                        "user_id": "u",
                        "line1": "x",
                        "city": "y",
                        "postal_code": "1",
                        "country": "XX",
                        "version": 1,
                    },
                }
            ),
            "INVALID",
        ),
        (
            json.dumps(
                {
                    "type": "user_authorization.upserted",
                    "data": {"user_id": "u", "roles": "staff", "active": True, "version": 1},
                }
            ),
            "INVALID",
        ),
    ],
    ids=[
        "malformed",
        "not-object",
        "no-data",
        "unknown-kind",
        "unknown-action",
        "bad-email",
        "no-version",
        "negative-version",
        "bad-country",
        "roles-not-list",
    ],
)
def test_bad_bodies_get_400_and_write_nothing(sender, body, code):
    response = sender.post(None, body=body)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert nothing_written()


def test_unknown_or_inactive_tenant_is_404(sender, tenant):
    assert sender.post(customer_event(), tenant_id="nobody").status_code == 404
    tenant.active = False
    tenant.save()
    assert sender.post(customer_event()).status_code == 404
    assert nothing_written()


def test_oversized_body_is_413(sender, settings):
    settings.OMS_WEBHOOK_MAX_BODY_BYTES = 1024
    response = sender.post(customer_event(first_name="x" * 2000))
    assert response.status_code == 413 and response.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert nothing_written()


def test_only_post_is_accepted(client, tenant):
    assert client.get(f"/webhooks/{tenant.id}/").status_code == 405


def test_tenant_a_webhook_never_changes_tenant_b(client, tenant, other_tenant, secret):
    secret_b = InboundWebhookSecret.objects.create(tenant=other_tenant, secret=new_secret()).secret
    Sender(client, other_tenant.id, secret_b).post(customer_event(first_name="Bea", version=1), msg_id="shared-id")
    before = list(CustomerDetailsSnapshot.objects.filter(tenant=other_tenant).values())

    a = Sender(client, tenant.id, secret)
    assert a.post(customer_event(first_name="Ann", version=9), msg_id="shared-id")["X-Webhook-Outcome"] == "applied"
    # Tenant B's secret does not open tenant A's endpoint.
    assert a.post(customer_event(first_name="Eve", version=10), secret=secret_b).status_code == 401

    assert list(CustomerDetailsSnapshot.objects.filter(tenant=other_tenant).values()) == before
    assert CustomerDetailsSnapshot.objects.get(tenant=tenant).first_name == "Ann"


def test_signature_round_trip_and_multiple_signatures():
    key, other = new_secret(), new_secret()
    body, now = b'{"a":1}', time.time()
    header = f"{sign(other, 'id', int(now), body)} {sign(key, 'id', int(now), body)}"
    verify(secrets=[key], msg_id="id", timestamp=str(int(now)), signature_header=header, body=body, now=now)
    with pytest.raises(SignatureRejected):
        verify(secrets=[key], msg_id="id", timestamp=str(int(now)), signature_header="v2,abc", body=body, now=now)
    assert Webhook(key).verify(
        body.decode(),
        {"webhook-id": "id", "webhook-timestamp": str(int(now)), "webhook-signature": sign(key, "id", int(now), body)},
    ) == {"a": 1}


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_deliveries_of_one_id_apply_once(tenant, secret):
    body = json.dumps(customer_event(version=1))
    at = datetime.now(tz=UTC)
    headers = {
        "HTTP_WEBHOOK_ID": "msg_concurrent",
        "HTTP_WEBHOOK_TIMESTAMP": str(int(at.timestamp())),
        "HTTP_WEBHOOK_SIGNATURE": Webhook(secret).sign("msg_concurrent", at, body),
    }
    barrier, outcomes = threading.Barrier(2), []

    def deliver():
        try:
            barrier.wait()
            response = Client().post(f"/webhooks/{tenant.id}/", data=body, content_type="application/json", **headers)
            outcomes.append((response.status_code, response["X-Webhook-Outcome"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == [(204, "applied"), (204, "duplicate")]
    assert InboundWebhookReceipt.objects.filter(webhook_id="msg_concurrent").count() == 1
    assert CustomerDetailsSnapshot.objects.count() == 1
