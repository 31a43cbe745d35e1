"""Which database errors mean "the database cannot be reached" (503 DATABASE_UNAVAILABLE) and
which are a request's own failure (oms_project/kernel/internal_errors.py)."""

from __future__ import annotations

import psycopg.errors as pg
import pytest
from django.db import InterfaceError, OperationalError, connection

from oms_project.kernel.internal_errors import database_unavailable

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
