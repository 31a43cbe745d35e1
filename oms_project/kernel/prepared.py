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

from contextlib import AbstractContextManager
from contextvars import ContextVar
from functools import cache
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

from oms_project.kernel import tracing


class _DebugCursor(CursorDebugWrapper):
    """Logs the statement as written (Django's own wrapper would read it back from a
    client-side-binding cursor, which this is not)."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        with self.debug_sql(sql, params):
            return CursorWrapper.execute(self, sql, params)


class _Kept:
    """`with` support for the connection's kept cursor: leaving does not close it."""

    __slots__ = ("wrapped",)

    def __init__(self, wrapped: CursorWrapper) -> None:
        self.wrapped = wrapped

    def __enter__(self) -> CursorWrapper:
        return self.wrapped

    def __exit__(self, *exc: object) -> None:
        return None


_KEPT = "oms_prepared_cursor"


# The database this request works on: the primary, or a read replica while
# `oms_project.kernel.replicas.reading` runs a read-only request.
READING_FROM: ContextVar[str] = ContextVar("oms_reading_from", default=DEFAULT_DB_ALIAS)


def database() -> BaseDatabaseWrapper:
    """This request's database connection (the primary, or its replica inside
    `replicas.reading`), looked up once (each attribute read through Django's `connection` proxy
    looks it up again)."""
    return connections[READING_FROM.get()]


@cache
def on_postgresql() -> bool:
    """Whether the database is PostgreSQL (fixed for the life of the process)."""
    return database().vendor == "postgresql"


def cursor() -> AbstractContextManager[CursorWrapper]:
    """A cursor for one of the hot path's fixed statements (`with prepared.cursor() as c:`).

    One server-binding cursor is kept per database connection and reused (making a cursor and
    Django's wrapper costs more than a prepared statement's round trip); while statements are
    being logged (DEBUG, `CaptureQueriesContext`) each call gets a logging cursor of its own.
    """
    db = database()
    if not on_postgresql():
        return db.cursor()
    db.ensure_connection()
    db.validate_thread_sharing()
    raw = db.connection
    cursor_class = tracing.cursor_class(psycopg.Cursor)
    if db.queries_logged:
        return _DebugCursor(cursor_class(raw), db)
    kept = getattr(db, _KEPT, None)
    if (
        kept is None
        or kept.wrapped.cursor.connection is not raw
        or kept.wrapped.cursor.closed
        or type(kept.wrapped.cursor) is not cursor_class
    ):
        kept = _Kept(CursorWrapper(cursor_class(raw), db))
        setattr(db, _KEPT, kept)
    return kept
