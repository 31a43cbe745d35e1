from __future__ import annotations

import gc
import json
import socket
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection
from standardwebhooks.webhooks import Webhook

from identity.infrastructure.jwt_verifier import jwks_clients
from webhooks.domain.signatures import new_secret
from webhooks.infrastructure.models import InboundWebhookSecret

from .factories import TenantFactory


def pytest_configure(config):
    """Workers of a parallel run share one migrated database (tests/db_template.py): the
    controller names the run, each worker installs the template under that name."""
    from tests import db_template

    if hasattr(config, "workerinput"):
        db_template.install(config.workerinput["testrunuid"])
    elif getattr(config.option, "numprocesses", None) and config.option.testrunuid is None:
        config.option.testrunuid = uuid.uuid4().hex


def pytest_collection_finish(session):
    """What is loaded by now (Django, the apps, every test module) lives for the whole run: out of
    the garbage collector's sight, as gunicorn's workers do it (gunicorn.conf.py), so its full
    collections walk only what the tests make."""
    gc.collect()
    gc.freeze()


def pytest_unconfigure(config):
    from tests import db_template

    if not hasattr(config, "workerinput") and getattr(config.option, "testrunuid", None):
        db_template.remove(config.option.testrunuid, connection)


@pytest.fixture(autouse=True)
def _fresh_jwks_clients():
    from oms_project.kernel import admission
    from oms_project.kernel.local_cache import clear_all

    jwks_clients.clear()
    clear_all()  # no cached tenant or authorization survives from one test to the next
    admission.reset()  # nor a request count or a spent budget
    yield
    jwks_clients.clear()


@pytest.fixture
def tenant(db):
    return TenantFactory(id="tenant-a")


@pytest.fixture
def other_tenant(db):
    return TenantFactory(id="tenant-b")


class GraphQLClient:
    """Posts GraphQL over HTTP to /graphql/, exactly as a storefront would."""

    def __init__(self, client) -> None:
        self._client = client

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        authorization: str | None = None,
    ):
        headers = {}
        if authorization is not None:
            headers["HTTP_AUTHORIZATION"] = authorization
        elif token is not None:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return self._client.post(
            "/graphql/",
            data=json.dumps({"query": query, "variables": variables or {}}),
            content_type="application/json",
            **headers,
        )

    def execute(self, query: str, variables: dict[str, Any] | None = None, *, token: str):
        """Post and return the JSON body, failing the test on transport or GraphQL errors."""
        response = self.post(query, variables, token=token)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        return body["data"]


@pytest.fixture
def gql(client) -> GraphQLClient:
    return GraphQLClient(client)


requires_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL)")


def free_port() -> int:
    """A TCP port nothing listens on now, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url_for_subprocesses() -> str:
    """The test database as a DATABASE_URL, for a process a test starts (PostgreSQL: it must see
    what the test committed, so such tests use `transaction=True`)."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    return f"postgres://{quote(db['USER'])}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


# -- signed inbound webhooks (every package's tests post them) --------------------------------


class Sender:
    """An upstream system: signs with standardwebhooks and posts over HTTP."""

    def __init__(self, client, tenant_id: str, secret: str) -> None:
        self.client, self.tenant_id, self.secret = client, tenant_id, secret

    def post(self, event, *, msg_id=None, at=None, secret=None, body=None, headers=None, tenant_id=None):
        body = body if body is not None else json.dumps(event)
        msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
        at = at or datetime.now(tz=UTC)
        signature = Webhook(secret or self.secret).sign(msg_id, at, body)
        sent = {
            "HTTP_WEBHOOK_ID": msg_id,
            "HTTP_WEBHOOK_TIMESTAMP": str(int(at.timestamp())),
            "HTTP_WEBHOOK_SIGNATURE": signature,
        }
        sent.update(headers or {})
        sent = {k: v for k, v in sent.items() if v is not None}
        return self.client.post(
            f"/webhooks/{tenant_id or self.tenant_id}/", data=body, content_type="application/json", **sent
        )


@pytest.fixture
def secret(tenant):
    return InboundWebhookSecret.objects.create(tenant=tenant, secret=new_secret()).secret


@pytest.fixture
def sender(client, tenant, secret):
    return Sender(client, tenant.id, secret)
