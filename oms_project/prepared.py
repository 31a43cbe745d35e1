"""Prepared statements for the hot path (PostgreSQL): the one home of how they are sent.

Django's psycopg cursors bind parameters on the client (the values are quoted into the SQL text),
so PostgreSQL parses and plans every statement again. `cursor()` gives a Django cursor over a
psycopg cursor that binds on the server instead: psycopg then prepares a statement the
`prepare_threshold`-th time (default 5) its text is seen on a connection, and later executions
skip parsing and planning. The cursor is wrapped as Django wraps its own, so execute wrappers,
`CaptureQueriesContext` and the debug log see these statements like any other.

Only statements whose text is fixed and whose parameters are few belong here (the order row and
its children, the cart's catalog, the write batch, the tenant scope): their texts repeat, so
each connection holds a handful of prepared statements. Behind a pooler in transaction mode,
set `DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None` (`DATABASE_PREPARE_THRESHOLD=off`)
unless the pooler supports protocol-level prepared statements (PgBouncer 1.21+).
"""

from __future__ import annotations

import psycopg
from django.db import connection
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper


class _DebugCursor(CursorDebugWrapper):
    """Logs the statement as written (Django's own wrapper would read it back from a
    client-side-binding cursor, which this is not)."""

    def execute(self, sql, params=None):
        with self.debug_sql(sql, params):
            return CursorWrapper.execute(self, sql, params)


def cursor():
    """A cursor for one of the hot path's fixed statements (`with prepared.cursor() as c:`)."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = psycopg.Cursor(connection.connection)
    return _DebugCursor(raw, connection) if connection.queries_logged else CursorWrapper(raw, connection)
