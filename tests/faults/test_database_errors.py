"""Which database errors mean "the database cannot be reached" (503 DATABASE_UNAVAILABLE) and
which are a request's own failure (oms_project/kernel/internal_errors.py)."""

from __future__ import annotations

import json
from contextlib import contextmanager

import psycopg.errors as pg
import pytest
from django.db import InterfaceError, OperationalError, connection
from django.test import Client

from identity.infrastructure.models import Tenant
from identity.infrastructure.tenants import ADMISSION_LIMITS
from oms_project.kernel.internal_errors import database_unavailable
from tests.conftest import free_port
from tests.factories import TenantFactory
from tests.tokens import hs_token

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no server to lose: nothing is DATABASE_UNAVAILABLE there"
)


def wrapped(cause: Exception) -> OperationalError:
    error = OperationalError(str(cause))
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    "cause",
    [
        pg.OperationalError("connection refused"),
        pg.AdminShutdown("shutting down"),
        pg.CrashShutdown("crash"),
        pg.CannotConnectNow("starting up"),
        pg.ConnectionFailure("lost"),
    ],
    ids=type,
)
def test_a_lost_or_refused_connection_is_unavailability(cause):
    assert database_unavailable(wrapped(cause))


def test_a_closed_connection_is_unavailability():
    assert database_unavailable(InterfaceError("connection already closed"))


@pytest.mark.parametrize(
    "cause",
    [
        pg.LockNotAvailable("lock"),
        pg.SerializationFailure("retry"),
        pg.QueryCanceled("statement timeout"),
        pg.DeadlockDetected("deadlock"),
    ],
    ids=type,
)
def test_a_query_of_its_own_failing_is_not(cause):
    assert not database_unavailable(wrapped(cause))


def test_other_errors_are_not():
    assert not database_unavailable(ValueError("x")) and not database_unavailable(None)


# -- a middleware's own query (outside the view) that cannot reach the database ------------------


@contextmanager
def unreachable_database():
    """The suite's connection pointed at a port nothing listens on, for real: every new
    connection is refused by the operating system, as when PostgreSQL is down."""
    settings_dict = connection.settings_dict
    saved = settings_dict["HOST"], settings_dict["PORT"]
    connection.close()
    settings_dict["HOST"], settings_dict["PORT"] = "127.0.0.1", str(free_port())
    try:
        yield
    finally:
        connection.close()
        settings_dict["HOST"], settings_dict["PORT"] = saved


@pytest.mark.django_db(transaction=True)
def test_admission_that_cannot_read_a_tenants_limits_answers_503_on_every_door():
    """Admission reads a tenant's limits (cached per process) before the view runs: when that read
    cannot reach the database, the answer is 503 DATABASE_UNAVAILABLE with Retry-After, as a
    view's own query would give, never 500 INTERNAL (the restart test's webhook met this)."""
    tenant = TenantFactory(id="tenant-a")
    client = Client(raise_request_exception=False)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {hs_token(tenant)}"}
    me = json.dumps({"query": "{ me { userId } }"})
    assert client.post("/graphql/", me, content_type="application/json", **bearer).status_code == 200
    ADMISSION_LIMITS.invalidate()  # the token's policy stays cached: only admission reads the database

    with unreachable_database():
        webhook = client.post("/webhooks/tenant-a/", b'{"type": "vendor.upserted"}', content_type="application/json")
        api = client.post("/graphql/", me, content_type="application/json", **bearer)

    assert webhook.status_code == 503 and webhook["Retry-After"] == "1"
    assert webhook.json()["code"] == "DATABASE_UNAVAILABLE"
    assert api.status_code == 503 and api["Retry-After"] == "1"
    assert api.json()["errors"][0]["extensions"]["code"] == "DATABASE_UNAVAILABLE"
    assert Tenant.objects.filter(pk="tenant-a").exists()  # and the suite's database is back
