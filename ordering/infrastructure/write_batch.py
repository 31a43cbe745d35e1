"""The writes of one unit of work, sent together when it commits (docs/performance.md).

The repository and the outbox queue their INSERTs and UPDATEs here instead of sending each one;
`flush()` sends them all. On PostgreSQL that is one statement: each write is a data-modifying CTE
(`WITH w0 AS (UPDATE ...), w1 AS (INSERT ...) SELECT ...`), which PostgreSQL runs to completion
whether or not the final SELECT reads it. Elsewhere each write is its own statement, in order.

The SQL of each write comes from Django's own insert and update compilers, so its columns always
follow the models (defaults and `auto_now_add` included): no hand-written column list can drift.
Writes in one batch must not touch the same row twice (they see one snapshot); the repository
deletes rewritten children before queuing their new rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import AutoField, Model, QuerySet
from django.db.models.sql.subqueries import DeleteQuery, InsertQuery, UpdateQuery


class WriteConflict(Exception):
    """An UPDATE that had to change exactly one row did not (the row changed since it was read)."""


@dataclass(frozen=True)
class _Write:
    sql: str
    params: tuple
    expect_one: str | None  # the message when it does not change exactly one row


class WriteBatch:
    def __init__(self) -> None:
        self.writes: list[_Write] = []

    def insert(self, model: type[Model], objects: list[Model]) -> None:
        if not objects:
            return
        fields = [f for f in model._meta.concrete_fields
                  if not f.generated and not (isinstance(f, AutoField) and getattr(objects[0], f.attname) is None)]
        query = InsertQuery(model)
        query.insert_values(fields, objects, raw=False)
        for sql, params in query.get_compiler(connection=connection).as_sql():
            self.writes.append(_Write(sql, tuple(params), None))

    def update(self, rows: QuerySet, values: dict, *, expect_one: str | None = None) -> None:
        query = rows.query.chain(UpdateQuery)
        query.add_update_values(values)
        sql, params = query.get_compiler(connection=connection).as_sql()
        self.writes.append(_Write(sql, tuple(params), expect_one))

    def delete(self, rows: QuerySet) -> None:
        query = rows.query.chain(DeleteQuery)
        sql, params = query.get_compiler(connection=connection).as_sql()
        self.writes.append(_Write(sql, tuple(params), None))

    def raw(self, sql: str, params: list | tuple) -> None:
        self.writes.append(_Write(sql, tuple(params), None))

    def flush(self) -> None:
        writes, self.writes = self.writes, []
        if not writes:
            return
        if connection.vendor != "postgresql" or len(writes) == 1:
            with connection.cursor() as cursor:
                for write in writes:
                    cursor.execute(write.sql, write.params)
                    if write.expect_one and cursor.rowcount != 1:
                        raise WriteConflict(write.expect_one)
            return
        checked = [i for i, write in enumerate(writes) if write.expect_one]
        ctes = ",\n".join(f"w{i} AS ({write.sql}{' RETURNING 1' if write.expect_one else ''})"
                          for i, write in enumerate(writes))
        select = ", ".join(f"(SELECT count(*) FROM w{i})" for i in checked) or "1"
        with connection.cursor() as cursor:
            cursor.execute(f"WITH {ctes}\nSELECT {select}", [p for write in writes for p in write.params])
            counts = cursor.fetchone()
        for i, count in zip(checked, counts if checked else ()):
            if count != 1:
                raise WriteConflict(writes[i].expect_one)
