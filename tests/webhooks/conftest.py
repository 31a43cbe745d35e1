"""Fixtures for webhook tests: an upstream sender that signs with the standardwebhooks package."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest
from standardwebhooks.webhooks import Webhook

from webhooks.domain.signatures import new_secret
from webhooks.infrastructure.models import InboundWebhookSecret


class Sender:
    """An upstream system: signs with standardwebhooks and posts over HTTP."""

    def __init__(self, client, tenant_id: str, secret: str) -> None:
        self.client, self.tenant_id, self.secret = client, tenant_id, secret

    def post(self, event, *, msg_id=None, at=None, secret=None, body=None, headers=None, tenant_id=None):
        body = body if body is not None else json.dumps(event)
        msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
        at = at or datetime.now(tz=timezone.utc)
        signature = Webhook(secret or self.secret).sign(msg_id, at, body)
        sent = {"HTTP_WEBHOOK_ID": msg_id, "HTTP_WEBHOOK_TIMESTAMP": str(int(at.timestamp())),
                "HTTP_WEBHOOK_SIGNATURE": signature}
        sent.update(headers or {})
        sent = {k: v for k, v in sent.items() if v is not None}
        return self.client.post(f"/webhooks/{tenant_id or self.tenant_id}/", data=body,
                                content_type="application/json", **sent)


@pytest.fixture
def secret(tenant):
    return InboundWebhookSecret.objects.create(tenant=tenant, secret=new_secret()).secret


@pytest.fixture
def sender(client, tenant, secret):
    return Sender(client, tenant.id, secret)
